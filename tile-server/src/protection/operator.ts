import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { hasRight, type Principal } from '../access/access.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Koa middleware before the principal is resolved: `Authorization: Bearer <METRICS_TOKEN>` marks the request as
 * the monitoring system's (ctx.state.operator) and is taken off the request, so it is not mistaken for an API key.
 */
export function operatorToken(token: string | undefined) {
  const expected = token ? digest(`Bearer ${token}`) : null;
  return async function operatorTokenMiddleware(ctx: Context, next: Next) {
    const given = ctx.get('Authorization');
    ctx.state.operator = false;
    // Hashes of equal length, compared in constant time: the token cannot be guessed a character at a time.
    if (expected && given && timingSafeEqual(digest(given), expected)) {
      ctx.state.operator = true;
      delete ctx.req.headers.authorization;
    }
    await next();
  };
}

/** May this request read operational details (/metrics, /health beyond its status)? */
export function mayReadSystem(state: { principal: Principal; operator?: boolean }): boolean {
  return state.operator === true || hasRight(state.principal, 'system:read');
}
