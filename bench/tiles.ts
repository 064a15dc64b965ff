// `npm run bench:tiles`: tile throughput of (a) the raw layer SQL through pg, (b) the server with the cache off,
// (c) the server with a warm cache, (d) nginx serving the same tile bytes from disk; concurrency 8, one fixed
// seeded list of z14 and z12 tiles over Huai'an. Env: DATABASE_URL (else an embedded cluster in a temp dir),
// BENCH_SECONDS (timed seconds per measurement, default 10), BENCH_WARMUP (seconds of untimed passes before each,
// default 3), BENCH_SKIP (measurements to leave out, e.g.
// `cold-gzip,warm-gzip`; raw-sql and cold always run: the others compare against their bytes).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import { startServerChild, type ServerChild } from './server-child.ts';
import { startEmbeddedCluster, type EmbeddedCluster } from '../tile-server/src/db/embedded.ts';
import { BBOX, LAYERS, generateData, writeLayers } from './data.ts';
import { cpuSeconds, machineBusySeconds, onePass, parentOf, rssMB, tileList, timedPasses, treeCpuSeconds, type Tile, type Timing } from './load.ts';
import { NGINX, startNginx } from './nginx.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const CONCURRENCY = 8;
const POINTS = 1_000_000;
const POLYGONS = 40_000;
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const runs = (name: string) => !SKIP.has(name);

// ---- cleanup: everything started registers how to stop it; run in reverse on exit, error or signal ----
const cleanups: Array<() => unknown> = [];
let finishing: Promise<never> | null = null;
let interrupted = false;
/** Idempotent: a later call (e.g. main failing because cleanup closed its pool) waits for the first one. */
function finish(code: number): Promise<never> {
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

// ---- the server under test, in a child process ----

function startServer(env: Record<string, string>): Promise<ServerChild> {
  return startServerChild({ DB_POOL_MAX: String(CONCURRENCY), ...env }, LAYERS, cleanups);
}

// ---- clients: `get` returns a tile's bytes (warm-up pass), `count` only their number (timed passes, less load) ----
interface Client {
  get(t: Tile): Promise<Buffer>;
  count(t: Tile): Promise<number>;
  close(): Promise<void>;
}

function httpClient(port: number, headers: Record<string, string> = {}): Client {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY, pipelining: 1 });
  const request = async (t: Tile) => {
    const res = await pool.request({ path: t.path, method: 'GET', headers });
    if (res.statusCode === 200 || res.statusCode === 204) return res.body;
    throw new Error(`GET ${t.path}: HTTP ${res.statusCode} ${(await res.body.text()).slice(0, 300)}`);
  };
  return {
    get: async (t) => Buffer.from(await (await request(t)).arrayBuffer()),
    async count(t) {
      let n = 0;
      for await (const chunk of await request(t)) n += (chunk as Buffer).length;
      return n;
    },
    close: () => pool.close(),
  };
}

// ---- one measurement: warm-up passes (errors show in the first), then timed passes; CPU and RSS of who does the work ----
interface Row extends Timing {
  name: string;
  rss: number;
  /** CPU milliseconds per tile of everything on this machine doing the work (server, client, postgres). */
  cpuPerTile: number;
}
const rows = new Map<string, Row>();
const disturbed: string[] = []; // measurements during which other processes used > 20% of a core
const fmt = (v: number, d = 1) => v.toFixed(d);
const digest = (bufs: Buffer[]) => bufs.reduce((h, b) => h.update(b), createHash('sha1')).digest('hex').slice(0, 12);

let postmaster: number | null = null; // when the database runs on this machine: its CPU is reported too

