// `npm run soak` (issue 16 §7): mixed traffic against the server as deployed (its own process) for SOAK_SECONDS
// (default 600), with faults injected every SOAK_FAULT_S (default 120): every CityBase connection terminated by
// PostgreSQL, then the postmaster killed with SIGKILL (its supervisor here restarts it), in turn. Traffic: tiles,
// feature pages with filters, POST /query, small imports, the health and catalog endpoints, and hostile requests
// that must be refused with 4xx. Prints answers by status per route, p50/p99 per route, the server's RSS and open
// descriptors at start and end; exits 1 if any answer was unexpected (a 500, a hang, a 4xx to a good request, a
// 2xx to a hostile one). Env: SOAK_SECONDS, SOAK_FAULT_S, SOAK_CONCURRENCY (8).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { KeyStore } from '../tile-server/src/access/keys.ts';
import { startEmbeddedCluster } from '../tile-server/src/db/embedded.ts';
import { createQueryRunner } from '../tile-server/src/db/query.ts';
import { BBOX, LAYERS, generateData, writeLayers } from './data.ts';
import { mulberry32, rssMB, tileList } from './load.ts';
import { startServerChild } from './server-child.ts';
import { cleanups, median, runBenchmark } from './setup.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const FAULT_S = Number(process.env.SOAK_FAULT_S ?? 120);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 8);

interface RouteStats {
  statuses: Map<string, number>;
  ms: number[];
  unexpected: string[];
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-soak-'));
  fs.chmodSync(tmp, 0o755);
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const cluster = await startEmbeddedCluster({ dataDir: path.join(tmp, 'pg'), settings: { fsync: 'off', max_connections: '100' } });
  cluster.supervise(250);
  cleanups.push(() => cluster.stop());
  await generateData(cluster.url, 200_000, 10_000);
  const layersDir = path.join(tmp, 'layers');
  writeLayers(layersDir);
  const server = await startServerChild({ DATABASE_URL: cluster.url, LAYERS_DIR: layersDir, DB_POOL_MAX: '12', TILE_CACHE_MB: '64', LOG_LEVEL: 'error' }, LAYERS, cleanups);
  const admin = new pg.Pool({ connectionString: cluster.url, max: 2 });
  admin.on('error', () => {});
  cleanups.push(() => admin.end());
  const { key } = await new KeyStore(createQueryRunner(admin)).create('dsj', 'soak', ['layer:read', 'layer:import']);
  const base = `http://127.0.0.1:${server.port}`;
  const auth = { Authorization: `Bearer ${key}` };

  const fds = () => fs.readdirSync(`/proc/${server.pid}/fd`).length;
  const start = { rss: rssMB(server.pid), fds: fds() };
  console.log(`soak: ${SECONDS} s, ${CONCURRENCY} clients, a fault every ${FAULT_S} s; server pid ${server.pid}, rss ${start.rss.toFixed(0)} MB, ${start.fds} descriptors`);

