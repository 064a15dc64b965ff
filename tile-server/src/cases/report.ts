import type pg from 'pg';
import { z } from 'zod';
import type { Principal } from '../access/access.ts';
import { requireRight } from '../access/access.ts';
import { badRequest, HttpError } from '../errors.ts';
import { actorOf, actorRole, scopeCondition } from './actor.ts';
import { audit } from './audit.ts';
import { attachPhotos } from './photo-store.ts';
import type { ProcessedPhoto } from './photos.ts';
import { inTransaction } from '../db/transaction.ts';

export const SOURCES = ['监督员上报', '12345热线', '公众/Open311', '视频', '领导交办'] as const;

/** A report as the mobile page, the desk, the hotline form or Open311 sends it. */
export const reportSchema = z
  .object({
    client_id: z.string().regex(/^[A-Za-z0-9_-]{8,80}$/, 'a client-generated id of 8–80 letters, digits, - or _').optional(),
    category: z.string().regex(/^(BJ|SJ)\d{4,5}$/, 'a 小类 code of the category table, e.g. SJ0102'),
    lon: z.number().finite().min(-180).max(180).optional(),
    lat: z.number().finite().min(-90).max(90).optional(),
    address: z.string().max(256).optional(),
    description: z.string().max(4000).optional(),
    urgency: z.enum(['一般', '紧急']).optional(),
    area_type: z.string().min(1).max(40).optional(),
    source: z.enum(SOURCES).optional(),
    contact: z.record(z.string(), z.string().max(200)).optional(),
  })
  .strict();
export type ReportInput = z.infer<typeof reportSchema>;

