import { Worker } from 'node:worker_threads';
import { ImportError } from './errors.ts';
import type { ImportOptions, ImportProgress } from './options.ts';
import type { WorkerInput, WorkerMessage } from './worker.ts';

/** An error thrown inside the import thread that is not the file's fault: its stack, for the server log. */
export class ImportThreadError extends Error {}

/**
 * Run one import in its own thread (import/worker.ts) and settle with its summary. Its heap is capped
 * (`heapMb`): a file that needs more fails the job with a plain message instead of taking the server's memory.
 */
export function importInWorker<S>(
  input: WorkerInput,
  opts: { onProgress?: ((p: ImportProgress) => void) | undefined; signal?: AbortSignal | undefined; heapMb: number },
): Promise<S> {
  return new Promise<S>((resolve, reject) => {
    const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
      workerData: input satisfies WorkerInput,
      resourceLimits: { maxOldGenerationSizeMb: opts.heapMb },
      stdout: false,
      stderr: false,
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => worker.postMessage({ type: 'abort' });
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') opts.onProgress?.(m.progress as ImportProgress);
      else if (m.type === 'done') settle(() => resolve(m.summary as S));
      else
        settle(() =>
          reject(
            m.error.code !== null
              ? new ImportError(m.error.message, m.error.code)
              : Object.assign(new ImportThreadError(m.error.message), { stack: m.error.stack }),
          ),
        );
    });
    worker.on('error', (err: Error & { code?: string }) =>
      settle(() =>
        reject(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new ImportError(`the file needs more memory than an import may use (${opts.heapMb} MB): split it, or raise IMPORT_HEAP_MB`, 'too_large')
            : err,
        ),
      ),
    );
    worker.on('exit', (code) => settle(() => reject(new ImportThreadError(`the import thread stopped (exit code ${code}) before it finished`))));
  });
}

export type { ImportOptions };
