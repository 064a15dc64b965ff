import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { QueryRunner } from '../db/query.ts';
import { HttpError } from '../errors.ts';
import { anonymous, normaliseScopes, type Principal } from './access.ts';
import { DEFAULT_EMBED_RATE, parseAllowedOrigin } from './embed.ts';
import { embedRights, keyRights, normaliseRights } from './rights.ts';
import { WIDGET_ID } from './widgets.ts';

/** An embed key as listed (never the key itself: only its hash is kept). */
export type EmbedKeyInfo = {
  id: number;
  department: string;
  label: string;
  origins: string[];
  layers: string[];
  scopes: string[];
  ratePerMinute: number;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
};

export interface EmbedKeyOptions {
  label?: string;
  /** Allowed origins (exact or https://*.domain patterns): at least one. */
  origins: readonly string[];
  /** Layer ids, already checked against what the department may show (embed.ts checkEmbedLayers). */
  layers: readonly string[];
  scopes?: readonly string[] | undefined;
  expiresAt?: Date | null | undefined;
  ratePerMinute?: number | undefined;
}

type KeyRow = {
  id: number;
  department_id: string;
  kind: 'api' | 'embed';
  rights: string[];
  scopes: string[];
  origins: string[];
  layers: string[];
  rate_per_minute: number;
  expires_at: Date | null;
};

const KEY_PATTERN = /^cb_[A-Za-z0-9_-]{43}$/;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new key: 256 random bits, shown once; the database keeps only its hash. */
export function newKey(): string {
  return `cb_${randomBytes(32).toString('base64url')}`;
}

/** The key a request carries: `Authorization: Bearer <key>` or `?key=<key>`. */
export function keyFromRequest(authorization: string | undefined, queryKey: unknown): string | null {
  const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (bearer) return bearer;
  if (typeof queryKey === 'string' && queryKey !== '') return queryKey;
  if (Array.isArray(queryKey)) throw new HttpError(400, 'invalid_api_key', 'give the key parameter once');
  return null;
}

/**
 * Resolves keys to principals. Lookups are kept in memory so tile requests do not cost a query each, and dropped
 * whenever keys, users or sessions change (NOTIFY citybase_identity, `forget()`); a hit is used only after the
 * change listener has caught up with every commit made before the request, so a revoked key fails on the very
 * next request. Without a listener (the CLI) nothing is kept.
 */
export class KeyStore {
  /** By key hash, or by widget id (`w_…`): the principal, when it expires, and (widgets) whether the key is revoked. */
  private readonly cache = new LRUCache<string, { principal: Principal; expires: number; revoked?: boolean } | 'invalid'>({ max: 10_000 });

  constructor(
    private readonly run: QueryRunner,
    private readonly caughtUp: () => Promise<boolean> = async () => false,
  ) {}

  forget(): void {
    this.cache.clear();
  }

  async principal(key: string | null): Promise<Principal> {
    if (key === null) return anonymous;
    const widget = WIDGET_ID.test(key);
    if (!widget && !KEY_PATTERN.test(key)) throw new HttpError(401, 'invalid_api_key', 'the API key is malformed');
    const id = widget ? key : hashKey(key);
    let found = this.cache.get(id);
    if (found !== undefined && !(await this.caughtUp())) found = undefined;
    else if (found !== undefined) found = this.cache.get(id);
    if (found === undefined) {
      found = widget ? await this.lookupWidget(key) : await this.lookupKey(id);
      this.cache.set(id, found);
    }
    // A widget id is no credential the caller chose: its problems are the widget's (gone, or its key no longer valid).
    if (found === 'invalid')
      throw widget ? new HttpError(404, 'unknown_widget', `no map widget ${key}: it was deleted, or the address is wrong`) : new HttpError(401, 'invalid_api_key', 'the API key is unknown or revoked');
    if (found.revoked) throw new HttpError(403, 'embed_key_revoked', `the embed key of map widget ${key} was revoked: its department can give the widget another key in the builder`);
    if (found.expires <= Date.now())
      throw widget ? new HttpError(403, 'embed_key_expired', `the embed key of map widget ${key} has expired: its department can give the widget another key in the builder`) : new HttpError(401, 'expired_api_key', 'the API key has expired');
    return found.principal;
  }

