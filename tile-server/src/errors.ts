import { QueryCancelledError } from './db/query.ts';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { ErrorLogLimiter, errorKind } from './log-limiter.ts';

/**
 * The one error type that crosses the HTTP boundary: status + machine code + message.
 * 4xx messages go to the client as they are; 5xx details go only to the log, unless the 5xx was written for
 * the client (`exposed`: e.g. 507 "no space left for the upload", which tells the caller what to do).
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** More members of the JSON answer (e.g. a 409's current state); never secrets. */
    readonly extra?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }

  /** A 5xx whose message is meant for the client (nothing internal in it). */
  exposed = false;
  expose(): this {
    this.exposed = true;
    return this;
  }
}

export const badRequest = (code: string, message: string) => new HttpError(400, code, message);
export const notFound = (code: string, message: string) => new HttpError(404, code, message);

/**
 * Errors that mean "the database cannot be reached right now" (connection refused or lost, server shutting
 * down, pool connect timeout): answered 503 so clients and proxies retry, like /health says.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string' && (/^08/.test(e.code) || /^57P0[1-3]$/.test(e.code) || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(e.code)))
    return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(e?.message ?? '');
}

/**
 * Database errors that are the request's fault or a load condition, not a server fault: the answer the client
 * should get instead of a 500. PostgreSQL and PostGIS judge some inputs only while running (a geometry edge
 * between antipodal points has no defined path on the sphere; a LIKE pattern compared with a property), and a
 * statement that exceeds STATEMENT_TIMEOUT_MS is the same 503 for every endpoint.
 */
export function clientErrorOf(err: unknown): HttpError | null {
  const e = err as { code?: string; message?: string };
  if (typeof e?.message !== 'string') return null;
  if (e.code === '57014' && /statement timeout/.test(e.message))
    return new HttpError(503, 'query_timeout', 'the query took longer than the server allows (STATEMENT_TIMEOUT_MS): narrow it (a smaller area, fewer layers, a filter)').expose();
  if (/Antipodal \(180 degrees long\) edge detected/.test(e.message))
    return badRequest('invalid_geometry', 'a geometry has an edge between antipodal points (180° apart), whose path on the sphere is undefined: add a vertex in between or use a smaller area');
  if (e.code === '22025') return badRequest('invalid_filter', `invalid LIKE pattern: ${e.message} (write \\\\ for a backslash)`);
  return null;
}

/** Koa middleware: the single error boundary. Every error becomes `{ error, message }` JSON. */
export function errorBoundary(log: Logger, onRefused?: (ctx: Context, err: HttpError) => Promise<void>, limiter = new ErrorLogLimiter(log)) {
  return async function errorBoundaryMiddleware(ctx: Context, next: Next) {
    try {
      await next();
    } catch (thrown) {
      const err = clientErrorOf(thrown) ?? thrown;
      // The client left and its query was cancelled: nobody reads an answer, and the server did nothing wrong.
      // 499 (nginx's "client closed request") for the access log and metrics; not an error in the log.
      if (err instanceof QueryCancelledError || (err as Error)?.name === 'QueryCancelledError') {
        if (log.isLevelEnabled('debug')) log.debug({ method: ctx.method, url: ctx.url }, 'client went away; its query was cancelled');
        ctx.status = 499;
        ctx.body = { error: 'client_closed_request', message: 'the client went away before the answer was ready' };
        return;
      }
      if (err instanceof HttpError && err.status < 500) {
        // 401 and 403 are refused attempts: audited (access/auth). A throttle says when to come back.
        if (onRefused) await onRefused(ctx, err);
        const retryAfter = (err as { retryAfterS?: number }).retryAfterS;
        if (retryAfter !== undefined) ctx.set('Retry-After', String(retryAfter));
        ctx.status = err.status;
        ctx.body = { error: err.code, message: err.message, ...err.extra };
        return;
      }
      const unavailable = !(err instanceof HttpError) && isDatabaseUnavailable(err);
      const status = err instanceof HttpError ? err.status : unavailable ? 503 : 500;
      const code = err instanceof HttpError ? err.code : unavailable ? 'database_unavailable' : 'internal_error';
      limiter.error(errorKind(err, status), { err, method: ctx.method, url: ctx.url }, 'request failed');
      ctx.status = status;
      ctx.body = {
        error: code,
        message: err instanceof HttpError && err.exposed ? err.message : status === 503 ? 'service temporarily unavailable' : 'internal server error',
      };
    }
  };
}
