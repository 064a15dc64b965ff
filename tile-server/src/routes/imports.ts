import { hasRight } from '../access/access.ts';
import { actorOf, audit } from '../auth/audit.ts';
import type { QueryRunner } from '../db/query.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type Router from '@koa/router';
import busboy from 'busboy';
import type { Context } from 'koa';
import type { ImportJobs } from '../../../import/jobs.ts';
import { ImportError } from '../../../import/errors.ts';
import { importOptionsSchema } from '../../../import/options.ts';
import { checkImportOptions } from '../../../import/validate.ts';
import type { Queryable } from '../../../import/db.ts';
import type { AppState } from '../app.ts';
import { HttpError, badRequest, notFound } from '../errors.ts';

/**
 * POST /api/imports: a multipart upload (one file part, plus the CLI's options as fields) by a department key
 * with the `import` right → 202 and a job id. GET /api/imports/{id}: the job's status, progress, summary and
 * rejected rows, for the department that submitted it. The upload is streamed to a temporary file; beyond
 * IMPORT_MAX_MB the request is answered 413 and nothing is kept.
 */
/** Upload directories are named <prefix><pid>-<random> in the OS temp directory. */
export const UPLOAD_PREFIX = 'citybase-upload-';

const FIELDS = ['layer', 'title', 'theme', 'mode', 'srs', 'encoding', 'sublayer', 'lon', 'lat', 'geometry', 'vehicle', 'timezone', 'maxRejected'] as const;

export function importRoutes(router: Router<AppState>, jobs: ImportJobs, maxMB: number, sql: Queryable, run: QueryRunner): void {
  router.post('/api/imports', async (ctx) => {
    ctx.state.route = 'imports';
    const principal = ctx.state.principal;
    if (!principal.department)
      throw new HttpError(401, 'unauthorized', 'importing needs an API key with the import right (Authorization: Bearer <key>)');
    if (!hasRight(principal, 'layer:import'))
      throw new HttpError(403, 'forbidden', `this key may not import: create one with npm run key -- create --department ${principal.department} --rights layer:read,layer:import`);
    if (!ctx.is('multipart/form-data')) throw badRequest('invalid_request', 'send the file as multipart/form-data (a "file" part, options as fields)');
    const limit = Math.floor(maxMB * 2 ** 20);
    const declared = Number(ctx.get('Content-Length') || 0);
    if (declared > maxUploadBytes(maxMB)) {
      ctx.set('Connection', 'close');
      throw tooLarge(maxMB);
    }
    const upload = await receive(ctx, limit, maxMB);
    try {
      const options = parseOptions(upload.fields);
      // Every option is checked before the upload is accepted: a bad srs is a 400 now, not a failed job later.
      await checkImportOptions({ ...options, file: upload.path }, sql).catch((err: unknown) => {
        throw err instanceof ImportError ? badRequest('invalid_request', err.message) : err;
      });
      const id = await jobs.submit({
        department: principal.department,
        keyId: principal.keyId,
        path: upload.path,
        dir: upload.dir,
        fileName: upload.fileName,
        options,
      });
      await audit(run, actorOf(principal, ctx.ip), {
        action: 'import.submit',
        outcome: 'success',
        target: String(options.layer ?? options.vehicle ?? upload.fileName),
        details: { job: id, file: upload.fileName, options },
      });
      ctx.status = 202;
      ctx.set('Location', `/api/imports/${id}`);
      ctx.body = { id, status: 'queued', url: `/api/imports/${id}` };
    } catch (err) {
      await fs.promises.rm(upload.dir, { recursive: true, force: true });
      throw err;
    }
  });

  router.get('/api/imports/:id', async (ctx) => {
    ctx.state.route = 'imports';
    const principal = ctx.state.principal;
    if (!principal.department) throw new HttpError(401, 'unauthorized', 'an API key is needed to read import jobs');
    if (!/^\d{1,15}$/.test(ctx.params.id!)) throw badRequest('invalid_request', 'job ids are whole numbers');
    const job = await jobs.get(Number(ctx.params.id), principal.department);
    if (!job) throw notFound('not_found', `no import job ${ctx.params.id}`);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = job;
  });
}

/** The largest request an upload may declare: the file plus room for the multipart envelope and fields. */
export function maxUploadBytes(maxMB: number): number {
  return Math.floor(maxMB * 2 ** 20) * 2 + 2 ** 20;
}

function tooLarge(maxMB: number): HttpError {
  return new HttpError(413, 'payload_too_large', `the upload is larger than ${maxMB} MB (IMPORT_MAX_MB)`);
}

interface Upload {
  dir: string;
  path: string;
  fileName: string;
  fields: Record<string, string>;
}

