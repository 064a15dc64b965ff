import busboy from 'busboy';
import type { Context } from 'koa';
import { readJsonBody } from '../features/body.ts';
import { badRequest, HttpError } from '../errors.ts';
import { processPhoto, tooLargePhoto, type ProcessedPhoto } from './photos.ts';

/** Form fields that are numbers in the JSON form of a request. */
const NUMERIC = new Set(['lon', 'lat', 'amount', 'version']);
export const MAX_PHOTOS = 9;

/**
 * A case request body: JSON, or multipart/form-data with the same members as fields and up to MAX_PHOTOS photo
 * parts (any part name), each at most PHOTO_MAX_MB. Photos are checked and converted (photos.ts) before
 * anything is written, so a bad photo refuses the whole request and nothing is half-stored.
 */
export async function readCaseRequest(ctx: Context, photoMaxMB: number): Promise<{ body: Record<string, unknown>; photos: ProcessedPhoto[] }> {
  if (!ctx.is('multipart/form-data')) {
    const body = await readJsonBody(ctx, 256 * 1024);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('invalid_json', 'the body must be a JSON object');
    return { body: body as Record<string, unknown>, photos: [] };
  }
  const { fields, files } = await readMultipart(ctx, photoMaxMB);
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) body[k] = NUMERIC.has(k) && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  const photos: ProcessedPhoto[] = [];
  for (const f of files) photos.push(await processPhoto(f.data, f.name, photoMaxMB));
  return { body, photos };
}

interface Part {
  name: string;
  data: Buffer;
}

export async function readMultipart(ctx: Context, photoMaxMB: number): Promise<{ fields: Record<string, string>; files: Part[] }> {
  const limit = Math.floor(photoMaxMB * 2 ** 20);
  if (Number(ctx.get('Content-Length') || 0) > (limit + 2 ** 20) * MAX_PHOTOS) {
    ctx.set('Connection', 'close');
    throw tooLargePhoto(photoMaxMB);
  }
  const fields: Record<string, string> = {};
  const files: Part[] = [];
  let problem: HttpError | null = null;
  await new Promise<void>((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: ctx.req.headers, limits: { fileSize: limit, files: MAX_PHOTOS, fields: 40, fieldSize: 8192 } });
    } catch (err) {
      return reject(badRequest('invalid_request', `not a valid multipart request: ${(err as Error).message}`));
    }
    bb.on('field', (name, value) => {
      if (Object.hasOwn(fields, name)) problem ??= badRequest('invalid_request', `field ${name} is given twice`);
      fields[name] = value;
    });
    bb.on('file', (_field, stream, info) => {
      const chunks: Buffer[] = [];
      const name = (info.filename || 'photo').replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(-80);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => {
        problem ??= tooLargePhoto(photoMaxMB);
      });
      stream.on('end', () => {
        if (!problem) files.push({ name, data: Buffer.concat(chunks) });
      });
    });
    bb.on('filesLimit', () => {
      problem ??= badRequest('too_many_photos', `at most ${MAX_PHOTOS} photos per request`);
    });
    bb.on('error', (err: Error) => reject(badRequest('invalid_request', `the multipart body is malformed: ${err.message}`)));
    bb.on('close', () => resolve());
    ctx.req.pipe(bb);
  });
  if (problem) throw problem;
  return { fields, files };
}
