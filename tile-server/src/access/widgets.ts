import { randomBytes } from 'node:crypto';
import type { QueryRunner } from '../db/query.ts';
import { HttpError, notFound } from '../errors.ts';

/**
 * Map widgets saved by the builder (migration 0054): an embed key and the options of its widget, served at
 * `/embed/{id}` (routes/embed-page.ts). The id is random and stands for the key wherever the widget's page and
 * its requests would carry it (`?key=w_…`, resolved by keys.ts to the key's principal narrowed to the widget's
 * layers), so a host page never holds the key, and a widget can be given a new key without touching the sites
 * that embed it.
 */
export const WIDGET_ID = /^w_[A-Za-z0-9_-]{16}$/;
export const WIDGET_CONTROLS = ['zoom', 'scale', 'legend', 'layers', 'identify', 'fullscreen'] as const;
const DEFAULT_CONTROLS = ['zoom', 'scale', 'legend', 'identify'];
const FIELDS = ['keyId', 'label', 'layers', 'center', 'zoom', 'controls', 'lang', 'width', 'height'];

/** What the builder saves. */
export interface WidgetOptions {
  keyId: number;
  label: string;
  /** Empty: every layer of the key. */
  layers: string[];
  center: [number, number] | null;
  zoom: number | null;
  controls: string[];
  lang: 'zh' | 'en';
  /** The snippet's frame size in CSS pixels. */
  width: number;
  height: number;
}

export interface EmbedWidget extends WidgetOptions {
  id: string;
  department: string;
  /** The key's state: a widget of a revoked or expired key answers 403 until it is given another key. */
  keyRevoked: boolean;
  keyExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A new widget id: 96 random bits (it works like its key, so it must not be guessable). */
export const newWidgetId = () => `w_${randomBytes(12).toString('base64url')}`;

/** A 400 naming the field (in the message and as `field` in the JSON answer). */
const invalid = (field: string, message: string) => new HttpError(400, 'invalid_request', `${field}: ${message}`, { field });

const within = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi;

/** The options of a save request, checked field by field (PUT replaces them all: absent ones take their defaults). */
export function parseWidgetOptions(body: unknown): WidgetOptions {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'invalid_request', 'send a JSON object');
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).find((k) => !FIELDS.includes(k));
  if (unknown !== undefined) throw invalid(unknown.slice(0, 40), `unknown field (fields: ${FIELDS.join(', ')})`);
  if (!Number.isInteger(b.keyId) || (b.keyId as number) < 1) throw invalid('keyId', 'the id of one of the department’s embed keys');
  if (b.label !== undefined && (typeof b.label !== 'string' || b.label.length > 200)) throw invalid('label', 'a string of at most 200 characters');
  const list = (name: string, v: unknown): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length > 100 || v.some((s) => typeof s !== 'string' || s === '' || s.length > 200)) throw invalid(name, 'a list of names');
    return [...new Set(v as string[])];
  };
  const center = b.center ?? null;
  if (center !== null && !(Array.isArray(center) && center.length === 2 && within(center[0], -180, 180) && within(center[1], -90, 90)))
    throw invalid('center', '[longitude, latitude] in degrees, or null for the default view');
  const zoom = b.zoom ?? null;
  if (zoom !== null && !within(zoom, 0, 22)) throw invalid('zoom', 'a number from 0 to 22, or null');
  const controls = list('controls', b.controls) ?? DEFAULT_CONTROLS;
  const odd = controls.find((c) => !(WIDGET_CONTROLS as readonly string[]).includes(c));
  if (odd !== undefined) throw invalid('controls', `"${odd.slice(0, 40)}" is not one of ${WIDGET_CONTROLS.join(', ')}`);
  if (b.lang !== undefined && b.lang !== 'zh' && b.lang !== 'en') throw invalid('lang', 'zh or en');
  const size = (name: 'width' | 'height', lo: number, fallback: number) => {
    const v = b[name];
    if (v === undefined) return fallback;
    if (!Number.isInteger(v) || !within(v, lo, 4000)) throw invalid(name, `whole CSS pixels from ${lo} to 4000`);
    return v as number;
  };
  return {
    keyId: b.keyId as number,
    label: (b.label as string | undefined) ?? '',
    layers: list('layers', b.layers) ?? [],
    center: center as [number, number] | null,
    zoom: zoom as number | null,
    controls,
    lang: (b.lang as 'zh' | 'en' | undefined) ?? 'zh',
    width: size('width', 200, 640),
    height: size('height', 150, 420),
  };
}

type Row = Omit<EmbedWidget, 'center'> & { center: number[] | null };

