// `npm run bench:features`: GET /collections/bench_points/items?bbox=…&limit=1000 on the 1,000,000-point benchmark
// table (bench/data.ts), against the raw SQL reference measured in the same run: the same selection (bbox, id
// order, limit) aggregated by PostgreSQL with ST_AsGeoJSON, through pg as a named prepared statement. Reports
// features/s and the ratio (target >= 0.8), then the same with a CQL2 filter. Concurrency 8, a fixed seeded list
// of boxes over Huai'an. Env: DATABASE_URL (else an embedded cluster in a temp dir; schema bench is recreated),
// BENCH_ROUNDS (default 5: the four measurements are interleaved in rounds, each ratio is the median of the
// rounds'), BENCH_SECONDS (timed seconds per measurement, default 5), BENCH_WARMUP (untimed seconds before each
// subject's first measurement, default 3).
import pg from 'pg';
import { Pool } from 'undici';
import { startServerChild, type ServerChild } from './server-child.ts';
import { BBOX } from './data.ts';
import { cpuSeconds, machineBusySeconds, mulberry32, treeCpuSeconds } from './load.ts';
import { CONCURRENCY, ROUNDS, SECONDS, WARMUP, benchDatabase, cleanups, median, runBenchmark } from './setup.ts';

const LIMIT = 1000;
const BOXES = 200;

/** One request: a box and an optional filter, as URL query and as SQL parameters. */
interface Ask {
  bbox: [number, number, number, number];
  filter: string | null;
}

/** Boxes of 0.03°–0.12° (a district's streets to a county seat) inside the data's extent, seeded. */
function boxes(seed: number): Array<[number, number, number, number]> {
  const rnd = mulberry32(seed);
  const [w, s, e, n] = BBOX;
  return Array.from({ length: BOXES }, () => {
    const size = 0.03 + rnd() * 0.09;
    const x = w + rnd() * (e - w - size);
    const y = s + rnd() * (n - s - size);
    return [round(x), round(y), round(x + size), round(y + size)];
  });
}
const round = (v: number) => Math.round(v * 1e5) / 1e5;

// The CQL2 filter and the same condition in SQL, for the second pair of measurements.
const FILTER = 'kind IN (1, 2, 3) AND value > 250';
const FILTER_SQL = 'kind = ANY(ARRAY[1, 2, 3]) AND value > 250';

/** The reference: PostgreSQL makes the whole FeatureCollection with ST_AsGeoJSON(record), nothing else. */
const rawSql = (where: string) => `
SELECT '{"type":"FeatureCollection","features":[' || coalesce(string_agg(ST_AsGeoJSON(t.*), ',' ORDER BY t.id), '') || ']}' AS body,
       count(*)::int AS n
FROM (SELECT id, kind, name, value, geom FROM bench.points
      WHERE ST_Intersects(geom, ST_MakeEnvelope($1, $2, $3, $4, 4326))${where ? ` AND ${where}` : ''}
      ORDER BY id LIMIT $5) AS t`;

interface Result {
  features: number;
  bytes: number;
}
type Fetch = (a: Ask) => Promise<Result>;

interface Timing {
  requests: number;
  features: number;
  bytes: number;
  seconds: number;
  p50: number;
  p99: number;
  serverCpu: number;
  postgresCpu: number;
  benchCpu: number;
  /** Busy CPU seconds of everything else on the machine (other users' work disturbs the rates). */
  otherCpu: number;
}

let postmaster: number | null = null;

