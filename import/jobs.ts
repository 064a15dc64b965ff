import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { Logger } from 'pino';
import { ImportError } from './errors.ts';
import { importFile, importVehicleFile, type ImportSummary, type VehicleSummary } from './index.ts';
import type { ImportOptions, ImportProgress } from './options.ts';
import { importInWorker } from './worker-client.ts';
import { isDatabaseUnavailable } from '../tile-server/src/errors.ts';

/**
 * Import jobs of the HTTP API, run inside the server process: persisted in citybase.import_jobs (status,
 * progress, summary, the first rejected rows), one at a time per layer or vehicle (a chain of promises per
 * target; the import's advisory lock also keeps out a CLI import of the same layer) and at most two at a time
 * in all. A job belongs to the server instance that accepted it (its `instance_id`); any instance may report its
 * progress, read from the table. A job whose instance died was rolled back with its connection: the next
 * instance to start, or any live one renewing its lease (instances/lease.ts), marks it failed.
 */
export interface JobRequest {
  department: string;
  keyId: number | null;
  /** The uploaded file, in a directory of its own that is removed when the job ends. */
  path: string;
  dir: string;
  fileName: string;
  options: Omit<ImportOptions, 'file' | 'fileName' | 'owner' | 'layersDir'>;
}

export interface JobView {
  id: number;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  target: string;
  file: string;
  options: Record<string, unknown>;
  progress: ImportProgress | null;
  summary: Record<string, unknown> | null;
  error: string | null;
  rejected: Array<{ row: number; reason: string }>;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const KEEP_REJECTED = 1000;
/** Imports running at once in one server: each holds a pooled connection for its whole transaction, and tiles need the rest. */
const CONCURRENT = 2;

export class ImportJobs {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly running = new Set<AbortController>();
  private readonly waiting: Array<() => void> = [];
  private slots = CONCURRENT;
  private closed = false;

  constructor(
    private readonly deps: {
      pool: pg.Pool;
      log: Logger;
      layersDir: string;
      timezone: string;
      maxSpeedKmh: number;
      /** Most a .zip upload may unpack to (a multiple of IMPORT_MAX_MB). */
      maxUnzippedMB?: number;
      /** After a successful import, before the job reads as succeeded: e.g. the registry re-reads definitions. */
      afterImport?: () => Promise<void>;
      /** A job failed: `kind` is the ImportError code, or 'internal' (counted in /metrics). */
      onFailed?: (kind: string) => void;
      /** Run each import in a worker thread with its own connections (the server does; tests of the job queue may not). */
      thread?: { databaseUrl: string; timeZone: string; heapMb: number };
      /** This server instance (instances/lease.ts): the owner recorded on its jobs. */
      instanceId?: string;
      /** How long an instance may go unseen before its jobs are failed (the lease's TTL). */
      instanceTtlMs?: number;
    },
  ) {}

  /**
   * Jobs a previous server process left queued or running were rolled back when it died; its upload
   * directories (named with its pid) are removed, those of live servers on this machine kept.
   */
  async recover(): Promise<void> {
    // A previous process that ran with the same INSTANCE_ID left these too.
    await this.failOrphans(true);
    const tmp = os.tmpdir();
    for (const name of await fs.promises.readdir(tmp).catch(() => [] as string[])) {
      const pid = Number(/^citybase-upload-(\d+)-/.exec(name)?.[1]);
      if (pid && pid !== process.pid && !processAlive(pid)) await fs.promises.rm(path.join(tmp, name), { recursive: true, force: true }).catch(() => {});
    }
  }

  /**
   * Fail the queued and running jobs no live instance owns: their server stopped (or was killed) before they
   * finished, and their transaction went with its connection. Jobs of other live instances are left alone.
   */
  async failOrphans(atStart = false): Promise<number> {
    const { rowCount } = await this.deps.pool.query(
      `UPDATE citybase.import_jobs j SET status = 'failed', finished_at = now(),
              error = 'the server stopped before this import finished; nothing was changed: submit it again'
       WHERE j.status IN ('queued', 'running')
         AND NOT EXISTS (SELECT 1 FROM citybase.instances i
                         WHERE i.id = j.instance_id AND i.seen_at >= now() - $2 * interval '1 millisecond'
                           AND (i.id <> $1 OR NOT $3))`,
      [this.deps.instanceId ?? '', this.deps.instanceTtlMs ?? 30_000, atStart],
    );
    return rowCount ?? 0;
  }