async function measure(name: string, client: Pick<Client, 'get' | 'count'>, list: Tile[], pids: () => number[], onWarm?: (t: Tile, i: number, b: Buffer) => void): Promise<Row> {
  const warmUntil = performance.now() + WARMUP * 1000;
  await onePass(list, CONCURRENCY, async (t, i) => {
    const body = await client.get(t);
    onWarm?.(t, i, body);
  });
  // Then whole passes until WARMUP seconds have gone: one pass is too short for the JIT to settle, and a server
  // still compiling its hot path is not the server that runs for weeks.
  while (performance.now() < warmUntil) await onePass(list, CONCURRENCY, client.count);
  const sum = (f: (pid: number) => number) => pids().reduce((a, p) => a + f(p), 0);
  const pgCpu = () => (postmaster ? treeCpuSeconds(postmaster) : NaN);
  const [server0, bench0, pg0, machine0] = [sum(cpuSeconds), process.cpuUsage(), pgCpu(), machineBusySeconds()];
  const timing = await timedPasses(list, CONCURRENCY, SECONDS, client.count);
  const s = timing.seconds;
  const used = process.cpuUsage(bench0);
  const bench = (used.user + used.system) / 1e6 / s;
  const server = pids().includes(process.pid) ? 0 : (sum(cpuSeconds) - server0) / s;
  const postgres = (pgCpu() - pg0) / s;
  const other = (machineBusySeconds() - machine0) / s - bench - server - (postgres || 0);
  const row: Row = { name, ...timing, rss: sum(rssMB), cpuPerTile: ((server + bench + (postgres || 0)) * 1000) / timing.rate };
  rows.set(name, row);
  const pct = (v: number) => `${fmt(v * 100, 0)}%`;
  const per = (v: number) => (Number.isNaN(v) || v === 0 ? '-' : fmt((v * 1000) / row.rate, 2));
  if (other > 0.2) disturbed.push(`${name} (${pct(other)})`);
  console.log(
    `${name.padEnd(10)} ${fmt(row.rate).padStart(8)} tiles/s  p50 ${fmt(row.p50).padStart(5)} ms  p99 ${fmt(row.p99).padStart(6)} ms  ` +
      `rss ${fmt(row.rss, 0).padStart(4)} MB  ${fmt(row.bytes / s / 2 ** 20).padStart(5)} MB/s`,
  );
  console.log(
    `${''.padEnd(10)} cpu ms/tile: server ${per(server)}  bench ${per(bench)}  postgres ${per(postgres)}  ` +
      `(cores busy: server ${pct(server)}, bench ${pct(bench)}, postgres ${Number.isNaN(postgres) ? '?' : pct(postgres)}, other ${pct(other)})`,
  );
  return row;
}

