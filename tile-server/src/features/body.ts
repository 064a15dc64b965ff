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
  const tooBig = () => new HttpError(413, 'body_too_large', `the body is larger than ${maxBytes} bytes`);
  const declared = Number(ctx.get('Content-Length') || NaN);
  if (declared > maxBytes) throw tooBig();

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      // Stop reading; the connection is closed after the answer so the rest is not read either.
      ctx.set('Connection', 'close');
      throw tooBig();
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw badRequest('invalid_json', 'the body is empty: send a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest('invalid_json', `the body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
}