  const tiles = tileList(BBOX, { 10: 10, 12: 120, 14: 800 }, LAYERS, 7);
  const rnd = mulberry32(11);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
  const stats = new Map<string, RouteStats>();
  const record = (route: string, status: string, ms: number, ok: boolean, what: string) => {
    const s: RouteStats = stats.get(route) ?? { statuses: new Map(), ms: [], unexpected: [] };
    stats.set(route, s);
    s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
    s.ms.push(ms);
    if (!ok && s.unexpected.length < 5) s.unexpected.push(`${status} ${what}`);
    if (!ok) s.statuses.set('UNEXPECTED', (s.statuses.get('UNEXPECTED') ?? 0) + 1);
  };
  /** Good requests may meet an outage (503), never anything else but success. Hostile ones get 4xx (or 503). */
  const call = async (route: string, url: string, init: RequestInit, hostile = false) => {
    const t0 = performance.now();
    try {
      const res = await fetch(`${base}${url}`, { ...init, signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      const ok = res.status === 503 || (hostile ? res.status >= 400 && res.status < 500 : res.status < 400);
      record(route, String(res.status), performance.now() - t0, ok, url.slice(0, 120));
    } catch (err) {
      record(route, (err as Error).name, performance.now() - t0, false, `${url.slice(0, 120)}: ${(err as Error).message}`);
    }
  };
  const form = (csv: string, layer: string) => {
    const f = new FormData();
    f.set('layer', layer);
    f.set('mode', 'append');
    f.set('file', new Blob([csv]), 'soak.csv');
    return f;
  };
  const square = (lon: number, lat: number, d: number) => ({
    type: 'Polygon',
    coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]],
  });
  const hostile: Array<() => Promise<void>> = [
    () => call('hostile', `/collections/bench_points/items?filter=${encodeURIComponent("name LIKE 'a\\")}`, {}, true),
    () => call('hostile', `/collections/bench_points/items?bbox=1,2,3`, {}, true),
    () => call('hostile', `/collections/bench_points/items?limit=-5`, {}, true),
    () => call('hostile', `/tiles/bench_points/99/0/0.mvt`, {}, true),
    () => call('hostile', `/tiles/nope/1/0/0.mvt`, {}, true),
    () => call('hostile', `/collections/bench_points/items`, { headers: { Authorization: 'Bearer guessed-key-0000' } }, true),
    () => call('hostile', `/query`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"geometry":' }, true),
    () => call('hostile', `/api/imports`, { method: 'POST', headers: auth, body: form('name,lon,lat\n', 'soak\u0000bad') }, true),
  ];
  let imports = 0;
  const actions: Array<[number, () => Promise<void>]> = [
    [50, () => call('tile', pick(tiles).path, {})],
    [10, () => call('items', `/collections/bench_points/items?limit=50&bbox=${(118.9 + rnd() * 0.3).toFixed(3)},33.5,${(119.3).toFixed(3)},33.7`, {})],
    [5, () => call('items-filter', `/collections/bench_points/items?limit=20&filter=${encodeURIComponent(`kind = ${Math.floor(rnd() * 10)} AND value > ${Math.floor(rnd() * 900)}`)}`, {})],
    [5, () => call('query', `/query`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ geometry: square(118.9 + rnd() * 0.3, 33.4 + rnd() * 0.3, 0.02), layers: ['bench_points', 'bench_polygons'] }) })],
    [1, () => call('import', `/api/imports`, { method: 'POST', headers: auth, body: form(`name,lon,lat\nsoak${++imports},119.0${imports % 10},33.6\n`, 'soak_points') })],
    [5, () => call('health', `/health`, {})],
    [4, () => call('catalog', `/layers`, {})],
    [8, () => pick(hostile)()],
  ];
  const total = actions.reduce((a, [w]) => a + w, 0);
  const next = () => {
    let r = rnd() * total;
    for (const [w, f] of actions) if ((r -= w) < 0) return f;
    return actions[0]![1];
  };

  const end = Date.now() + SECONDS * 1000;
  const faults: string[] = [];
  let faultNo = 0;
  const faultTimer = setInterval(() => {
    faultNo++;
    const at = `${Math.round((Date.now() - (end - SECONDS * 1000)) / 1000)} s`;
    if (faultNo % 2) {
      void admin
        .query(`SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'citybase%' AND pid <> pg_backend_pid()) t`)
        .then((r) => faults.push(`${at}: terminated ${r.rows[0].n} CityBase connections`))
        .catch((e: Error) => faults.push(`${at}: terminate failed: ${e.message}`));
    } else {
      const pid = Number(fs.readFileSync(path.join(tmp, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGKILL');
      faults.push(`${at}: postmaster ${pid} killed (SIGKILL)`);
    }
  }, FAULT_S * 1000);
  cleanups.push(() => clearInterval(faultTimer));
  const progress = setInterval(() => {
    const n = [...stats.values()].reduce((a, s) => a + s.ms.length, 0);
    const odd = [...stats].flatMap(([r, s]) => s.unexpected.map((u) => `${r} ${u}`)).slice(0, 3);
    console.log(`  ${Math.round((end - Date.now()) / 1000)} s left: ${n} requests, rss ${rssMB(server.pid).toFixed(0)} MB, ${fds()} descriptors${odd.length ? `; unexpected so far: ${odd.join(' | ')}` : ''}`);
  }, Math.min(60, Math.max(5, SECONDS / 6)) * 1000);
  cleanups.push(() => clearInterval(progress));
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        await next()();
        // A request refused before any I/O settles in a microtask: yield, or timers (faults, progress) never run.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }),
  );
  clearInterval(faultTimer);
  clearInterval(progress);
  // Let the last outage end, then read the server's resources at rest.
  for (let i = 0; i < 120; i++) {
    const r = await fetch(`${base}/health`).catch(() => null);
    if (r?.status === 200) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  await new Promise((res) => setTimeout(res, 2000));
  const finish = { rss: rssMB(server.pid), fds: fds() };

  console.log(`\nfaults injected:\n${faults.map((f) => `  ${f}`).join('\n') || '  none'}`);
  console.log(`\n${'route'.padEnd(13)} ${'requests'.padStart(8)}  ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(8)}  answers`);
  let unexpected = 0;
  for (const [route, s] of [...stats].sort()) {
    const sorted = [...s.ms].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
    console.log(
      `${route.padEnd(13)} ${String(s.ms.length).padStart(8)}  ${median(s.ms).toFixed(1).padStart(7)} ${p99.toFixed(1).padStart(8)}  ` +
        [...s.statuses].sort().map(([k, v]) => `${k}: ${v}`).join(', '),
    );
    unexpected += s.statuses.get('UNEXPECTED') ?? 0;
    for (const u of s.unexpected) console.log(`    unexpected: ${u}`);
  }
  console.log(`\nserver: rss ${start.rss.toFixed(0)} MB → ${finish.rss.toFixed(0)} MB, descriptors ${start.fds} → ${finish.fds}`);
  console.log(unexpected ? `\nFAILED: ${unexpected} unexpected answers` : '\nno unexpected answer');
  if (unexpected) throw new Error(`${unexpected} unexpected answers`);
}

runBenchmark('soak', main);
