import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { normaliseScopes, type Principal } from '../access/access.ts';
import { privilegedRoles, rightsOfRoles, type Role } from '../access/rights.ts';
import type { QueryRunner } from '../db/query.ts';
import type { UserRow } from './users.ts';

export const SESSION_COOKIE = 'cb_session';
/** last_seen_at is written at most this often per session (idle time is exact to within it). */
const TOUCH_MS = 60_000;

export interface SessionSettings {
  idleMs: number;
  lifetimeMs: number;
  /** Admin roles must use a second factor (AUTH_TOTP_REQUIRED). */
  totpRequired: boolean;
}

/** What a session may do before it is a full one: change the password, or enrol a second factor. */
export type Pending = 'password_change_required' | 'totp_enrolment_required';

export interface SessionPrincipal extends Principal {
  readonly pending: Pending | null;
  readonly csrfToken: string;
  readonly expiresAt: Date;
}

export type Resolved = { principal: SessionPrincipal } | { problem: 'session_expired' | 'invalid_session'; login: string | null };

interface Cached {
  principal: SessionPrincipal;
  lastSeen: number;
  written: number;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function pendingOf(u: Pick<UserRow, 'must_change_password' | 'totp_enabled' | 'roles'>, totpRequired: boolean): Pending | null {
  if (u.must_change_password) return 'password_change_required';
  if (totpRequired && !u.totp_enabled && u.roles.some((r) => privilegedRoles.includes(r as Role))) return 'totp_enrolment_required';
  return null;
}

/**
 * Sessions: the cookie carries 256 random bits; the database keeps their SHA-256, so a session can be listed and
 * revoked but not stolen from the table. Resolved sessions are kept in memory and dropped whenever users, sessions
 * or keys change (NOTIFY citybase_identity); a hit is used only after the listener has caught up with every commit
 * made before the request, so a revoked session, a new role or a narrower scope applies to the very next request.
 */
export class SessionStore {
  private readonly cache = new LRUCache<string, Cached>({ max: 50_000 });

  constructor(
    private readonly run: QueryRunner,
    private readonly settings: SessionSettings,
    /** ChangeListener.sync: true once every notification committed before the call has been handled. */
    private readonly caughtUp: () => Promise<boolean>,
  ) {}

  /** Drop every cached session (identity changed somewhere). */
  forget(): void {
    this.cache.clear();
  }

  async create(user: UserRow, sourceAddr: string, userAgent: string): Promise<{ token: string; principal: SessionPrincipal }> {
    const token = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const expires = new Date(Date.now() + this.settings.lifetimeMs);
    const idHash = hashToken(token);
    await this.run.query(
      `INSERT INTO citybase.sessions (id_hash, user_id, csrf_token, expires_at, source_addr, user_agent) VALUES ($1, $2, $3, $4, $5, $6)`,
      [idHash, user.id, csrf, expires, sourceAddr, userAgent.slice(0, 300)],
    );
    return { token, principal: this.principalOf(user, idHash, csrf, expires) };
  }

