// `npm run bench:scale` (issue 17 §3): tile and item throughput of one instance and of two behind nginx, both
// reading from a streaming replica, on this machine (npm run cluster:local's processes), with what each costs
// (server CPU per tile, database CPU per cold tile on the primary and on the replica, bytes per tile): the
// figures README "Sizing" scales to a city. Env: BENCH_ROUNDS (default 3), BENCH_SECONDS (default 5).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { startLocalCluster, type LocalCluster } from '../tile-server/src/cli/cluster-local.ts';
import { BBOX, generateData, LAYERS, writeLayers } from './data.ts';
import { cpuSeconds, machineBusySeconds, onePass, tileList, timedPasses, treeCpuSeconds, type Tile } from './load.ts';
import { cleanups, median, runBenchmark } from './setup.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = 16;
const POINTS = 500_000;
const POLYGONS = 20_000;

const postmaster = (dataDir: string) => Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

interface Cost {
  rate: number;
  serverMs: number;
  primaryMs: number;
  replicaMs: number;
  bytes: number;
  p99: number;
}

function client(base: string) {
  const pool = new Pool(base, { connections: CONCURRENCY, pipelining: 1 });
  cleanups.push(() => pool.close());
  const get = async (p: string): Promise<number> => {
    const res = await pool.request({ method: 'GET', path: p });
    let n = 0;
    for await (const chunk of res.body) n += (chunk as Buffer).length;
    if (res.statusCode !== 200 && res.statusCode !== 204) throw new Error(`${p}: ${res.statusCode}`);
    return n;
  };
  return get;
}

const tilePath = (t: Tile) => `/tiles/${t.layer}/${t.z}/${t.x}/${t.y}.mvt`;
/** A page of 100 points in a small box around the tile's centre (items are never cached: each is a query). */
function itemsPath(t: Tile): string {
  const n = 2 ** t.z;
  const lon = ((t.x + 0.5) / n) * 360 - 180;
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - (2 * (t.y + 0.5)) / n))) * 180) / Math.PI;
  return `/collections/bench_points/items?limit=100&bbox=${(lon - 0.01).toFixed(4)},${(lat - 0.01).toFixed(4)},${(lon + 0.01).toFixed(4)},${(lat + 0.01).toFixed(4)}`;
}

async function measure(cluster: LocalCluster, servers: number[], run: () => Promise<{ count: number; bytes: number; p99: number }>): Promise<Cost> {
  const pPrimary = postmaster(cluster.primary.dataDir);
  const pReplica = postmaster(cluster.replica.dataDir);
  const cpu = () => ({
    server: servers.reduce((a, p) => a + cpuSeconds(p), 0),
    primary: treeCpuSeconds(pPrimary),
    replica: treeCpuSeconds(pReplica),
  });
  const c0 = cpu();
  const t0 = performance.now();
  const r = await run();
  const seconds = (performance.now() - t0) / 1000;
  const c1 = cpu();
  const per = (a: number, b: number) => ((b - a) * 1000) / r.count;
  return {
    rate: r.count / seconds,
    serverMs: per(c0.server, c1.server),
    primaryMs: per(c0.primary, c1.primary),
    replicaMs: per(c0.replica, c1.replica),
    bytes: r.bytes / r.count,
    p99: r.p99,
  };
}

const fmt = (v: number, d = 1) => v.toFixed(d);
const line = (name: string, c: Cost, unit: string) =>
  `${name.padEnd(22)} ${fmt(c.rate).padStart(8)} ${unit}/s  p99 ${fmt(c.p99).padStart(6)} ms  cpu ms per ${unit}: server ${fmt(c.serverMs, 2)}  primary ${fmt(c.primaryMs, 2)}  replica ${fmt(c.replicaMs, 2)}  ${fmt(c.bytes / 1024)} KB`;

