/**
 * An import job's thread (worker_threads): the whole import — unzip, decode, parse, transform, COPY — runs here,
 * off the server's event loop, so no file can stall tiles or /health however slow it is to read. It has its own
 * small pool; the server hears progress and the outcome as messages and cancels by message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { survivesSocketErrors } from '../tile-server/src/db/pool.ts';
import { ImportError } from './errors.ts';
import { importFile, importVehicleFile } from './index.ts';
import type { ImportOptions } from './options.ts';

export interface WorkerInput {
  databaseUrl: string;
  timeZone: string;
  options: ImportOptions;
}

export type WorkerMessage =
  | { type: 'progress'; progress: unknown }
  | { type: 'done'; summary: unknown }
  | { type: 'failed'; error: { message: string; code: string | null; stack?: string | undefined } };

const input = workerData as WorkerInput;
const port = parentPort!;
const controller = new AbortController();
port.on('message', (m: { type: string }) => {
  if (m.type === 'abort') controller.abort();
});

const pool = new pg.Pool({
  connectionString: input.databaseUrl,
  max: 2,
  application_name: 'citybase-import',
  options: `-c TimeZone=${input.timeZone}`,
});
pool.on('error', () => {}); // an idle connection lost: the import's own query reports it
survivesSocketErrors(pool);

try {
  const run = {
    ...input.options,
    pool,
    signal: controller.signal,
    onProgress: (progress: unknown) => port.postMessage({ type: 'progress', progress } satisfies WorkerMessage),
  };
  const summary = input.options.vehicle ? await importVehicleFile(run) : await importFile(run);
  port.postMessage({ type: 'done', summary } satisfies WorkerMessage);
} catch (err) {
  const e = err as Error;
  port.postMessage({
    type: 'failed',
    error: { message: e.message, code: err instanceof ImportError ? err.code : null, stack: err instanceof ImportError ? undefined : e.stack },
  } satisfies WorkerMessage);
} finally {
  await pool.end().catch(() => {});
  port.close();
}