/** Stream the one file part to disk; the request is read to its end in every case, so the answer reaches the client. */
async function receive(ctx: Context, limit: number, maxMB: number): Promise<Upload> {
  // The pid in the name lets the next start remove what a crashed server left (ImportJobs.recover).
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), `${UPLOAD_PREFIX}${process.pid}-`));
  const outputs: fs.WriteStream[] = [];
  const fields: Record<string, string> = {};
  let file: { path: string; fileName: string } | null = null;
  let problem: HttpError | null = null;
  const writes: Array<Promise<void>> = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let bb: busboy.Busboy;
      try {
        bb = busboy({ headers: ctx.req.headers, limits: { fileSize: limit, files: 1, fields: 30, fieldSize: 4096 } });
      } catch (err) {
        return reject(badRequest('invalid_request', `not a valid multipart request: ${(err as Error).message}`));
      }
      bb.on('field', (name, value) => {
        // PostgreSQL text cannot hold NUL: refused here with the field's name rather than failing the job insert.
        if (/\u0000/.test(name) || /\u0000/.test(value)) problem ??= badRequest('invalid_request', `the field "${name.replace(/\u0000/g, '')}" contains a NUL character`);
        else fields[name] = value;
      });
      bb.on('file', (_name, stream, info) => {
        if (file || problem) return stream.resume();
        // Only the base name is kept, with unsafe characters replaced: it names the dataset, never a path.
        const base = path.basename(info.filename || 'upload').replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(-120) || 'upload';
        const target = path.join(dir, base);
        file = { path: target, fileName: base };
        stream.on('limit', () => {
          problem ??= tooLarge(maxMB);
        });
        const out = fs.createWriteStream(target, { flags: 'wx' });
        outputs.push(out);
        // Handled at once: a write that fails (a full disk) while the body is still arriving must become this
        // request's answer, not an unhandled rejection that takes the whole server down.
        writes.push(
          pipeline(stream, out).catch((err: NodeJS.ErrnoException) => {
            // Stop parsing (busboy would wait on the broken file stream for ever); the rest of the body is drained below.
            const failed = storageProblem(err);
            problem ??= failed;
            ctx.req.unpipe(bb);
            bb.destroy();
            reject(failed);
          }),
        );
      });
      bb.on('filesLimit', () => {
        problem ??= badRequest('invalid_request', 'send one file per import');
      });
      bb.on('error', (err: Error) => reject(badRequest('invalid_request', `the multipart body is malformed: ${err.message}`)));
      bb.on('close', () => resolve());
      // A client that leaves mid-upload: busboy would wait for the rest forever, holding the file open.
      ctx.req.once('close', () => {
        if (ctx.req.complete) return;
        const err = badRequest('upload_aborted', 'the client closed the connection before the upload ended');
        for (const out of outputs) out.destroy(err);
        bb.destroy(err);
        reject(err);
      });
      ctx.req.pipe(bb);
    });
    await Promise.all(writes);
    if (problem) throw problem;
    if (!file) throw badRequest('invalid_request', 'no file part in the upload');
    const f = file as { path: string; fileName: string };
    if ((await fs.promises.stat(f.path)).size === 0) throw badRequest('invalid_request', `${f.fileName} is empty (0 bytes)`);
    return { dir, path: f.path, fileName: f.fileName, fields };
  } catch (err) {
    ctx.req.resume();
    for (const out of outputs) out.destroy();
    await Promise.allSettled(writes);
    await fs.promises.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A failed write of an upload: out of space is the server's (507), said plainly; anything else is a 500. */
function storageProblem(err: NodeJS.ErrnoException): HttpError {
  if (err.code === 'ENOSPC' || err.code === 'EDQUOT' || err.code === 'EFBIG')
    return new HttpError(507, 'insufficient_storage', 'no space left for the upload on the server: try again later, and tell the platform’s operators').expose();
  if (err instanceof HttpError) return err;
  return Object.assign(new HttpError(500, 'internal', 'the upload could not be stored'), { cause: err });
}

function parseOptions(fields: Record<string, string>): Parameters<ImportJobs['submit']>[0]['options'] {
  const unknown = Object.keys(fields).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length) throw badRequest('invalid_request', `unknown fields: ${unknown.join(', ')} (accepted: ${FIELDS.join(', ')})`);
  if (!fields.layer && !fields.vehicle) throw badRequest('invalid_request', 'give a layer (the layer id) or a vehicle (the vehicle id)');
  if (fields.layer && fields.vehicle) throw badRequest('invalid_request', 'give either a layer or a vehicle, not both');
  const raw: Record<string, unknown> = { ...fields, file: 'upload' };
  if (fields.maxRejected !== undefined) raw.maxRejected = Number(fields.maxRejected);
  const parsed = importOptionsSchema.safeParse(raw);
  if (!parsed.success) throw badRequest('invalid_request', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const { file: _file, ...options } = raw;
  return options as Parameters<ImportJobs['submit']>[0]['options'];
}
