import { HttpError, badRequest } from '../errors.ts';
import type { QueryRunner } from '../db/query.ts';
import { audit, type AuditActor } from './audit.ts';
import { DUMMY_HASH, verifyPassword } from './password.ts';
import type { SessionPrincipal, SessionStore } from './sessions.ts';
import { verifyTotp } from './totp.ts';
import type { UserStore } from './users.ts';

export interface SignInSettings {
  /** Failures of one login within the window that lock it (AUTH_MAX_FAILURES, 5). */
  maxFailures: number;
  /** The window and the lock's length (AUTH_LOCK_MIN, 15 minutes). */
  lockMs: number;
  /** Failures from one source address within the window before it is throttled (AUTH_ADDR_MAX_FAILURES, 20). */
  maxAddressFailures: number;
}

export interface SignInDeps {
  run: QueryRunner;
  users: UserStore;
  sessions: SessionStore;
  settings: SignInSettings;
}

const WRONG = () => new HttpError(401, 'invalid_credentials', 'wrong login or password');

/**
 * Sign a person in: the source address's throttle, the login's lock, the password (a wrong login and a wrong
 * password get the same answer, after the same scrypt work), the second factor, then a session. Every attempt,
 * successful or not, is audited with its real reason (the auditor may know what the caller may not).
 */
export async function signIn(
  deps: SignInDeps,
  body: unknown,
  sourceAddr: string,
  userAgent: string,
): Promise<{ token: string; principal: SessionPrincipal }> {
  const { run, users, sessions, settings } = deps;
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b)) throw badRequest('invalid_request', 'send JSON { "login": …, "password": … }');
  const unknown = Object.keys(b).filter((k) => !['login', 'password', 'totp'].includes(k));
  if (unknown.length) throw badRequest('invalid_request', `unknown field ${unknown[0]!.slice(0, 40)}: send login, password and (when asked) totp`);
  if (typeof b.login !== 'string' || b.login.length === 0 || b.login.length > 64) throw badRequest('invalid_request', 'login: a string of 1 to 64 characters');
  if (typeof b.password !== 'string' || b.password.length === 0 || b.password.length > 256)
    throw badRequest('invalid_request', 'password: a string of 1 to 256 characters');
  const login = b.login.trim().toLowerCase();
  const actor: AuditActor = { kind: 'anonymous', id: null, name: login, role: '', sourceAddr };
  const fail = (reason: string, details: Record<string, unknown> = {}) =>
    audit(run, actor, { action: 'session.sign_in', outcome: 'failure', target: login, details: { reason, ...details } });

  const windowMs = settings.lockMs;
  const [counts] = await run.query<{ by_addr: number; by_login: number; last: Date | null }>(
    `SELECT count(*) FILTER (WHERE source_addr = $2)::int AS by_addr, count(*) FILTER (WHERE login = $1)::int AS by_login,
            max(at) FILTER (WHERE login = $1) AS last
     FROM citybase.sign_in_failures WHERE (login = $1 OR source_addr = $2) AND at > now() - $3 * interval '1 millisecond'`,
    [login, sourceAddr, windowMs],
  );
  if (counts!.by_addr >= settings.maxAddressFailures) {
    await fail('address throttled', { failures: counts!.by_addr });
    throw Object.assign(new HttpError(429, 'too_many_attempts', 'too many failed sign-ins from this address; try again later'), {
      retryAfterS: Math.ceil(windowMs / 1000),
    });
  }
  const user = await users.byLogin(login);
  const lockedUntil = user?.state === 'locked' && user.locked_until ? user.locked_until.getTime() : 0;
  if (counts!.by_login >= settings.maxFailures || lockedUntil > Date.now()) {
    // The same answer whether or not the login exists: a lock must not tell which names are real.
    const until = Math.max(lockedUntil, (counts!.last?.getTime() ?? Date.now()) + windowMs);
    await fail('locked', { until: new Date(until).toISOString() });
    throw Object.assign(new HttpError(403, 'account_locked', `too many failed sign-ins: the account is locked until ${new Date(until).toISOString()}`), {
      retryAfterS: Math.max(1, Math.ceil((until - Date.now()) / 1000)),
    });
  }

  const passwordOk = await verifyPassword(b.password, user?.password_hash ?? DUMMY_HASH);
  if (!user || !passwordOk) {
    await run.query(`INSERT INTO citybase.sign_in_failures (login, source_addr) VALUES ($1, $2)`, [login, sourceAddr]);
    await fail(user ? 'wrong password' : 'unknown login');
    if (user && counts!.by_login + 1 >= settings.maxFailures) {
      const until = new Date(Date.now() + windowMs);
      await run.query(`UPDATE citybase.users SET state = 'locked', locked_until = $2, updated_at = now() WHERE id = $1`, [user.id, until]);
      await audit(run, { ...actor, kind: 'system', name: 'sign-in' }, {
        action: 'user.lock',
        outcome: 'success',
        target: login,
        details: { reason: `${settings.maxFailures} failed sign-ins`, until: until.toISOString() },
      });
    }
    throw WRONG();
  }
  if (user.state === 'disabled' || (user.state === 'locked' && user.locked_until === null)) {
    await fail(`account ${user.state}`);
    throw new HttpError(403, user.state === 'disabled' ? 'account_disabled' : 'account_locked', `the account is ${user.state}: ask an administrator`);
  }
  if (user.totp_enabled) {
    if (b.totp === undefined) {
      await fail('second factor missing');
      throw new HttpError(401, 'totp_required', 'give the 6-digit code of your authenticator app as "totp"');
    }
    if (!verifyTotp(user.totp_secret!, b.totp)) {
      await run.query(`INSERT INTO citybase.sign_in_failures (login, source_addr) VALUES ($1, $2)`, [login, sourceAddr]);
      await fail('wrong second factor');
      throw new HttpError(401, 'invalid_totp', 'the authenticator code is wrong or expired');
    }
  }

  await run.query(`DELETE FROM citybase.sign_in_failures WHERE login = $1`, [login]);
  await run.query(
    `UPDATE citybase.users SET last_login_at = now(), state = CASE WHEN state = 'locked' THEN 'active' ELSE state END, locked_until = NULL WHERE id = $1`,
    [user.id],
  );
  const session = await sessions.create(user, sourceAddr, userAgent);
  await audit(run, { ...actor, kind: 'user', id: user.id, role: user.roles.join(',') }, {
    action: 'session.sign_in',
    outcome: 'success',
    target: login,
    details: session.principal.pending ? { pending: session.principal.pending } : {},
  });
  return session;
}