  async resolve(token: string): Promise<Resolved> {
    if (!TOKEN.test(token)) return { problem: 'invalid_session', login: null };
    const idHash = hashToken(token);
    const now = Date.now();
    let hit = this.cache.get(idHash);
    if (hit && !(await this.caughtUp())) hit = undefined;
    else if (hit) hit = this.cache.get(idHash); // catching up may have dropped it
    if (!hit) {
      type Row = UserRow & { id_hash: string; csrf_token: string; expires_at: Date; last_seen_at: Date; revoked_at: Date | null };
      const rows = await this.run.query<Row & Record<string, unknown>>(
        `SELECT u.*, s.id_hash, s.csrf_token, s.expires_at, s.last_seen_at, s.revoked_at
         FROM citybase.sessions s JOIN citybase.users u ON u.id = s.user_id WHERE s.id_hash = $1`,
        [idHash],
      );
      const r = rows[0];
      if (!r || r.revoked_at !== null) return { problem: r ? 'session_expired' : 'invalid_session', login: r?.login ?? null };
      if (r.state === 'disabled' || (r.state === 'locked' && r.locked_until === null)) {
        await this.end(idHash, `account ${r.state}`);
        return { problem: 'invalid_session', login: r.login };
      }
      hit = { principal: this.principalOf(r, idHash, r.csrf_token, r.expires_at), lastSeen: r.last_seen_at.getTime(), written: r.last_seen_at.getTime() };
      this.cache.set(idHash, hit);
    }
    if (now >= hit.principal.expiresAt.getTime() || now - hit.lastSeen > this.settings.idleMs) {
      this.cache.delete(idHash);
      const ended = await this.end(idHash, now >= hit.principal.expiresAt.getTime() ? 'lifetime' : 'idle');
      return { problem: 'session_expired', login: ended ? hit.principal.login : null };
    }
    hit.lastSeen = now;
    if (now - hit.written > TOUCH_MS) {
      hit.written = now;
      await this.run.query(`UPDATE citybase.sessions SET last_seen_at = now() WHERE id_hash = $1`, [idHash]);
    }
    return { principal: hit.principal };
  }

  /** End a session; true when it was still open (so the caller audits the end once). */
  async end(idHash: string, reason: string): Promise<boolean> {
    this.cache.delete(idHash);
    const rows = await this.run.query(
      `UPDATE citybase.sessions SET revoked_at = now(), ended_reason = $2 WHERE id_hash = $1 AND revoked_at IS NULL RETURNING 1`,
      [idHash, reason],
    );
    return rows.length > 0;
  }

  /** End every open session of a user (disabled, locked by an administrator, password reset). */
  async endAllOf(userId: number, reason: string): Promise<number> {
    const rows = await this.run.query(
      `UPDATE citybase.sessions SET revoked_at = now(), ended_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING 1`,
      [userId, reason],
    );
    this.cache.clear();
    return rows.length;
  }

  /** Open sessions for the admin page: a short handle (not the hash itself), who, from where, since when. */
  async list(): Promise<Array<Record<string, unknown>>> {
    return this.run.query(
      `SELECT left(s.id_hash, 16) AS handle, u.login, u.department_id AS department, s.source_addr, s.user_agent,
              s.created_at, s.last_seen_at, s.expires_at
       FROM citybase.sessions s JOIN citybase.users u ON u.id = s.user_id
       WHERE s.revoked_at IS NULL AND s.expires_at > now() AND s.last_seen_at > now() - $1 * interval '1 millisecond'
       ORDER BY s.last_seen_at DESC LIMIT 1000`,
      [this.settings.idleMs],
    );
  }

  async revokeByHandle(handle: string): Promise<string | null> {
    if (!/^[0-9a-f]{16}$/.test(handle)) return null;
    const rows = await this.run.query<{ login: string }>(
      `UPDATE citybase.sessions s SET revoked_at = now(), ended_reason = 'revoked' FROM citybase.users u
       WHERE u.id = s.user_id AND left(s.id_hash, 16) = $1 AND s.revoked_at IS NULL RETURNING u.login`,
      [handle],
    );
    this.cache.clear();
    return rows[0]?.login ?? null;
  }

  /** Mark a pending session complete (password changed, second factor enrolled): the cached principal is rebuilt. */
  refresh(): void {
    this.cache.clear();
  }

  private principalOf(u: UserRow, idHash: string, csrf: string, expires: Date): SessionPrincipal {
    const pending = pendingOf(u, this.settings.totpRequired);
    return Object.freeze({
      kind: 'user' as const,
      department: u.department_id,
      keyId: null,
      userId: u.id,
      login: u.login,
      roles: [...u.roles],
      rights: pending ? [] : rightsOfRoles(u.roles),
      scopes: normaliseScopes(u.scopes),
      vehicleGroups: u.vehicle_groups ?? null,
      sessionId: idHash,
      pending,
      csrfToken: csrf,
      expiresAt: expires,
    });
  }
}
