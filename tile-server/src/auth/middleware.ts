import { timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { anonymous, type Principal } from '../access/access.ts';
import { keyFromRequest, type KeyStore } from '../access/keys.ts';
import { WIDGET_ID } from '../access/widgets.ts';
import { HttpError } from '../errors.ts';
import { actorOf, audit } from './audit.ts';
import type { QueryRunner } from '../db/query.ts';
import { SESSION_COOKIE, type SessionPrincipal, type SessionStore } from './sessions.ts';

export interface PrincipalDeps {
  keys: KeyStore;
  sessions: SessionStore;
  run: QueryRunner;
  log: Logger;
  /** PUBLIC_URL: its origin is the one mutating requests must come from (else the request's own). */
  publicUrl: string | undefined;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** What a session that must first change its password (or enrol TOTP) may still do. */
const PENDING_ALLOWED = [/^\/api\/session(\/password|\/totp(\/confirm)?)?$/];

export function isSecure(ctx: Context, publicUrl: string | undefined): boolean {
  return publicUrl ? publicUrl.startsWith('https:') : ctx.protocol === 'https';
}

export function setSessionCookie(ctx: Context, token: string | null, publicUrl: string | undefined, maxAgeMs?: number): void {
  const secure = isSecure(ctx, publicUrl);
  // Behind a TLS-terminating proxy the socket is plain http; the cookie library must be told the site is not.
  if (secure) (ctx.cookies as unknown as { secure: boolean }).secure = true;
  ctx.cookies.set(SESSION_COOKIE, token ?? '', {
    httpOnly: true,
    sameSite: 'lax',
    secure,
    path: '/',
    overwrite: true,
    ...(token === null ? { expires: new Date(0) } : maxAgeMs ? { maxAge: maxAgeMs } : {}),
  });
}

/** The origin requests are expected from: PUBLIC_URL's, else the request's own (scheme and host). */
export function ownOrigin(ctx: Context, publicUrl: string | undefined): string {
  return publicUrl ? new URL(publicUrl).origin : `${ctx.protocol}://${ctx.host}`;
}

/** Refuse a request whose Origin (or, without one, Referer) names another site. */
export function checkSameOrigin(ctx: Context, publicUrl: string | undefined): void {
  const origin = ctx.get('Origin') || (ctx.get('Referer') ? safeOrigin(ctx.get('Referer')) : '');
  if (origin && origin !== ownOrigin(ctx, publicUrl)) throw new HttpError(403, 'cross_origin', `requests from ${origin.slice(0, 100)} may not act in a session here`);
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'null';
  }
}

/**
 * Make the principal of a request: an API key (Authorization: Bearer or ?key=) or a session cookie, else
 * anonymous. A bad key or a dead session is a 401 naming the problem (and the dead cookie is cleared); a mutating
 * request in a session needs its CSRF token (X-CSRF-Token) and a same-origin Origin; a session that must first
 * change its password may do only that.
 */
export function principalMiddleware(deps: PrincipalDeps) {
  return async function principal(ctx: Context, next: Next) {
    // A saved widget's page (/embed/w_…) stands for its embed key, like `?key=w_…` on the page's own requests.
    const key = keyFromRequest(ctx.get('Authorization') || undefined, ctx.query.key) ?? widgetInPath(ctx.path);
    const token = key === null ? ctx.cookies.get(SESSION_COOKIE) : undefined;
    let p: Principal = anonymous;
    if (key !== null) p = await deps.keys.principal(key);
    else if (token) {
      const resolved = await deps.sessions.resolve(token);
      if ('problem' in resolved) {
        setSessionCookie(ctx, null, deps.publicUrl);
        // Signing in again, signing out and opening a page (a browser navigation, which then sends the person to
        // sign in) go on as anonymous; every API request says why it failed.
        const navigation = ctx.method === 'GET' && ctx.get('Accept').includes('text/html');
        if (!(ctx.path === '/api/session' && ctx.method !== 'GET') && !navigation) {
          if (resolved.login !== null || resolved.problem === 'invalid_session')
            await audit(deps.run, { kind: 'anonymous', id: null, name: resolved.login ?? '', role: '', sourceAddr: ctx.ip }, {
              action: resolved.problem === 'session_expired' ? 'session.expire' : 'session.invalid',
              outcome: 'failure',
              target: ctx.path.slice(0, 200),
            });
          throw new HttpError(
            401,
            resolved.problem,
            resolved.problem === 'session_expired' ? 'the session has expired: sign in again' : 'the session is not valid: sign in again',
          );
        }
      } else p = resolved.principal;
    }
    ctx.state.principal = p;
    if (p.kind === 'user') {
      const s = p as SessionPrincipal;
      if (MUTATING.has(ctx.method) && !(ctx.path === '/api/session' && ctx.method === 'POST')) {
        checkSameOrigin(ctx, deps.publicUrl);
        const sent = ctx.get('X-CSRF-Token');
        if (!sent || sent.length !== s.csrfToken.length || !timingSafeEqual(Buffer.from(sent), Buffer.from(s.csrfToken)))
          throw new HttpError(403, 'csrf_token_required', 'send the session’s CSRF token (GET /api/session: csrfToken) as X-CSRF-Token');
      }
      if (s.pending && !PENDING_ALLOWED.some((re) => re.test(ctx.path)))
        throw new HttpError(403, s.pending, s.pending === 'password_change_required' ? 'change the password first (POST /api/session/password)' : 'enrol a second factor first (POST /api/session/totp)');
    }
    await next();
  };
}

/** The widget id of a saved widget's page, `/embed/{id}` (routes/embed-page.ts). */
export function widgetInPath(path: string): string | null {
  const id = /^\/embed\/([^/]+)$/.exec(path)?.[1];
  return id !== undefined && WIDGET_ID.test(id) ? id : null;
}

/** Audit 401 and 403 answers (refused actions), at most once per actor, answer and path every 10 s. */
export function deniedAuditor(run: QueryRunner, log: Logger) {
  const recent = new Map<string, number>();
  return async (ctx: Context, err: HttpError) => {
    if (err.status !== 401 && err.status !== 403) return;
    if (['session_expired', 'invalid_session'].includes(err.code) || ctx.path === '/api/session') return; // audited where they arise
    const p: Principal = ctx.state.principal ?? anonymous;
    const k = `${p.userId ?? p.keyId ?? ctx.ip}|${err.code}|${ctx.method} ${ctx.path}`;
    const now = Date.now();
    if ((recent.get(k) ?? 0) > now - 10_000) return;
    recent.set(k, now);
    if (recent.size > 10_000) recent.clear();
    try {
      await audit(run, actorOf(p, ctx.ip), {
        action: 'access.denied',
        outcome: 'failure',
        target: `${ctx.method} ${ctx.path.slice(0, 200)}`,
        details: { status: err.status, error: err.code },
      });
    } catch (e) {
      log.error({ err: e }, 'could not audit a refused request');
    }
  };
}