  private async lookupKey(hash: string): Promise<{ principal: Principal; expires: number } | 'invalid'> {
    const rows = await this.run.query<KeyRow>(
      `SELECT id, department_id, kind, rights, scopes, origins, layers, rate_per_minute, expires_at
         FROM citybase.api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [hash],
    );
    const r = rows[0];
    return r ? { principal: r.kind === 'embed' ? embedPrincipal(r) : keyPrincipal(r), expires: r.expires_at?.getTime() ?? Infinity } : 'invalid';
  }

  /** A saved widget stands for its embed key, narrowed to the widget's layers (migration 0054, widgets.ts). */
  private async lookupWidget(id: string): Promise<{ principal: Principal; expires: number; revoked: boolean } | 'invalid'> {
    const rows = await this.run.query<KeyRow & { revoked: boolean; widget_layers: string[] }>(
      `SELECT k.id, k.department_id, k.kind, k.rights, k.scopes, k.origins, k.layers, k.rate_per_minute, k.expires_at,
              k.revoked_at IS NOT NULL AS revoked, w.layers AS widget_layers
         FROM citybase.embed_widgets w JOIN citybase.api_keys k ON k.id = w.key_id
        WHERE w.id = $1 AND k.kind = 'embed'`,
      [id],
    );
    const r = rows[0];
    if (!r) return 'invalid';
    const layers = r.widget_layers.length ? r.layers.filter((l) => r.widget_layers.includes(l)) : r.layers;
    return { principal: embedPrincipal({ ...r, layers }), expires: r.expires_at?.getTime() ?? Infinity, revoked: r.revoked };
  }

  /** Create a key for a department and return it (the only time it is seen in clear). */
  async create(
    department: string,
    label: string,
    rights: readonly string[] = ['layer:read'],
    options: { scopes?: readonly string[]; expiresAt?: Date | null } = {},
  ): Promise<{ id: number; key: string }> {
    const named = normaliseRights(rights);
    const refused = rights.filter((r) => {
      const n = normaliseRights([r]);
      return n.length === 0 || !keyRights.includes(n[0]!);
    });
    if (refused.length) throw new HttpError(400, 'invalid_rights', `a key cannot hold ${refused.join(', ')} (rights: ${keyRights.join(', ')})`);
    const key = newKey();
    const rows = await this.run.query<{ id: number }>(
      `INSERT INTO citybase.api_keys (department_id, key_hash, label, rights, scopes, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [department, hashKey(key), label, named, options.scopes ?? ['320800'], options.expiresAt ?? null],
    );
    this.cache.clear();
    return { id: rows[0]!.id, key };
  }

  async revoke(id: number, kind?: 'api' | 'embed'): Promise<boolean> {
    const rows = await this.run.query(
      `UPDATE citybase.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL AND ($2::text IS NULL OR kind = $2) RETURNING id`,
      [id, kind ?? null],
    );
    this.cache.clear();
    return rows.length > 0;
  }

  /** Create an embed key (read-only by construction: its only right is layer:read) and return it once. */
  async createEmbed(department: string, o: EmbedKeyOptions): Promise<{ id: number; key: string }> {
    const origins = [...new Set(o.origins.map(parseAllowedOrigin))];
    if (origins.length === 0) throw new HttpError(400, 'invalid_origin', 'name at least one origin the widget may be shown on');
    if (o.layers.length === 0) throw new HttpError(400, 'invalid_layers', 'name at least one layer the widget may show');
    const rate = o.ratePerMinute ?? DEFAULT_EMBED_RATE;
    if (!Number.isInteger(rate) || rate < 1 || rate > 1_000_000) throw new HttpError(400, 'invalid_rate', 'the rate is a whole number of requests a minute, 1 to 1000000');
    const key = newKey();
    const rows = await this.run.query<{ id: number }>(
      `INSERT INTO citybase.api_keys (department_id, key_hash, label, kind, rights, scopes, origins, layers, rate_per_minute, expires_at)
       VALUES ($1, $2, $3, 'embed', $4, $5, $6, $7, $8, $9) RETURNING id`,
      [department, hashKey(key), o.label ?? '', embedRights, o.scopes ?? ['320800'], origins, [...o.layers], rate, o.expiresAt ?? null],
    );
    this.cache.clear();
    return { id: rows[0]!.id, key };
  }

  /** Embed keys, of one department or all (department null), newest last. */
  async listEmbed(department: string | null): Promise<EmbedKeyInfo[]> {
    return this.run.query<EmbedKeyInfo>(
      `SELECT id, department_id AS department, label, origins, layers, scopes, rate_per_minute AS "ratePerMinute",
              created_at AS "createdAt", expires_at AS "expiresAt", revoked_at AS "revokedAt"
         FROM citybase.api_keys
        WHERE kind = 'embed' AND ($1::text IS NULL OR department_id = $1)
        ORDER BY id`,
      [department],
    );
  }

  /** Revoke an embed key (of the department, when given); false when there is no such open key. */
  async revokeEmbed(id: number, department: string | null): Promise<boolean> {
    const rows = await this.run.query(
      `UPDATE citybase.api_keys SET revoked_at = now()
        WHERE id = $1 AND kind = 'embed' AND revoked_at IS NULL AND ($2::text IS NULL OR department_id = $2) RETURNING id`,
      [id, department],
    );
    this.cache.clear();
    return rows.length > 0;
  }
}

/** An embed key's principal: its department, layer:read only, and the grant the embed guard checks. */
function embedPrincipal(r: KeyRow): Principal {
  return Object.freeze({
    kind: 'embed' as const,
    department: r.department_id,
    keyId: r.id,
    userId: null,
    login: null,
    roles: [],
    rights: [...embedRights],
    scopes: normaliseScopes(r.scopes),
    sessionId: null,
    embed: Object.freeze({ origins: r.origins, layers: r.layers, ratePerMinute: r.rate_per_minute, origin: null }),
  });
}

function keyPrincipal(r: { id: number; department_id: string; rights: string[]; scopes: string[] }): Principal {
  return Object.freeze({
    kind: 'key' as const,
    department: r.department_id,
    keyId: r.id,
    userId: null,
    login: null,
    roles: [],
    rights: normaliseRights(r.rights),
    scopes: normaliseScopes(r.scopes),
    sessionId: null,
  });
}
