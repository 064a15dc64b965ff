import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AppState } from '../app.ts';
import { HttpError, badRequest } from '../errors.ts';
import { readJsonBody } from '../features/body.ts';
import { actorOf, audit } from '../auth/audit.ts';
import { describePrincipal, type Identity } from '../auth/identity.ts';
import { checkSameOrigin, setSessionCookie } from '../auth/middleware.ts';
import { signIn } from '../auth/sign-in.ts';
import type { SessionPrincipal } from '../auth/sessions.ts';
import { newTotpSecret, otpauthUri, verifyTotp } from '../auth/totp.ts';

const MAX_BODY = 16 * 1024;

/**
 * Sign-in and the session: POST /api/session (sign in), GET (who am I), DELETE (sign out), POST
 * /api/session/password (change it; the only thing a session with a one-time password may do), POST
 * /api/session/totp and /api/session/totp/confirm (enrol a second factor).
 */
export function sessionRoutes(router: Router<AppState>, id: Identity): void {
  const session = (ctx: Context): SessionPrincipal => {
    const p = ctx.state.principal;
    if (p.kind !== 'user') throw new HttpError(401, 'unauthenticated', 'sign in first (POST /api/session)');
    return p as SessionPrincipal;
  };
  const answer = (ctx: Context, p: SessionPrincipal | AppState['principal']) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = describePrincipal(p, id.idleMs);
  };

  router.get('/api/session', (ctx) => {
    ctx.state.route = 'session';
    answer(ctx, ctx.state.principal);
  });

  router.post('/api/session', async (ctx) => {
    ctx.state.route = 'session';
    // Login CSRF: a page elsewhere must not sign the browser in as someone else.
    checkSameOrigin(ctx, id.publicUrl);
    const body = await readJsonBody(ctx, MAX_BODY);
    const { token, principal } = await signIn({ run: id.run, users: id.users, sessions: id.sessions, settings: id.signIn }, body, ctx.ip, ctx.get('User-Agent'));
    setSessionCookie(ctx, token, id.publicUrl);
    if (principal.pending) {
      ctx.status = 403;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = {
        error: principal.pending,
        message:
          principal.pending === 'password_change_required'
            ? 'the password must be changed before anything else: POST /api/session/password { password, newPassword }'
            : 'this role needs a second factor: POST /api/session/totp, then /api/session/totp/confirm { code }',
        session: describePrincipal(principal, id.idleMs),
      };
      return;
    }
    answer(ctx, principal);
  });

  router.delete('/api/session', async (ctx) => {
    ctx.state.route = 'session';
    const p = ctx.state.principal;
    if (p.kind === 'user' && p.sessionId) {
      if (await id.sessions.end(p.sessionId, 'signed out'))
        await audit(id.run, actorOf(p, ctx.ip), { action: 'session.sign_out', outcome: 'success', target: p.login ?? '' });
    }
    setSessionCookie(ctx, null, id.publicUrl);
    ctx.status = 204;
  });

  router.post('/api/session/password', async (ctx) => {
    ctx.state.route = 'session';
    const p = session(ctx);
    const body = (await readJsonBody(ctx, MAX_BODY)) as Record<string, unknown>;
    const user = (await id.users.byId(p.userId!))!;
    try {
      await id.users.changePassword(user, body?.password, body?.newPassword);
    } catch (err) {
      await audit(id.run, actorOf(p, ctx.ip), {
        action: 'user.password_change',
        outcome: 'failure',
        target: user.login,
        details: { reason: err instanceof HttpError ? err.code : 'error' },
      });
      throw err;
    }
    await audit(id.run, actorOf(p, ctx.ip), { action: 'user.password_change', outcome: 'success', target: user.login });
    id.sessions.refresh();
    const resolved = await id.sessions.resolve(ctx.cookies.get('cb_session') ?? '');
    answer(ctx, 'principal' in resolved ? resolved.principal : p);
  });

  // TOTP enrolment: a secret is proposed, and kept only once a code made from it is confirmed.
  router.post('/api/session/totp', async (ctx) => {
    ctx.state.route = 'session';
    const p = session(ctx);
    const secret = newTotpSecret();
    await id.run.query(`UPDATE citybase.users SET totp_secret = $2 WHERE id = $1 AND NOT totp_enabled`, [p.userId, secret]);
    const user = (await id.users.byId(p.userId!))!;
    if (user.totp_enabled) throw new HttpError(409, 'totp_enrolled', 'a second factor is already enrolled; an administrator can reset it');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { secret, uri: otpauthUri(secret, user.login) };
  });

  router.post('/api/session/totp/confirm', async (ctx) => {
    ctx.state.route = 'session';
    const p = session(ctx);
    const body = (await readJsonBody(ctx, MAX_BODY)) as Record<string, unknown>;
    const user = (await id.users.byId(p.userId!))!;
    if (user.totp_enabled) throw new HttpError(409, 'totp_enrolled', 'a second factor is already enrolled');
    if (!user.totp_secret) throw badRequest('totp_not_started', 'ask for a secret first: POST /api/session/totp');
    const ok = verifyTotp(user.totp_secret, body?.code);
    await audit(id.run, actorOf(p, ctx.ip), { action: 'user.totp_enrol', outcome: ok ? 'success' : 'failure', target: user.login });
    if (!ok) throw badRequest('invalid_totp', 'the code does not match the secret: check the device’s clock');
    await id.run.query(`UPDATE citybase.users SET totp_enabled = true, updated_at = now() WHERE id = $1`, [user.id]);
    id.sessions.refresh();
    const resolved = await id.sessions.resolve(ctx.cookies.get('cb_session') ?? '');
    answer(ctx, 'principal' in resolved ? resolved.principal : p);
  });
}