export function parseReport(raw: unknown): ReportInput {
  const r = reportSchema.safeParse(raw);
  if (!r.success) throw badRequest('invalid_report', r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  if ((r.data.lon === undefined) !== (r.data.lat === undefined)) throw badRequest('invalid_report', 'give both lon and lat, or neither');
  return r.data;
}

/** A caller's phone as a 12345 operator types it: digits, with +, - or spaces between. */
const PHONE = /^\+?[0-9][0-9 -]{3,18}[0-9]$/;

/**
 * A 12345 热线 registration: only the hotline (case:hotline) speaks for callers, with the caller's phone (kept
 * for the call-back, never shown in lists, Open311 or layers; the desk shows it masked) and the address the
 * caller gave (the point is the one the operator confirmed on the map).
 */
function checkHotline(principal: Principal, input: ReportInput): void {
  requireRight(principal, 'case:hotline');
  const phone = input.contact?.phone?.trim();
  if (!phone) throw badRequest('phone_required', 'a 12345 registration needs the caller\'s phone (contact.phone) for the call-back');
  if (!PHONE.test(phone)) throw badRequest('invalid_phone', 'contact.phone: digits, with +, - or spaces between (5–20 characters)');
  if (!input.address?.trim()) throw badRequest('address_required', 'a 12345 registration needs the address the caller gave');
  const unknown = Object.keys(input.contact!).filter((k) => k !== 'phone' && k !== 'name');
  if (unknown.length) throw badRequest('invalid_report', `contact: only name and phone (not ${unknown.join(', ')})`);
}

/** The caller's contact as the desk shows it: the phone's middle digits and the name after its first character hidden. */
export function maskContact(contact: Record<string, string> | null): { name?: string; phone?: string } | null {
  if (!contact) return null;
  const out: { name?: string; phone?: string } = {};
  if (contact.name) out.name = [...contact.name][0] + '*'.repeat(Math.max(1, [...contact.name].length - 1));
  const digits = (contact.phone ?? '').replace(/[^0-9]/g, '');
  if (digits) out.phone = digits.length >= 11 ? `${digits.slice(0, 3)}****${digits.slice(-4)}` : `${'*'.repeat(Math.max(0, digits.length - 2))}${digits.slice(-2)}`;
  return out;
}

export interface ReportResult {
  created: boolean;
  id: string;
  code: string;
  duplicates: Array<{ id: string; code: string; state: string; distance_m: number }>;
}

/**
 * 上报: a new case, located (urban.locate), routed (cases.route), with its first time-limited step, its photos and
 * its first timeline entry, in one transaction. The same client_id sent again returns the first case (200, not
 * 201): a phone resending after a lost answer makes one case. Open cases of the same 小类 nearby are returned
 * as possible duplicates for the centre to merge.
 */
export async function reportCase(pool: pg.Pool, principal: Principal, input: ReportInput, photos: readonly ProcessedPhoto[]): Promise<ReportResult> {
  requireRight(principal, 'case:report');
  if (input.source === '12345热线') checkHotline(principal, input);
  const actor = actorOf(principal);
  const position = input.lon !== undefined ? { lon: input.lon, lat: input.lat! } : photos.find((p) => p.lon !== null);
  if (!position || position.lon === null || position.lat === null)
    throw badRequest('missing_location', 'give lon and lat (WGS84), or a photo with its GPS position');
  return inTransaction(pool, async (client) => {
    if (input.client_id) {
      // Serialise reports with the same client id, so two retries arriving together still make one case.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('cases.client_id'), hashtext($1))`, [input.client_id]);
      const existing = await client.query<{ id: string; code: string; reporter: string }>(
        `SELECT id, code, reporter FROM cases.cases WHERE client_id = $1`,
        [input.client_id],
      );
      const e = existing.rows[0];
      if (e) {
        if (e.reporter !== actor) throw new HttpError(409, 'client_id_taken', 'this client_id belongs to another reporter\'s case');
        return { created: false, id: e.id, code: e.code, duplicates: [] };
      }
    }
    const category = await client.query(`SELECT code FROM cases.categories WHERE code = $1`, [input.category]);
    if (!category.rows.length) throw badRequest('unknown_category', `no category ${input.category} (GET /api/cases/categories lists them)`);
    const place = await client.query<{ district_code: string | null; grid_code: string | null; community_code: string | null; street_code: string | null; responsibility_area: string | null }>(
      `SELECT * FROM urban.locate(ST_SetSRID(ST_Point($1, $2), 4326))`,
      [position.lon, position.lat],
    );
    const loc = place.rows[0]!;
    if (!loc.district_code) throw badRequest('outside_city', `${position.lon}, ${position.lat} is not inside Huai'an's districts`);
    // A reporter limited to a district or street reports there only: outside it they could not follow the case.
    const inScope = await client.query<{ ok: boolean }>(`SELECT cases.in_scope(cases.scope_code($1, $2, $3), $4::text[]) AS ok`, [
      loc.community_code, loc.street_code, loc.district_code, principal.scopes,
    ]);
    if (!inScope.rows[0]!.ok)
      throw new HttpError(403, 'out_of_scope', `${position.lon}, ${position.lat} (${loc.district_code}) is outside your scope (${principal.scopes!.join(', ')})`);
    const { rows } = await client.query<{ id: string; code: string; state: string; step: string | null }>(
      `INSERT INTO cases.cases (code, client_id, category_code, state, source, urgency, area_type, description, address, geom,
                                grid_code, community_code, street_code, district_code, responsibility_area, routed_department,
                                reporter, reporter_department, contact)
       VALUES (cases.next_code(now()), $1, $2, 'reported', $3, $4, $5, $6, $7, ST_SetSRID(ST_Point($8, $9), 4326),
               $10, $11, $12, $13, $14, cases.route($2, $14), $15, $16, $17)
       RETURNING id, code, state, (SELECT step FROM cases.states WHERE code = 'reported') AS step`,
      [
        input.client_id ?? null, input.category, input.source ?? '监督员上报', input.urgency ?? '一般', input.area_type ?? '一般区域',
        input.description ?? '', input.address ?? '', position.lon, position.lat, loc.grid_code, loc.community_code, loc.street_code,
        loc.district_code, loc.responsibility_area, actor, principal.department, input.contact ? JSON.stringify(input.contact) : null,
      ],
    );
    const c = rows[0]!;
    await client.query(`SELECT cases.enter_step($1, $2, now())`, [c.id, c.step]);
    const timelineId = await audit(client, {
      actor,
      action: 'report',
      target: c.id,
      outcome: 'ok',
      details: { role: actorRole(principal), from: null, to: 'reported', note: input.description ?? '', photos: photos.map((p) => p.hash) },
    });
    await attachPhotos(client, c.id, '上报', timelineId, photos);
    const dups = await client.query<{ id: string; code: string; state: string; distance_m: number }>(
      `SELECT d.id, d.code, d.state, round(d.distance_m::numeric, 1)::float AS distance_m
       FROM cases.duplicates_of($1, ST_SetSRID(ST_Point($2, $3), 4326), now(), $4) d JOIN cases.cases x ON x.id = d.id
       WHERE ${scopeCondition(5, 'x')} ORDER BY d.distance_m, d.id`,
      [input.category, position.lon, position.lat, c.id, principal.scopes],
    );
    return { created: true, id: c.id, code: c.code, duplicates: dups.rows };
  });
}