/** Whole passes over the list at concurrency 8 for at least SECONDS (every measurement sees the same mix), after WARMUP seconds of the same. */
async function timed(list: readonly Ask[], fetch: Fetch, serverPid: number | null, warmup: number): Promise<Timing> {
  // Untimed passes first (at least one): the JIT settles, as in a server that has been up for a while.
  const warmUntil = performance.now() + warmup * 1000;
  let i = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (!(i > 0 && i % list.length === 0 && performance.now() >= warmUntil)) await fetch(list[i++ % list.length]!);
    }),
  );
  const latencies: number[] = [];
  let [next, features, bytes] = [0, 0, 0];
  const cpu0 = [serverPid ? cpuSeconds(serverPid) : 0, postmaster ? treeCpuSeconds(postmaster) : NaN, machineBusySeconds()];
  const bench0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  const passDone = () => next > 0 && next % list.length === 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (!(passDone() && performance.now() >= deadline)) {
        const a = list[next++ % list.length]!;
        const t0 = performance.now();
        const r = await fetch(a);
        latencies.push(performance.now() - t0);
        features += r.features;
        bytes += r.bytes;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(bench0);
  const benchCpu = (used.user + used.system) / 1e6;
  const serverCpu = serverPid ? cpuSeconds(serverPid) - cpu0[0]! : 0;
  const postgresCpu = postmaster ? treeCpuSeconds(postmaster) - cpu0[1]! : NaN;
  const otherCpu = machineBusySeconds() - cpu0[2]! - benchCpu - serverCpu - (postgresCpu || 0);
  latencies.sort((x, y) => x - y);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return {
    requests: latencies.length,
    features,
    bytes,
    seconds,
    p50: pct(0.5),
    p99: pct(0.99),
    serverCpu,
    postgresCpu,
    benchCpu,
    otherCpu,
  };
}

const disturbed = new Set<string>();

/** Prints a measurement; returns [features/s, CPU ms per 1000 features of everything doing the work]. */
function report(name: string, r: Timing): [number, number] {
  const rate = r.features / r.seconds;
  const perK = (cpu: number) => (cpu * 1000) / (r.features / 1000);
  const show = (cpu: number) => (Number.isNaN(cpu) || cpu === 0 ? '-' : perK(cpu).toFixed(1));
  const total = perK(r.serverCpu + (r.postgresCpu || 0) + r.benchCpu);
  if (r.otherCpu / r.seconds > 0.2) disturbed.add(name);
  console.log(
    `${name.padEnd(16)} ${rate.toFixed(0).padStart(8)} features/s  ${(r.requests / r.seconds).toFixed(1).padStart(6)} req/s  ` +
      `p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  ${(r.bytes / r.seconds / 2 ** 20).toFixed(1).padStart(5)} MB/s`,
  );
  console.log(
    `${''.padEnd(16)} cpu ms/1000 features: server ${show(r.serverCpu)}, postgres ${show(r.postgresCpu)}, bench client ${show(r.benchCpu)}; ` +
      `total ${Number.isNaN(total) ? '?' : total.toFixed(1)}`,
  );
  return [rate, total];
}

function startServer(env: Record<string, string>): Promise<ServerChild> {
  return startServerChild({ DB_POOL_MAX: String(CONCURRENCY), ...env }, ['bench_points'], cleanups);
}