  async submit(req: JobRequest): Promise<number> {
    const target = req.options.vehicle ? `vehicle:${req.options.vehicle}` : String(req.options.layer);
    const { rows } = await this.deps.pool.query<{ id: string }>(
      `INSERT INTO citybase.import_jobs (department_id, key_id, target, file_name, options, instance_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [req.department, req.keyId, target, req.fileName, JSON.stringify(req.options), this.deps.instanceId ?? null],
    );
    const id = Number(rows[0]!.id);
    const previous = this.chains.get(target) ?? Promise.resolve();
    const next = previous.then(() => this.slot(() => this.run(id, req)));
    this.chains.set(target, next);
    void next.finally(() => {
      if (this.chains.get(target) === next) this.chains.delete(target);
    });
    return id;
  }

  async get(id: number, department: string): Promise<JobView | null> {
    const { rows } = await this.deps.pool.query<JobView & { department_id: string }>(
      `SELECT id::int, status, target, file_name AS file, options, progress, summary, error, coalesce(rejected, '[]') AS rejected,
              created_at, started_at, finished_at, department_id
       FROM citybase.import_jobs WHERE id = $1`,
      [id],
    );
    const job = rows[0];
    if (!job || job.department_id !== department) return null;
    const { department_id: _, ...view } = job;
    return view;
  }

  /** Stop taking jobs; running imports are cancelled (rolled back) and marked failed. */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.running) c.abort();
    await Promise.allSettled([...this.chains.values()]);
  }

  /** Run when one of the CONCURRENT slots is free. */
  private async slot(work: () => Promise<void>): Promise<void> {
    if (this.slots === 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.slots--;
    try {
      await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.slots++;
    }
  }

  private async run(id: number, req: JobRequest): Promise<void> {
    const { pool, log } = this.deps;
    const controller = new AbortController();
    this.running.add(controller);
    let lastWrite = 0;
    const onProgress = (p: ImportProgress) => {
      const now = Date.now();
      if (now - lastWrite < 1000 && p.phase === 'reading') return;
      lastWrite = now;
      pool.query(`UPDATE citybase.import_jobs SET progress = $2 WHERE id = $1`, [id, JSON.stringify(p)]).catch(() => {});
    };
    try {
      if (this.closed) throw new ImportError('the server is shutting down', 'cancelled');
      await pool.query(`UPDATE citybase.import_jobs SET status = 'running', started_at = now() WHERE id = $1`, [id]);
      const options: ImportOptions = {
        timezone: this.deps.timezone,
        maxSpeedKmh: this.deps.maxSpeedKmh,
        ...(this.deps.maxUnzippedMB ? { maxUnzippedMB: this.deps.maxUnzippedMB } : {}),
        ...req.options,
        file: req.path,
        fileName: req.fileName,
        owner: req.department,
        layersDir: this.deps.layersDir,
      };
      const run = { onProgress, signal: controller.signal };
      // In a thread of its own when the server says how to reach the database: parsing a hostile or huge file
      // must not stall the event loop every request shares (issue 16 §2).
      const thread = this.deps.thread;
      const summary: ImportSummary | VehicleSummary = thread
        ? await importInWorker({ databaseUrl: thread.databaseUrl, timeZone: thread.timeZone, options }, { ...run, heapMb: thread.heapMb })
        : options.vehicle
          ? await importVehicleFile({ ...options, ...run, pool })
          : await importFile({ ...options, ...run, pool });
      await this.deps.afterImport?.().catch((err: Error) => log.warn({ err: err.message }, 'refresh after import failed'));
      const { rejected_rows: rejected, ...rest } = summary;
      // The data is committed: the job must end up saying so, even if the database blinks right now.
      await this.record(id, `UPDATE citybase.import_jobs SET status = 'succeeded', finished_at = now(), summary = $2, rejected = $3 WHERE id = $1`, [
        JSON.stringify(rest),
        JSON.stringify(rejected.slice(0, KEEP_REJECTED)),
      ]);
      log.info({ job: id, target: 'layer' in rest ? rest.layer : rest.vehicle, imported: rest.imported, rejected: rest.rejected }, 'import job succeeded');
    } catch (err) {
      const message =
        err instanceof ImportError
          ? err.message
          : isDatabaseUnavailable(err)
            ? 'the database could not be reached during the import; nothing was changed: submit it again'
            : 'the import failed because of an internal error (see the server log); nothing was changed';
      // Every failure is logged with its reason and counted; an internal one with its stack.
      if (!(err instanceof ImportError)) log.error({ err, job: id }, 'import job failed');
      else log.warn({ job: id, department: req.department, file: req.fileName, kind: err.code, reason: err.message }, 'import job failed');
      this.deps.onFailed?.(err instanceof ImportError ? err.code : 'internal');
      await this.record(id, `UPDATE citybase.import_jobs SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1`, [message]);
    } finally {
      this.running.delete(controller);
      await fs.promises.rm(req.dir, { recursive: true, force: true });
    }
  }

  /**
   * Write a job's outcome, retrying while the database is unreachable (up to about ten minutes, or until the
   * server stops): an outcome that is not written leaves the job reading "running" for as long as this instance
   * lives, since only a dead instance's jobs are failed by the others.
   */
  private async record(id: number, text: string, values: unknown[]): Promise<void> {
    for (let attempt = 0, waitMs = 250; ; attempt++, waitMs = Math.min(waitMs * 2, 10_000)) {
      try {
        await this.deps.pool.query(text, [id, ...values]);
        return;
      } catch (err) {
        if (attempt >= 60 || this.closed) {
          this.deps.log.error({ err: (err as Error).message, job: id }, 'cannot record the import job’s outcome');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
