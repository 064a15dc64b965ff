import type { Context } from 'koa';
import { HttpError, badRequest } from '../errors.ts';

/**
 * Read a JSON request body of at most `maxBytes` (koa has no body parser here, on purpose: one endpoint takes a
 * body). A declared or actual size above the limit is 413 before anything is parsed; another content type is
 * 415; text that is not JSON is 400.
 */
export async function readJsonBody(ctx: Context, maxBytes: number): Promise<unknown> {
  const type = ctx.request.type;
  if (type !== 'application/json' && type !== 'application/geo+json')
    throw new HttpError(415, 'unsupported_media_type', `send the body as application/json, not ${type || 'no content type'}`);
  const text = (await readLimited(ctx, maxBytes)).toString('utf8');
  if (text.trim() === '') throw badRequest('invalid_json', 'the body is empty: send a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest('invalid_json', `the body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
}

/**
 * The body's bytes, refusing more than `max`. On refusal the rest is left unread and the connection is closed
 * after the answer (reading on would cost what the limit is there to save; destroying the request would lose
 * the answer).
 */
function readLimited(ctx: Context, max: number): Promise<Buffer> {
  const tooBig = () => {
    ctx.set('Connection', 'close');
    return new HttpError(413, 'body_too_large', `the body is larger than ${max} bytes`);
  };
  if (Number(ctx.get('Content-Length') || 0) > max) return Promise.reject(tooBig());
  const req = ctx.req;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err: Error | null) => {
      req.off('data', onData).off('end', onEnd).off('error', done);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else {
        req.pause();
        done(tooBig());
      }
    };
    const onEnd = () => done(null);
    req.on('data', onData).on('end', onEnd).on('error', done);
  });
}
