// npm run bench:cases — case reports with a 4000×3000 JPEG at concurrency 4 through the HTTP API, against sharp
// alone doing the same image work (metadata, orientation, 1600 px display, 320 px thumb) in the same run and
// process (goal ≥ 0.8×); then transition latency p50/p99 at concurrency 16 (goal p99 < 50 ms). The platform runs
// in a child process (as `npm start` runs it) against an embedded cluster (or DATABASE_URL) with a small sample city. Last,
// the desk's queue poll: the list (200) against the same request answered 304 by its ETag, in the same run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { rebuildSamples } from '../data-samples/load.ts';
import { processPhoto } from '../tile-server/src/cases/photos.ts';
import { loadConfig } from '../tile-server/src/config.ts';
import { startEmbeddedCluster } from '../tile-server/src/db/embedded.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { startPlatform } from '../tile-server/src/platform.ts';
import { startServerChild } from './server-child.ts';
import { cleanups, median, runBenchmark } from './setup.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REPORTS = Number(process.env.BENCH_REPORTS ?? 24); // per round and subject
const CASES = Number(process.env.BENCH_CASES ?? 160); // cases moved through transitions per round
/** BENCH_SKIP=photos,transitions,polls leaves measurements out (as in bench:tiles). */
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').map((x) => x.trim()).filter(Boolean));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A 4000×3000 phone-like JPEG: smooth gradients with fine noise (about what a camera makes of a street). */
async function phonePhoto(): Promise<Buffer> {
  const w = 4000;
  const h = 3000;
  const raw = Buffer.alloc(w * h * 3);
  let seed = 20260301;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const n = (seed >>> 27) - 16;
      const i = (y * w + x) * 3;
      raw[i] = Math.max(0, Math.min(255, ((x * 255) / w + n) | 0));
      raw[i + 1] = Math.max(0, Math.min(255, ((y * 255) / h + n) | 0));
      raw[i + 2] = Math.max(0, Math.min(255, 128 + n * 2));
    }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 88 }).withMetadata({ orientation: 6 }).toBuffer();
}

/** Run `task(i)` for i in 0..n-1 with `concurrency` workers; returns the wall time and each task's latency. */
async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<{ seconds: number; latencies: number[] }> {
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await task(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies };
}
const pct = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor((p / 100) * v.length))]!;

