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
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new HttpError(400, code, message);
export const notFound = (code: string, message: string) => new HttpError(404, code, message);

/** Koa middleware: the single error boundary. Every error becomes `{ error, message }` JSON. */
export function errorBoundary(log: Logger) {
  return async function errorBoundaryMiddleware(ctx: Context, next: Next) {
    try {
      await next();
    } catch (err) {
      if (err instanceof HttpError && err.status < 500) {
        ctx.status = err.status;
        ctx.body = { error: err.code, message: err.message };
        return;
      }
      const status = err instanceof HttpError ? err.status : 500;
      const code = err instanceof HttpError ? err.code : 'internal_error';
      log.error({ err, method: ctx.method, url: ctx.url }, 'request failed');
      ctx.status = status;
      ctx.body = {
        error: code,
        message: status === 503 ? 'service temporarily unavailable' : 'internal server error',
      };
    }
  };
}
