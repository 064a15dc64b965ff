import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { QueryRunner } from '../db/query.ts';
import { HttpError } from '../errors.ts';
import { anonymous, normaliseScopes, type Principal } from './access.ts';
import { DEFAULT_EMBED_RATE, parseAllowedOrigin } from './embed.ts';
import { embedRights, keyRights, normaliseRights } from './rights.ts';

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
  private readonly cache = new LRUCache<string, { principal: Principal; expires: number } | 'invalid'>({ max: 10_000 });

  constructor(
    private readonly run: QueryRunner,
    private readonly caughtUp: () => Promise<boolean> = async () => false,
  ) {}

  forget(): void {
    this.cache.clear();
  }

  async principal(key: string | null): Promise<Principal> {
    if (key === null) return anonymous;
    if (!KEY_PATTERN.test(key)) throw new HttpError(401, 'invalid_api_key', 'the API key is malformed');
    const hash = hashKey(key);
    let found = this.cache.get(hash);
    if (found !== undefined && !(await this.caughtUp())) found = undefined;
    else if (found !== undefined) found = this.cache.get(hash);
    if (found === undefined) {
      const rows = await this.run.query<KeyRow>(
        `SELECT id, department_id, kind, rights, scopes, origins, layers, rate_per_minute, expires_at
           FROM citybase.api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
        [hash],
      );
      const r = rows[0];
      found = r
        ? { principal: r.kind === 'embed' ? embedPrincipal(r) : keyPrincipal(r), expires: r.expires_at?.getTime() ?? Infinity }
        : 'invalid';
      this.cache.set(hash, found);
    }
    if (found === 'invalid') throw new HttpError(401, 'invalid_api_key', 'the API key is unknown or revoked');
    if (found.expires <= Date.now()) throw new HttpError(401, 'expired_api_key', 'the API key has expired');
    return found.principal;
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