runBenchmark('bench:cases', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-bench-cases-'));
  fs.chmodSync(tmp, 0o755);
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  let url = process.env.DATABASE_URL;
  if (!url) {
    const cluster = await startEmbeddedCluster({ dataDir: path.join(tmp, 'pg'), settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
    cleanups.push(() => cluster.stop());
    url = cluster.url;
  }
  const log = createLogger('silent');
  const config = loadConfig({ LOG_LEVEL: 'silent', LAYERS_DIR: path.join(root, 'layers') });
  const platform = await startPlatform(config, url, log);
  cleanups.push(() => platform.close());
  await rebuildSamples(platform.pool, log, { scale: 0.3, districts: ['320812'], airDays: 1 });
  const { key } = await platform.keys.create('cgj', 'bench', ['case:read', 'case:report', 'case:accept', 'case:dispatch', 'case:handle', 'case:supervise']);
  // The server under test runs in a child process as deployed (npm start's flags), its CPU apart from this
  // process's load generator and the sharp-alone reference; this process's platform only set the city up.
  const child = await startServerChild({ DATABASE_URL: url, LAYERS_DIR: path.join(root, 'layers') }, [], cleanups);
  const base = `http://127.0.0.1:${child.port}`;
  const auth = { Authorization: `Bearer ${key}` };
  const places = (await platform.pool.query<{ lon: number; lat: number }>(
    `SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(geom) AS p FROM urban.grid_cells ORDER BY code LIMIT 500) x`,
  )).rows;

  const photo = await phonePhoto();
  console.log(`machine: nproc ${os.availableParallelism()}, node ${process.version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), threads ${sharp.concurrency()}`);
  console.log(`photo: 4000×3000 JPEG, ${(photo.length / 2 ** 20).toFixed(2)} MB, EXIF orientation 6; ${REPORTS} reports per round and subject, ${ROUNDS} rounds`);
  // Each report's photo differs by a few bytes after the JPEG's end (decoders ignore them), so none is deduplicated.
  const unique = (i: number, r: number) => Buffer.concat([photo, Buffer.from(`bench-${r}-${i}`)]);

  const reference: number[] = [];
  const server_: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < (SKIP.has('photos') ? 0 : ROUNDS); r++) {
    const subjects = [
      async () => {
        const m = await pool(REPORTS, 4, async (i) => {
          await processPhoto(unique(i, r), 'ref.jpg', 20);
        });
        reference.push(REPORTS / m.seconds);
      },
      async () => {
        const m = await pool(REPORTS, 4, async (i) => {
          const form = new FormData();
          const at = places[(r * REPORTS + i) % places.length]!;
          form.set('category', 'SJ0102');
          form.set('lon', String(at.lon));
          form.set('lat', String(at.lat));
          form.set('photo', new Blob([unique(i, r)], { type: 'image/jpeg' }), 'p.jpg');
          const res = await fetch(`${base}/api/cases`, { method: 'POST', headers: auth, body: form });
          if (res.status !== 201) throw new Error(`report: ${res.status} ${await res.text()}`);
          await res.arrayBuffer();
        });
        server_.push(REPORTS / m.seconds);
      },
    ];
    // Alternate the order so drift on the machine falls on both alike.
    for (const s of r % 2 ? subjects.reverse() : subjects) await s();
    ratios.push(server_[r]! / reference[r]!);
  }
  const fmt = (v: number[]) => v.map((x) => x.toFixed(2)).join(' ');
  if (!SKIP.has('photos')) {
    console.log(`photo reports/s, sharp alone (reference), concurrency 4: median ${median(reference).toFixed(2)}  [${fmt(reference)}]`);
    console.log(`photo reports/s, POST /api/cases multipart, concurrency 4: median ${median(server_).toFixed(2)}  [${fmt(server_)}]`);
    console.log(`ratio server / sharp alone: median ${median(ratios).toFixed(2)}×  [${fmt(ratios)}]  (goal ≥ 0.8×)`);
  }

  // ---- transitions at concurrency 16: each case goes accept → dispatch → take → supervise → park → unpark ----
  const actions = [{ action: 'accept' }, { action: 'dispatch' }, { action: 'take' }, { action: 'supervise', reason: 'bench' }, { action: 'park', reason: 'bench' }, { action: 'unpark' }];
  const all: number[] = [];
  const p50s: number[] = [];
  const p99s: number[] = [];
  for (let r = 0; r < (SKIP.has('transitions') ? 0 : ROUNDS); r++) {
    const codes: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const at = places[i % places.length]!;
      const res = await fetch(`${base}/api/cases`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ category: 'SJ0104', lon: at.lon, lat: at.lat }) });
      codes.push(((await res.json()) as { code: string }).code);
    }
    // 16 workers, each moving its own cases through the actions in order: 16 transitions in flight at any time.
    const latencies: number[] = [];
    const m = await pool(CASES, 16, async (i) => {
      for (const a of actions) {
        const t0 = performance.now();
        const res = await fetch(`${base}/api/cases/${codes[i]}/transitions`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify(a) });
        const body = await res.text();
        latencies.push(performance.now() - t0);
        if (res.status !== 200) throw new Error(`${a.action}: ${res.status} ${body}`);
      }
    });
    m.latencies = latencies;
    all.push(...m.latencies);
    p50s.push(pct(m.latencies, 50));
    p99s.push(pct(m.latencies, 99));
    console.log(`transitions round ${r + 1}: ${m.latencies.length} in ${m.seconds.toFixed(2)} s (${(m.latencies.length / m.seconds).toFixed(0)}/s), p50 ${p50s[r]!.toFixed(1)} ms, p99 ${p99s[r]!.toFixed(1)} ms`);
  }
  if (!SKIP.has('transitions')) console.log(`transition latency, concurrency 16: p50 ${median(p50s).toFixed(1)} ms, p99 ${median(p99s).toFixed(1)} ms (median of rounds; goal p99 < 50 ms)`);

  if (SKIP.has('polls')) return;
  // ---- the desk's poll: the queue (200, the list) against the same request with its ETag (304, the fingerprint) ----
  const POLLS = Number(process.env.BENCH_POLLS ?? 200);
  const total = (await platform.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM cases.cases`)).rows[0]!.n;
  const queue = `${base}/api/cases?limit=200`;
  const etag = (await fetch(queue, { headers: auth })).headers.get('ETag')!;
  const full: number[] = [];
  const unchanged: number[] = [];
  const pollRatios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const subjects = [
      async () => {
        const m = await pool(POLLS, 8, async () => {
          const res = await fetch(queue, { headers: auth });
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`queue: ${res.status}`);
        });
        full.push(POLLS / m.seconds);
      },
      async () => {
        const m = await pool(POLLS, 8, async () => {
          const res = await fetch(queue, { headers: { ...auth, 'If-None-Match': etag } });
          await res.arrayBuffer();
          if (res.status !== 304) throw new Error(`poll: ${res.status} (the queue changed under the benchmark)`);
        });
        unchanged.push(POLLS / m.seconds);
      },
    ];
    for (const s of r % 2 ? subjects.reverse() : subjects) await s();
    pollRatios.push(unchanged[r]! / full[r]!);
  }
  console.log(`queue polls/s over ${total} cases, concurrency 8: 200 (200 rows) median ${median(full).toFixed(0)}  [${fmt(full)}]; 304 (ETag) median ${median(unchanged).toFixed(0)}  [${fmt(unchanged)}]`);
  console.log(`ratio 304 poll / full list: median ${median(pollRatios).toFixed(2)}×  [${fmt(pollRatios)}]`);
});
