// What bench:tiles and bench:features share: settings, the cleanup registry, the database with the generated data.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedCluster } from '../tile-server/src/db/embedded.ts';
import { generateData, writeLayers } from './data.ts';
import { parentOf } from './load.ts';
import { requireStartFlags } from './server-child.ts';

/** From the environment: BENCH_ROUNDS, BENCH_SECONDS (timed per measurement), BENCH_WARMUP (first round only). */
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
export const CONCURRENCY = 8;
export const POINTS = 1_000_000;
export const POLYGONS = 40_000;

/** The middle value; of an even count, the mean of the two middle ones. */
export function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---- cleanup: everything started registers how to stop it; run in reverse on exit, error or signal ----
export const cleanups: Array<() => unknown> = [];
let finishing: Promise<never> | null = null;
let interrupted = false;

/** Idempotent: a later call (e.g. main failing because cleanup closed its pool) waits for the first one. */
export function finish(code: number): Promise<never> {
  finishing ??= (async () => {
    for (const undo of cleanups.reverse()) await Promise.resolve().then(undo).catch((e: Error) => console.error(`cleanup: ${e.message}`));
    process.exit(code);
  })();
  return finishing;
}

const interrupt = (code: number) => {
  interrupted = true;
  console.error('interrupted: cleaning up');
  void finish(code);
};
process.on('SIGINT', () => interrupt(130));
process.on('SIGTERM', () => interrupt(143));

/** Run a benchmark's main: exit 0 when done; on failure say so (not after an interrupt) and exit 1. */
export function runBenchmark(name: string, main: () => Promise<void>): void {
  main().then(
    () => finish(0),
    (err: unknown) => {
      if (!interrupted) console.error(`${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      return finish(1);
    },
  );
}

export interface BenchDatabase {
  /** A temporary directory, removed at the end (layer definitions, nginx files, the embedded cluster). */
  tmp: string;
  url: string;
  layersDir: string;
  /** The postmaster's pid when the database runs on this machine (its CPU is reported), else null. */
  postmaster: number | null;
}

/**
 * The database with the generated points and polygons (DATABASE_URL, else an embedded cluster in a temporary
 * directory) and their layer definitions. Checks first that this process has npm start's node flags.
 */
export async function benchDatabase(prefix: string): Promise<BenchDatabase> {
  requireStartFlags();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(tmp, 0o755); // as root, postgres and nginx's workers run as other users and must traverse it
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  let url = process.env.DATABASE_URL;
  if (!url) {
    console.log(`database: embedded cluster in ${tmp}/pg`);
    const cluster = await startEmbeddedCluster({
      dataDir: path.join(tmp, 'pg'),
      settings: { shared_buffers: '1GB', max_connections: '100', fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_wal_size: '4GB' },
    });
    cleanups.push(() => cluster.stop());
    url = cluster.url;
  } else console.log('database: DATABASE_URL (schema bench is dropped and recreated)');

  const info = new pg.Client({ connectionString: url });
  await info.connect();
  const { v, pid } = (
    await info.query<{ v: string; pid: number }>(`SELECT current_setting('server_version') || ' / PostGIS ' || postgis_lib_version() AS v, pg_backend_pid() AS pid`)
  ).rows[0]!;
  // While the backend still runs (it exits with the connection); a local server only: its parent is a postgres.
  const ppid = parentOf(pid);
  const postmaster = ppid && /postgres/.test(fs.readFileSync(`/proc/${ppid}/cmdline`, 'utf8')) ? ppid : null;
  await info.end();
  const nproc = os.availableParallelism();
  console.log(`machine: nproc ${nproc}, node ${process.version}, PostgreSQL ${v}`);
  console.log(`cpu: 100% = one core (${nproc * 100}% = the machine); other = busy time of everything else (kernel, other users)`);

  const took = await generateData(url, POINTS, POLYGONS);
  console.log(`data: ${POINTS.toLocaleString('en')} points, ${POLYGONS.toLocaleString('en')} polygons generated in ${took.toFixed(1)} s`);
  const layersDir = path.join(tmp, 'layers');
  writeLayers(layersDir);
  return { tmp, url, layersDir, postmaster };
}