runBenchmark('bench:scale', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-scale-'));
  fs.chmodSync(tmp, 0o755); // the database servers run as the postgres OS user
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const layersDir = path.join(tmp, 'layers');
  writeLayers(layersDir);
  console.log(`machine: nproc ${os.availableParallelism()}, node ${process.version}; concurrency ${CONCURRENCY}, ${ROUNDS} rounds of ${SECONDS} s`);
  const t0 = performance.now();
  const cluster = await startLocalCluster({
    dir: path.join(tmp, 'cluster'),
    env: { LAYERS_DIR: layersDir, LOAD_SAMPLES: 'false', LOG_LEVEL: 'warn', DB_POOL_MAX: '16', JT808_PORT: '0', RATE_LIMIT_EXPENSIVE_RPS: '0', TILE_CACHE_MB: '512' },
    pgSettings: { shared_buffers: '1GB', max_connections: '120', fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_wal_size: '4GB' },
    beforeInstances: async (url) => void (await generateData(url, POINTS, POLYGONS)),
  });
  cleanups.push(() => cluster.stop());
  console.log(`cluster: primary, replica, 2 instances, nginx; ${POINTS.toLocaleString('en')} points and ${POLYGONS.toLocaleString('en')} polygons; up in ${fmt((performance.now() - t0) / 1000)} s`);
  const [a, b] = cluster.instances as [LocalCluster['instances'][0], LocalCluster['instances'][0]];
  const one = client(`http://127.0.0.1:${a.port}`);
  const two = client(cluster.url);
  const warmList = tileList(BBOX, { 14: 300, 12: 100 }, LAYERS, 7);
  await onePass(warmList, CONCURRENCY, (t) => one(tilePath(t)));
  await onePass(warmList, CONCURRENCY, (t) => two(tilePath(t)));
  await onePass(warmList, CONCURRENCY, (t) => two(tilePath(t)));

  const results: Record<string, Cost[]> = {};
  const keep = (k: string, c: Cost) => (results[k] ??= []).push(c);
  let seed = 1000;
  // Tiles asked for once stay cached: a cold list leaves them out, so every tile in it is a query.
  const asked = new Set(warmList.map((t) => t.path));
  const coldList = () => {
    const list = tileList(BBOX, { 14: 400, 13: 100, 12: 20 }, LAYERS, seed++).filter((t) => !asked.has(t.path));
    for (const t of list) asked.add(t.path);
    return list;
  };
  for (let round = 1; round <= ROUNDS; round++) {
    const busy0 = machineBusySeconds();
    const r0 = performance.now();
    for (const [name, get, servers] of [
      ['1 instance', one, [a.pid!]],
      ['2 instances + nginx', two, [a.pid!, b.pid!]],
    ] as const) {
      // Cold: tiles never asked for before (a fresh list each time), so every one is a query on the replica.
      const cold = coldList();
      keep(`cold ${name}`, await measure(cluster, [...servers], async () => {
        const lat: number[] = [];
        let bytes = 0;
        await onePass(cold, CONCURRENCY, async (t) => {
          const s = performance.now();
          bytes += await get(tilePath(t));
          lat.push(performance.now() - s);
        });
        lat.sort((x, y) => x - y);
        return { count: cold.length, bytes, p99: lat[Math.floor(lat.length * 0.99)] ?? 0 };
      }));
      keep(`warm ${name}`, await measure(cluster, [...servers], () => timedPasses(warmList, CONCURRENCY, SECONDS, (t) => get(tilePath(t)))));
      keep(`items ${name}`, await measure(cluster, [...servers], () => timedPasses(warmList.slice(0, 200), CONCURRENCY, SECONDS, (t) => get(itemsPath(t)))));
    }
    const wall = (performance.now() - r0) / 1000;
    console.log(`round ${round}: machine busy ${fmt(((machineBusySeconds() - busy0) / wall) * 100, 0)}% (of ${os.availableParallelism() * 100}%)`);
  }
  const med = (k: string): Cost => {
    const v = results[k]!;
    return {
      rate: median(v.map((c) => c.rate)),
      serverMs: median(v.map((c) => c.serverMs)),
      primaryMs: median(v.map((c) => c.primaryMs)),
      replicaMs: median(v.map((c) => c.replicaMs)),
      bytes: median(v.map((c) => c.bytes)),
      p99: median(v.map((c) => c.p99)),
    };
  };
  console.log('\nmedians:');
  for (const kind of ['cold', 'warm', 'items'] as const)
    for (const name of ['1 instance', '2 instances + nginx'])
      console.log(line(`${kind} ${name}`, med(`${kind} ${name}`), kind === 'items' ? 'page' : 'tile'));
  for (const kind of ['cold', 'warm', 'items'] as const)
    console.log(`${kind}: 2 instances / 1 instance = ${fmt(med(`${kind} 2 instances + nginx`).rate / med(`${kind} 1 instance`).rate, 2)}×`);
  const cold = med('cold 1 instance');
  const warm = med('warm 1 instance');
  const items = med('items 1 instance');
  console.log(`reads on the replica: cold tiles cost the replica ${fmt(cold.replicaMs, 2)} ms and the primary ${fmt(cold.primaryMs, 2)} ms of CPU each`);
  // On paper: cores needed for a stated load, from the measured costs (CPU ms per request × requests per second).
  const load = { viewers: 5000, tilesPerViewerPerS: 2, hitRate: 0.9, itemsPerS: 200 };
  const tilesPerS = load.viewers * load.tilesPerViewerPerS;
  const appCores = (tilesPerS * (load.hitRate * warm.serverMs + (1 - load.hitRate) * cold.serverMs) + load.itemsPerS * items.serverMs) / 1000;
  const dbCores = (tilesPerS * (1 - load.hitRate) * (cold.replicaMs + cold.primaryMs) + load.itemsPerS * (items.replicaMs + items.primaryMs)) / 1000;
  const mbps = (tilesPerS * warm.bytes * 8) / 1e6;
  console.log(
    `sizing (${load.viewers} concurrent viewers × ${load.tilesPerViewerPerS} tiles/s, ${load.hitRate * 100}% cache hits, ${load.itemsPerS} item pages/s): ` +
      `application ${fmt(appCores)} cores, database reads ${fmt(dbCores)} cores, ${fmt(mbps, 0)} Mbit/s of tiles`,
  );
});
