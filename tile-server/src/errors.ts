import type { Context, Next } from 'koa';
import type { Logger } from 'pino';

/**
 * The one error type that crosses the HTTP boundary: status + machine code + message.
 * 4xx messages go to the client as they are; 5xx details go only to the log.
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

/** Koa middleware: the single error boundary. Every error becomes `{ error, message }` JSON. */
export function errorBoundary(log: Logger) {
  return async function errorBoundaryMiddleware(ctx: Context, next: Next) {
    try {
      await next();
    } catch (err) {
      if (err instanceof HttpError && err.status < 500) {
        ctx.status = err.status;
        ctx.body = { error: err.code, message: err.message, ...err.extra };
        return;
      }
      const unavailable = !(err instanceof HttpError) && isDatabaseUnavailable(err);
      const status = err instanceof HttpError ? err.status : unavailable ? 503 : 500;
      const code = err instanceof HttpError ? err.code : unavailable ? 'database_unavailable' : 'internal_error';
      log.error({ err, method: ctx.method, url: ctx.url }, 'request failed');
      ctx.status = status;
      ctx.body = {
        error: code,
        message: status === 503 ? 'service temporarily unavailable' : 'internal server error',
      };
    }
  };
}