async function main(): Promise<void> {
  const { url, layersDir, postmaster: pm } = await benchDatabase('citybase-bench-features-');
  postmaster = pm;
  const plain: Ask[] = boxes(7).map((bbox) => ({ bbox, filter: null }));
  const filtered: Ask[] = plain.map((a) => ({ ...a, filter: FILTER }));
  console.log(`requests: ${BOXES} boxes of 0.03-0.12 degrees, limit ${LIMIT}, concurrency ${CONCURRENCY}, ${SECONDS} s per measurement\n`);

  const server = await startServer({ DATABASE_URL: url, LAYERS_DIR: layersDir, TILE_CACHE_MB: '0' });
  const http = new Pool(`http://127.0.0.1:${server.port}`, { connections: CONCURRENCY, pipelining: 1 });
  cleanups.push(() => http.close());
  // Idle connections kept as long as the server's pool keeps them (db/pool.ts), so neither starts a round afresh.
  const raw = new pg.Pool({ connectionString: url, max: CONCURRENCY, idleTimeoutMillis: 60_000 });
  cleanups.push(() => raw.end());

  // Timed clients do no more than they must: count features and bytes (pg hands over the text decoded; the
  // HTTP body is counted as it streams, its head says how many features, nothing is parsed).
  const viaSql: Fetch = async (a) => {
    const text = rawSql(a.filter ? FILTER_SQL : '');
    const res = await raw.query<[string, number]>({ name: a.filter ? 'raw-filtered' : 'raw', text, values: [...a.bbox, LIMIT], rowMode: 'array' });
    const [body, n] = res.rows[0]!;
    return { features: n, bytes: body.length };
  };
  const viaHttp: Fetch = async (a) => {
    const q = new URLSearchParams({ bbox: a.bbox.join(','), limit: String(LIMIT), ...(a.filter ? { filter: a.filter } : {}) });
    const res = await http.request({ path: `/collections/bench_points/items?${q}`, method: 'GET' });
    if (res.statusCode !== 200) throw new Error(`items: HTTP ${res.statusCode} ${(await res.body.text()).slice(0, 300)}`);
    let [bytes, features] = [0, -1];
    for await (const chunk of res.body) {
      if (features < 0) features = Number(/"numberReturned":(\d+)/.exec((chunk as Buffer).toString('latin1', 0, 200))![1]);
      bytes += (chunk as Buffer).length;
    }
    return { features, bytes };
  };

  // Warm-up pass of each, which also checks that both return the same features for every box.
  for (const list of [plain, filtered]) {
    let differ = 0;
    let total = 0;
    for (const a of list) {
      const text = rawSql(a.filter ? FILTER_SQL : '');
      const [body] = (await raw.query<[string]>({ text, values: [...a.bbox, LIMIT], rowMode: 'array' })).rows[0]!;
      const want = (JSON.parse(body) as { features: Array<{ properties: { id: number } }> }).features.map((f) => f.properties.id);
      const q = new URLSearchParams({ bbox: a.bbox.join(','), limit: String(LIMIT), ...(a.filter ? { filter: a.filter } : {}) });
      const got = (JSON.parse(await (await http.request({ path: `/collections/bench_points/items?${q}`, method: 'GET' })).body.text()) as {
        features: Array<{ id: number }>;
      }).features.map((f) => f.id);
      if (JSON.stringify(want) !== JSON.stringify(got)) differ++;
      total += got.length;
    }
    // Ratios of subjects doing different work would mean nothing: a difference stops the benchmark.
    if (differ) throw new Error(`${differ} answers of the server differ from the raw SQL's`);
    console.log(`${list[0]!.filter ? 'filtered' : 'bbox'}: ${(total / list.length).toFixed(0)} features per request on average, same features as the raw SQL`);
  }
  console.log('');

  const subjects: Array<[string, readonly Ask[], Fetch, number | null]> = [
    ['raw-sql', plain, viaSql, null],
    ['server', plain, viaHttp, server.pid],
    ['raw-sql+filter', filtered, viaSql, null],
    ['server+filter', filtered, viaHttp, server.pid],
  ];
  const rounds: Array<Record<string, [number, number]>> = [];
  for (let r = 0; r < ROUNDS; r++) {
    console.log(`round ${r + 1} of ${ROUNDS}`);
    const rows: Record<string, [number, number]> = {};
    // Odd rounds run the subjects in reverse order, so none always runs first or after the same neighbour.
    for (const [name, list, fetch, pid] of r % 2 ? [...subjects].reverse() : subjects) rows[name] = report(name, await timed(list, fetch, pid, r === 0 ? WARMUP : 0));
    rounds.push(rows);
    console.log('');
  }

  // Throughput ratio (what the issue's target is about), and the same ratio of the CPU the work took end to end
  // (postgres + server + bench client per feature), which other load on the machine does not skew: the median
  // of the rounds' ratios.

  console.log(`median of ${ROUNDS} rounds:`);
  for (const [name] of subjects)
    console.log(`${name.padEnd(16)} ${median(rounds.map((x) => x[name]![0])).toFixed(0).padStart(8)} features/s  (rounds: ${rounds.map((x) => x[name]![0].toFixed(0)).join(', ')})`);
  const ratio = (a: string, b: string, target?: number) => {
    const rates = rounds.map((x) => x[a]![0] / x[b]![0]);
    const r = median(rates);
    const cpu = median(rounds.map((x) => x[b]![1] / x[a]![1]));
    console.log(
      `${`${a}/${b}`.padEnd(30)} ${r.toFixed(2)}${target ? `  (target >= ${target})${r >= target ? '' : '  MISSED'}` : ''}` +
        `  rounds: ${rates.map((x) => x.toFixed(2)).join(', ')}   by cpu per feature: ${Number.isNaN(cpu) ? '?' : cpu.toFixed(2)}`,
    );
  };
  ratio('server', 'raw-sql', 0.8);
  ratio('server+filter', 'raw-sql+filter');
  if (disturbed.size) console.log(`\nWARNING: other processes were busy during ${[...disturbed].join(', ')}: those rates are low; the cpu ratio is the robust figure`);
}

runBenchmark('bench:features', main);
