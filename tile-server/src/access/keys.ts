import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { QueryRunner } from '../db/query.ts';
import { HttpError } from '../errors.ts';
import { anonymous, normaliseScopes, type Principal } from './access.ts';
import { normaliseRights } from './rights.ts';

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
 * Resolves keys to principals. Lookups are cached for a short time (30 s, bounded) so tile requests do not
 * cost a query each; a revoked key stops working within that time.
 */
export class KeyStore {
  private readonly cache = new LRUCache<string, Principal | 'invalid'>({ max: 10_000, ttl: 30_000 });

  constructor(private readonly run: QueryRunner) {}

  async principal(key: string | null): Promise<Principal> {
    if (key === null) return anonymous;
    if (!KEY_PATTERN.test(key)) throw new HttpError(401, 'invalid_api_key', 'the API key is malformed');
    const hash = hashKey(key);
    let found = this.cache.get(hash);
    if (found === undefined) {
      const rows = await this.run.query<{ id: number; department_id: string; rights: string[] }>(
        `SELECT id, department_id, rights FROM citybase.api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
        [hash],
      );
      const r = rows[0];
      found = r
        ? Object.freeze({
            kind: 'key' as const,
            department: r.department_id,
            keyId: r.id,
            userId: null,
            login: null,
            roles: [],
            rights: normaliseRights(r.rights),
            scopes: normaliseScopes(null),
            sessionId: null,
          })
        : 'invalid';
      this.cache.set(hash, found);
    }
    if (found === 'invalid') throw new HttpError(401, 'invalid_api_key', 'the API key is unknown or revoked');
    return found;
  }

  /** Create a key for a department and return it (the only time it is seen in clear). */
  async create(department: string, label: string, rights: readonly string[] = ['read']): Promise<{ id: number; key: string }> {
    const key = newKey();
    const rows = await this.run.query<{ id: number }>(
      `INSERT INTO citybase.api_keys (department_id, key_hash, label, rights) VALUES ($1, $2, $3, $4) RETURNING id`,
      [department, hashKey(key), label, rights],
    );
    return { id: rows[0]!.id, key };
  }

  async revoke(id: number): Promise<boolean> {
    const rows = await this.run.query(`UPDATE citybase.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id`, [id]);
    this.cache.clear();
    return rows.length > 0;
  }
}
