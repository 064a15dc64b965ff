import type { Context, Next } from 'koa';

/** Headers a reverse proxy sets to say what the client asked for; anyone else could forge them. */
const FORWARDED = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-prefix', 'forwarded'];

/**
 * Koa middleware, first in the chain: X-Forwarded-* headers count only when the connection comes from a proxy
 * named in TRUST_PROXY; from anyone else they are removed before koa (ctx.ip, ctx.protocol, ctx.host) or a
 * route (TileJSON and style URLs, which carry `?key=`) reads them, so no client can point those URLs elsewhere.
 */
export function forwardedHeaders(trusted: readonly string[]) {
  const proxies = new Set(trusted);
  return async function forwardedHeadersMiddleware(ctx: Context, next: Next) {
    if (!proxies.has(ctx.req.socket.remoteAddress ?? '')) for (const h of FORWARDED) delete ctx.req.headers[h];
    await next();
  };
}
