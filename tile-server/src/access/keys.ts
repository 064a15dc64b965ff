import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { QueryRunner } from '../db/query.ts';
import { HttpError } from '../errors.ts';
import { anonymous, normaliseScopes, type Principal } from './access.ts';
import { keyRights, normaliseRights } from './rights.ts';

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
      const rows = await this.run.query<{ id: number; department_id: string; rights: string[]; scopes: string[]; expires_at: Date | null }>(
        `SELECT id, department_id, rights, scopes, expires_at FROM citybase.api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
        [hash],
      );
      const r = rows[0];
      found = r
        ? { principal: keyPrincipal(r), expires: r.expires_at?.getTime() ?? Infinity }
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

  async revoke(id: number): Promise<boolean> {
    const rows = await this.run.query(`UPDATE citybase.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id`, [id]);
    this.cache.clear();
    return rows.length > 0;
  }
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