const SELECT = `SELECT w.id, w.department_id AS department, w.key_id AS "keyId", w.label, w.layers, w.center, w.zoom, w.controls, w.lang,
                       w.width, w.height, w.created_at AS "createdAt", w.updated_at AS "updatedAt",
                       k.revoked_at IS NOT NULL AS "keyRevoked", k.expires_at AS "keyExpiresAt"
                  FROM citybase.embed_widgets w JOIN citybase.api_keys k ON k.id = w.key_id`;

const toWidget = (r: Row): EmbedWidget => ({ ...r, center: r.center ? [r.center[0]!, r.center[1]!] : null });

/**
 * Saved widgets, each of a department. `department` arguments scope an operation to one department (an editor's
 * own); null means any (an administrator of users). Every value is a bind parameter.
 */
export class EmbedWidgets {
  constructor(private readonly run: QueryRunner) {}

  async list(department: string | null): Promise<EmbedWidget[]> {
    const rows = await this.run.query<Row>(`${SELECT} WHERE ($1::text IS NULL OR w.department_id = $1) ORDER BY w.created_at, w.id`, [department]);
    return rows.map(toWidget);
  }

  async get(id: string, department: string | null = null): Promise<EmbedWidget | null> {
    if (!WIDGET_ID.test(id)) return null;
    const rows = await this.run.query<Row>(`${SELECT} WHERE w.id = $1 AND ($2::text IS NULL OR w.department_id = $2)`, [id, department]);
    return rows[0] ? toWidget(rows[0]) : null;
  }

  /**
   * Create (id null) or replace a widget. Its key must be an open embed key of the widget's department (for a new
   * widget: of `department`, or of any when null, which then owns it), and its layers among the key's.
   */
  async save(department: string | null, id: string | null, o: WidgetOptions): Promise<{ widget: EmbedWidget; created: boolean }> {
    let owner = department;
    if (id !== null) {
      const current = await this.get(id, department);
      if (!current) throw notFound('unknown_widget', `no map widget ${id.slice(0, 40)}${department ? ` of ${department}` : ''}`);
      owner = current.department;
    }
    const keys = await this.run.query<{ department_id: string; layers: string[]; revoked: boolean; expired: boolean }>(
      `SELECT department_id, layers, revoked_at IS NOT NULL AS revoked, coalesce(expires_at <= now(), false) AS expired
         FROM citybase.api_keys WHERE id = $1 AND kind = 'embed' AND ($2::text IS NULL OR department_id = $2)`,
      [o.keyId, owner],
    );
    const key = keys[0];
    if (!key) throw invalid('keyId', `no embed key ${o.keyId}${owner ? ` of ${owner}` : ''}`);
    if (key.revoked || key.expired) throw invalid('keyId', `embed key ${o.keyId} is ${key.revoked ? 'revoked' : 'expired'}: choose an open one`);
    const stray = o.layers.find((l) => !key.layers.includes(l));
    if (stray !== undefined) throw invalid('layers', `"${stray.slice(0, 64)}" is not on embed key ${o.keyId} (its layers: ${key.layers.join(', ')})`);
    const values = [o.keyId, o.label, o.layers, o.center, o.zoom, o.controls, o.lang, o.width, o.height];
    const newId = id ?? newWidgetId();
    const written = id
      ? await this.run.query(
          `UPDATE citybase.embed_widgets SET key_id = $1, label = $2, layers = $3, center = $4, zoom = $5, controls = $6, lang = $7,
                  width = $8, height = $9, updated_at = now()
            WHERE id = $10 AND department_id = $11 RETURNING id`,
          [...values, newId, owner],
        )
      : await this.run.query(
          `INSERT INTO citybase.embed_widgets (key_id, label, layers, center, zoom, controls, lang, width, height, id, department_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
          [...values, newId, key.department_id],
        );
    // Deleted between the read and the write.
    if (!written.length) throw notFound('unknown_widget', `no map widget ${newId}`);
    return { widget: (await this.get(newId))!, created: id === null };
  }

  /** Delete a widget (of the department, when given); the deleted widget, or null when there was none. */
  async delete(id: string, department: string | null): Promise<EmbedWidget | null> {
    const widget = await this.get(id, department);
    if (!widget) return null;
    const rows = await this.run.query(`DELETE FROM citybase.embed_widgets WHERE id = $1 AND department_id = $2 RETURNING id`, [id, widget.department]);
    return rows.length ? widget : null;
  }
}

/** The widget page's options as its URL would give them (the page reads them the same way either way). */
export function widgetQuery(w: Pick<EmbedWidget, 'id' | 'layers' | 'center' | 'zoom' | 'controls' | 'lang'>): string {
  const q = new URLSearchParams({ key: w.id });
  if (w.layers.length) q.set('layers', w.layers.join(','));
  if (w.center) q.set('center', w.center.join(','));
  if (w.zoom !== null) q.set('zoom', String(w.zoom));
  q.set('controls', w.controls.join(','));
  q.set('lang', w.lang);
  return q.toString();
}