// ---- main ----
async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-bench-'));
  fs.chmodSync(tmp, 0o755); // as root, postgres and nginx's workers run as other users and must traverse it
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));

  let url = process.env.DATABASE_URL;
  if (!url) {
    console.log(`database: embedded cluster in ${tmp}/pg`);
    const cluster: EmbeddedCluster = await startEmbeddedCluster({
      dataDir: path.join(tmp, 'pg'),
      settings: {
        shared_buffers: '1GB',
        max_connections: '100',
        fsync: 'off',
        synchronous_commit: 'off',
        full_page_writes: 'off',
        max_wal_size: '4GB',
      },
    });
    cleanups.push(() => cluster.stop());
    url = cluster.url;
  } else console.log('database: DATABASE_URL (schema bench is dropped and recreated)');

  const info = new pg.Client({ connectionString: url });
  await info.connect();
  const { v: version, pid } = (
    await info.query<{ v: string; pid: number }>(`SELECT current_setting('server_version') || ' / PostGIS ' || postgis_lib_version() AS v, pg_backend_pid() AS pid`)
  ).rows[0]!;
  const ppid = parentOf(pid); // a local server only: the pid must belong to a postgres process here
  const cmd = ppid ? fs.readFileSync(`/proc/${ppid}/cmdline`, 'utf8') : '';
  postmaster = /postgres/.test(cmd) ? ppid : null;
  await info.end();
  const nproc = os.availableParallelism();
  console.log(`machine: nproc ${nproc}, node ${process.version}, PostgreSQL ${version}`);
  console.log(`cpu: 100% = one core (${nproc * 100}% = the machine); other = busy time of everything else (kernel, other users)`);

  const took = await generateData(url, POINTS, POLYGONS);
  console.log(`data: ${POINTS.toLocaleString('en')} points, ${POLYGONS.toLocaleString('en')} polygons generated in ${fmt(took)} s`);
  const layersDir = path.join(tmp, 'layers');
  writeLayers(layersDir);

  const list = tileList(BBOX, { 14: 400, 12: 200 }, LAYERS, 42);
  console.log(`tiles: ${list.length} (400 z14 + 200 z12, half bench_points, half bench_polygons), concurrency ${CONCURRENCY}, ${SECONDS} s per measurement\n`);

  // (a) raw SQL, the server's exact text as a named prepared statement; (b) the server, cache off.
  const cold = await startServer({ DATABASE_URL: url, LAYERS_DIR: layersDir, TILE_CACHE_MB: '0' });
  const raw = new pg.Pool({ connectionString: url, max: CONCURRENCY });
  cleanups.push(() => raw.end());
  const rawGet = async (t: Tile) => {
    const res = await raw.query({ name: `bench:${t.layer}`, text: cold.sql[t.layer]!, values: [t.z, t.x, t.y], rowMode: 'array' });
    return (res.rows[0]?.[0] as Buffer | null) ?? Buffer.alloc(0);
  };
  const rawBytes: Buffer[] = [];
  await measure('raw-sql', { get: rawGet, count: async (t) => (await rawGet(t)).length }, list, () => [process.pid], (_t, i, b) => (rawBytes[i] = b));
  await raw.end();
  cleanups.pop();

  const sizes = rawBytes.map((b) => b.length);
  const empty = sizes.filter((n) => n === 0).length;
  const avg = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  const sorted = [...sizes].sort((a, b) => a - b);
  console.log(
    `${''.padEnd(11)}tile sizes: avg ${fmt(avg / 1024)} KB, median ${fmt(sorted[sorted.length >> 1]! / 1024)} KB, ` +
      `max ${fmt(sorted.at(-1)! / 1024)} KB, ${empty} empty; sha1 of all ${digest(rawBytes)} (same data, same digest)`,
  );

  const httpBytes: Buffer[] = [];
  let differ = 0;
  let client = httpClient(cold.port);
  await measure('cold', client, list, () => [cold.pid], (_t, i, b) => {
    httpBytes[i] = b;
    if (!b.equals(rawBytes[i]!)) differ++;
  });
  if (differ) console.log(`WARNING: ${differ} tiles differ between the server and the raw SQL`);
  await client.close();
  if (runs('cold-gzip')) {
    client = httpClient(cold.port, { 'accept-encoding': 'gzip' });
    await measure('cold-gzip', client, list, () => [cold.pid]);
    await client.close();
  }
  await cold.stop();

  // (c) the server with a warm cache: the warm-up pass fills it.
  if (runs('warm')) {
    const warm = await startServer({ DATABASE_URL: url, LAYERS_DIR: layersDir, TILE_CACHE_MB: '1024' });
    differ = 0;
    client = httpClient(warm.port);
    await measure('warm', client, list, () => [warm.pid], (_t, i, b) => void (b.equals(httpBytes[i]!) || differ++));
    if (differ) console.log(`WARNING: ${differ} cached tiles differ from the uncached ones`);
    await client.close();
    if (runs('warm-gzip')) {
      client = httpClient(warm.port, { 'accept-encoding': 'gzip' });
      await measure('warm-gzip', client, list, () => [warm.pid]);
      await client.close();
    }
    await warm.stop();
  }

  // (d) nginx serving the identity bytes from files at the same paths.
  if (runs('nginx') && fs.existsSync(NGINX)) {
    for (const [i, t] of list.entries()) {
      const file = path.join(tmp, 'www', t.path);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
      fs.writeFileSync(file, httpBytes[i]!, { mode: 0o644 });
    }
    const nginx = await startNginx(tmp);
    cleanups.push(() => nginx.stop());
    client = httpClient(nginx.port);
    differ = 0;
    await measure('nginx', client, list, () => nginx.workers(), (_t, i, b) => void (b.equals(httpBytes[i]!) || differ++));
    if (differ) console.log(`WARNING: ${differ} tiles from nginx differ from the server's`);
    await client.close();
    await nginx.stop();
  } else if (runs('nginx')) console.log(`nginx: ${NGINX} is not installed (Debian package nginx-light); skipped`);

  console.log('');
  // On a saturated machine throughput is the inverse of CPU per tile: that ratio holds even when others disturb.
  const ratio = (a: string, b: string, target: number) => {
    const [x, y] = [rows.get(a), rows.get(b)];
    if (!x || !y) return;
    const r = x.rate / y.rate;
    console.log(
      `${`${a}/${b}`.padEnd(13)} ${fmt(r, 2)}  (target >= ${target})${r >= target ? '' : '  MISSED'}` +
        `   by cpu per tile: ${fmt(y.cpuPerTile / x.cpuPerTile, 2)} (${fmt(x.cpuPerTile, 2)} vs ${fmt(y.cpuPerTile, 2)} ms)`,
    );
  };
  ratio('cold', 'raw-sql', 0.85);
  ratio('warm', 'nginx', 0.5);
  if (disturbed.length) console.log(`\nWARNING: other processes were busy during ${disturbed.join(', ')}: those rates are low; cpu ms/tile is the robust figure`);
}

main().then(
  () => finish(0),
  (err: unknown) => {
    if (!interrupted) console.error(`bench:tiles failed: ${err instanceof Error ? err.message : String(err)}`);
    return finish(1);
  },
);
