// `npm run bench:tiles`: tile throughput of (a) the raw layer SQL through pg, (b) the server with the cache off,
// (c) the server with a warm cache, (d) nginx serving the same tile bytes from disk; concurrency 8, one fixed
// seeded list of z14 and z12 tiles over Huai'an. All four run side by side and are measured in interleaved
// rounds (odd rounds in reverse order), so drift on the machine (other tenants, CPU frequency) falls on every
// subject alike; each ratio is the median of the rounds' ratios. Env: DATABASE_URL (else an embedded cluster in
// a temp dir), BENCH_ROUNDS (default 5), BENCH_SECONDS (timed seconds per measurement, default 5), BENCH_WARMUP
// (untimed seconds before a subject's first measurement, default 3), BENCH_SKIP (measurements to leave out, e.g.
// `cold-gzip,warm-gzip`). With wrk installed, the cached tiles are measured again against nginx with wrk, a C client.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import { startServerChild, type ServerChild } from './server-child.ts';
import { BBOX, LAYERS } from './data.ts';
import { cpuSeconds, machineBusySeconds, onePass, rssMB, tileList, timedPasses, treeCpuSeconds, type Tile, type Timing } from './load.ts';
import { NGINX, startNginx } from './nginx.ts';
import { SessionStore } from '../tile-server/src/auth/sessions.ts';
import { UserStore } from '../tile-server/src/auth/users.ts';
import { createQueryRunner } from '../tile-server/src/db/query.ts';
import { CONCURRENCY, ROUNDS, SECONDS, WARMUP, benchDatabase, cleanups, median, runBenchmark } from './setup.ts';

const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
/** The district of the scoped subjects: 清江浦区, where most of the generated points are. */
const SCOPE = '320812';

/**
 * The city's districts (data-samples) as the platform's boundaries, and a signed-in user of one district: the
 * session cookie a browser would send. Made directly in the database the servers migrated.
 */
async function districtSession(url: string): Promise<string> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  cleanups.push(() => pool.end());
  const run = createQueryRunner(pool);
  const districts = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'data-samples', 'huaian_districts.geojson'), 'utf8')) as {
    features: Array<{ properties: { adcode: string; name: string }; geometry: unknown }>;
  };
  for (const f of districts.features)
    await run.query(
      `INSERT INTO basemap.districts (id, adcode, name, geom) VALUES ($1::int, $1, $2, ST_Multi(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON($3), 4326))))
       ON CONFLICT (adcode) DO NOTHING`,
      [f.properties.adcode, f.properties.name, JSON.stringify(f.geometry)],
    );
  const users = new UserStore(run);
  const existing = await users.byLogin('bench.district');
  const user = existing ?? (await users.create('bench.district', { department: 'zrzy', roles: ['viewer'], scopes: [SCOPE] })).user;
  await run.query(`UPDATE citybase.users SET must_change_password = false WHERE id = $1`, [user.id]);
  const sessions = new SessionStore(run, { idleMs: 3_600_000, lifetimeMs: 3_600_000, totpRequired: false }, async () => false);
  const { token } = await sessions.create({ ...user, must_change_password: false }, '127.0.0.1', 'bench');
  return `cb_session=${token}`;
}
const runs = (name: string) => !SKIP.has(name);

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

// ---- one measurement: warm-up passes, then timed passes; CPU and RSS of who does the work ----
interface Row extends Timing {
  name: string;
  rss: number;
  /** CPU milliseconds per tile of everything on this machine doing the work (server, client, postgres). */
  cpuPerTile: number;
}
/** Something measured: a client and the processes that do the serving (their CPU is counted). */
interface Subject {
  name: string;
  client: Pick<Client, 'get' | 'count'>;
  pids: () => number[];
}
const disturbed = new Set<string>(); // measurements during which other processes used > 20% of a core
const fmt = (v: number, d = 1) => v.toFixed(d);
const digest = (bufs: Buffer[]) => bufs.reduce((h, b) => h.update(b), createHash('sha1')).digest('hex').slice(0, 12);

let postmaster: number | null = null; // when the database runs on this machine: its CPU is reported too

/** Every tile's bytes once (the first warm-up pass; it shows errors, and fills a cache). */
async function fetchAll(client: Pick<Client, 'get'>, list: Tile[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  await onePass(list, CONCURRENCY, async (t, i) => void (out[i] = await client.get(t)));
  return out;
}

async function measure({ name, client, pids }: Subject, list: Tile[], warmup: number): Promise<Row> {
  // Whole passes for `warmup` seconds, at least one: a pass is too short for the JIT to settle, and a server still
  // compiling its hot path is not the server that runs for weeks.
  const warmUntil = performance.now() + warmup * 1000;
  do await onePass(list, CONCURRENCY, client.count);
  while (performance.now() < warmUntil);
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
  const pct = (v: number) => `${fmt(v * 100, 0)}%`;
  const per = (v: number) => (Number.isNaN(v) || v === 0 ? '-' : fmt((v * 1000) / row.rate, 2));
  if (other > 0.2) disturbed.add(name);
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
  const { tmp, url, layersDir, postmaster: pm } = await benchDatabase('citybase-bench-');
  postmaster = pm;

  const list = tileList(BBOX, { 14: 400, 12: 200 }, LAYERS, 42);
  console.log(`tiles: ${list.length} (400 z14 + 200 z12, half bench_points, half bench_polygons), concurrency ${CONCURRENCY}, ${SECONDS} s per measurement\n`);

  // The subjects, all started up front. (a) raw SQL: the server's exact text as a named prepared statement.
  const cold = await startServer({ DATABASE_URL: url, LAYERS_DIR: layersDir, TILE_CACHE_MB: '0' });
  const warm = await startServer({ DATABASE_URL: url, LAYERS_DIR: layersDir, TILE_CACHE_MB: '1024' });
  // Idle connections kept as long as the server's pool keeps them (db/pool.ts), so neither starts a round afresh.
  const raw = new pg.Pool({ connectionString: url, max: CONCURRENCY, idleTimeoutMillis: 60_000 });
  cleanups.push(() => raw.end());
  // Scoped layers take the caller's scopes as $4: NULL for an unlimited caller (anonymous here), a district's code
  // for the signed-in district user of the *-scoped subjects.
  const rawQuery = (scopes: string[] | null) => async (t: Tile) => {
    const text = cold.sql[t.layer]!;
    const values = text.includes('$4') ? [t.z, t.x, t.y, scopes] : [t.z, t.x, t.y];
    const res = await raw.query({ name: `bench:${t.layer}`, text, values, rowMode: 'array' });
    return (res.rows[0]?.[0] as Buffer | null) ?? Buffer.alloc(0);
  };
  const rawGet = rawQuery(null);
  const rawScoped = rawQuery([SCOPE]);
  const cookie = await districtSession(url);
  const clients: Client[] = [];
  const http = (port: number, headers?: Record<string, string>) => {
    const c = httpClient(port, headers);
    clients.push(c);
    return c;
  };
  cleanups.push(() => Promise.all(clients.map((c) => c.close())));
  const subjects: Subject[] = [
    { name: 'raw-sql', client: { get: rawGet, count: async (t) => (await rawGet(t)).length }, pids: () => [process.pid] },
    { name: 'cold', client: http(cold.port), pids: () => [cold.pid] },
    { name: 'cold-gzip', client: http(cold.port, { 'accept-encoding': 'gzip' }), pids: () => [cold.pid] },
    { name: 'warm', client: http(warm.port), pids: () => [warm.pid] },
    { name: 'warm-gzip', client: http(warm.port, { 'accept-encoding': 'gzip' }), pids: () => [warm.pid] },
  ];
  const scoped: Subject[] = [
    { name: 'raw-scoped', client: { get: rawScoped, count: async (t) => (await rawScoped(t)).length }, pids: () => [process.pid] },
    { name: 'cold-scoped', client: http(cold.port, { cookie }), pids: () => [cold.pid] },
    { name: 'warm-scoped', client: http(warm.port, { cookie }), pids: () => [warm.pid] },
  ];

  // Every subject must serve the same bytes: raw SQL, the server without a cache, from its cache, nginx.
  const rawBytes = await fetchAll(subjects[0]!.client, list);
  const sizes = rawBytes.map((b) => b.length);
  const sorted = [...sizes].sort((a, b) => a - b);
  console.log(
    `tile sizes: avg ${fmt(sizes.reduce((a, b) => a + b, 0) / sizes.length / 1024)} KB, median ${fmt(sorted[sorted.length >> 1]! / 1024)} KB, ` +
      `max ${fmt(sorted.at(-1)! / 1024)} KB, ${sizes.filter((n) => n === 0).length} empty; sha1 of all ${digest(rawBytes)} (same data, same digest)`,
  );
  // Ratios of subjects doing different work would mean nothing: a difference stops the benchmark.
  const compare = (what: string, got: Buffer[]) => {
    const differ = got.filter((b, i) => !b.equals(rawBytes[i]!)).length;
    if (differ) throw new Error(`${differ} tiles from ${what} differ from the raw SQL's`);
  };
  compare('the server', await fetchAll(subjects[1]!.client, list));
  compare('the server with its cache', await fetchAll(subjects[3]!.client, list)); // this pass fills the cache
  compare('the server\'s cache', await fetchAll(subjects[3]!.client, list));

  // (d) nginx serving the same bytes from files at the same paths.
  let nginxPort = 0;
  if (runs('nginx') && fs.existsSync(NGINX)) {
    for (const [i, t] of list.entries()) {
      const file = path.join(tmp, 'www', t.path);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
      fs.writeFileSync(file, rawBytes[i]!, { mode: 0o644 });
    }
    const nginx = await startNginx(tmp);
    cleanups.push(() => nginx.stop());
    const client = http(nginx.port);
    compare('nginx', await fetchAll(client, list));
    subjects.push({ name: 'nginx', client, pids: () => nginx.workers() });
    nginxPort = nginx.port;
  } else if (runs('nginx')) console.log(`nginx: ${NGINX} is not installed (Debian package nginx-light); skipped`);

  // A signed-in user of one district: the server's tiles must be the scoped SQL's bytes, from the cache too.
  if (runs('scoped')) {
    const scopedBytes = await fetchAll(scoped[0]!.client, list);
    const differ = (what: string, got: Buffer[]) => {
      const n = got.filter((b, i) => !b.equals(scopedBytes[i]!)).length;
      if (n) throw new Error(`${n} tiles from ${what} differ from the scoped raw SQL's`);
    };
    differ('the server (scoped)', await fetchAll(scoped[1]!.client, list));
    differ('the server with its cache (scoped)', await fetchAll(scoped[2]!.client, list));
    differ('the server’s cache (scoped)', await fetchAll(scoped[2]!.client, list));
    const kept = scopedBytes.reduce((a, b) => a + b.length, 0) / rawBytes.reduce((a, b) => a + b.length, 0);
    console.log(`scoped: a signed-in user of ${SCOPE} (session cookie); their tiles hold ${fmt(kept * 100, 0)}% of the bytes`);
    subjects.push(...scoped);
  }

  const measured = subjects.filter((s) => runs(s.name) || s.name === 'raw-sql' || s.name === 'cold' || s.name.endsWith('-scoped'));
  const rounds: Array<Map<string, Row>> = [];
  for (let r = 0; r < ROUNDS; r++) {
    console.log(`\nround ${r + 1} of ${ROUNDS}`);
    const rows = new Map<string, Row>();
    // Odd rounds run the subjects in reverse order, so none always runs first or after the same neighbour.
    for (const subject of r % 2 ? [...measured].reverse() : measured) rows.set(subject.name, await measure(subject, list, r === 0 ? WARMUP : 0));
    rounds.push(rows);
  }

  // Each round's ratio, and their median. On a saturated machine throughput is the inverse of CPU per tile, so
  // the CPU ratio is printed too: it holds even when others disturb the rates.
  console.log(`\nmedian of ${ROUNDS} rounds (tiles/s; cpu ms/tile of server + bench + postgres):`);
  for (const { name } of measured) {
    const rows = rounds.map((m) => m.get(name)!);
    console.log(
      `${name.padEnd(10)} ${fmt(median(rows.map((x) => x.rate))).padStart(8)} tiles/s  cpu ${fmt(median(rows.map((x) => x.cpuPerTile)), 2)} ms/tile  ` +
        `(rounds: ${rows.map((x) => fmt(x.rate, 0)).join(', ')})`,
    );
  }
  console.log('');
  const ratio = (a: string, b: string, target: number) => {
    if (!rounds[0]!.has(a) || !rounds[0]!.has(b)) {
      console.log(`${`${a}/${b}`.padEnd(13)} not measured (${[a, b].filter((n) => !rounds[0]!.has(n)).join(', ')} left out)`);
      return;
    }
    const rates = rounds.map((m) => m.get(a)!.rate / m.get(b)!.rate);
    const cpus = rounds.map((m) => m.get(b)!.cpuPerTile / m.get(a)!.cpuPerTile);
    const r = median(rates);
    console.log(
      `${`${a}/${b}`.padEnd(13)} ${fmt(r, 2)}  (target >= ${target})${r >= target ? '' : '  MISSED'}  rounds: ${rates.map((x) => fmt(x, 2)).join(', ')}` +
        `   by cpu per tile: ${fmt(median(cpus), 2)}`,
    );
  };
  ratio('cold', 'raw-sql', 0.85);
  ratio('warm', 'nginx', 0.5);
  if (runs('scoped')) {
    ratio('cold-scoped', 'raw-scoped', 0.85); // the server's own cost stays the same for a scoped user
    ratio('warm-scoped', 'warm', 0.8); // a session and a scoped cache key on a hit
    ratio('raw-scoped', 'raw-sql', 0); // what the scope costs (or saves) in the database: informative
  }
  if (nginxPort && runs('wrk')) await wrkRounds(tmp, list, { warm: warm.port, nginx: nginxPort }, cookie);
  if (runs('pgbench')) await pgbenchRounds(tmp, url, list, cold);
  if (disturbed.size) console.log(`\nWARNING: other processes were busy during ${[...disturbed].join(', ')}: those rates are low; cpu ms/tile is the robust figure`);
}

/** A wrk Lua script cycling through the tile list's paths. */
function writeWrkScript(tmp: string, list: readonly Tile[]): string {
  const script = path.join(tmp, 'tiles.lua');
  fs.writeFileSync(
    script,
    `local paths = {${list.map((t) => `"${t.path}"`).join(',')}}\nlocal i = 0\n` +
      `request = function()\n  i = i % #paths + 1\n  return wrk.format("GET", paths[i])\nend\n`,
  );
  return script;
}

/**
 * Cached tiles against nginx with wrk, a C client that is not the bottleneck (issue 17 §4: the Node client above
 * caps both servers). One thread, 8 connections, cycling through the same list of paths; interleaved rounds.
 */
async function wrkRounds(tmp: string, list: readonly Tile[], ports: { warm: number; nginx: number }, cookie: string): Promise<void> {
  const WRK = '/usr/bin/wrk';
  if (!fs.existsSync(WRK)) {
    console.log('\nwrk: not installed (Debian package wrk); the cached-tile comparison with a C client is skipped');
    return;
  }
  const script = writeWrkScript(tmp, list);
  const run = (port: number, headers: string[] = []) => {
    const out = execFileSync(WRK, ['-t1', '-c8', `-d${SECONDS}s`, ...headers.flatMap((h) => ['-H', h]), '-s', script, `http://127.0.0.1:${port}`], { encoding: 'utf8' });
    const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    if (/Non-2xx/.test(out)) throw new Error(`wrk saw error answers from port ${port}:\n${out}`);
    return rate;
  };
  console.log(`\nwith wrk (C client, 1 thread, 8 connections, ${SECONDS} s each, ${ROUNDS} rounds alternating):`);
  const rows: Array<{ warm: number; scoped: number; nginx: number }> = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? (['nginx', 'scoped', 'warm'] as const) : (['warm', 'scoped', 'nginx'] as const);
    const row = { warm: 0, scoped: 0, nginx: 0 };
    for (const k of order) row[k] = k === 'nginx' ? run(ports.nginx) : k === 'warm' ? run(ports.warm) : run(ports.warm, [`Cookie: ${cookie}`]);
    rows.push(row);
    console.log(`  round ${r + 1}: warm ${fmt(row.warm, 0)}  warm-scoped ${fmt(row.scoped, 0)}  nginx ${fmt(row.nginx, 0)} tiles/s`);
  }
  const ratio = median(rows.map((x) => x.warm / x.nginx));
  console.log(`wrk warm/nginx ${fmt(ratio, 2)}  (target >= 0.5)${ratio >= 0.5 ? '' : '  MISSED'}   warm-scoped/warm ${fmt(median(rows.map((x) => x.scoped / x.warm)), 2)}`);
}

/**
 * Cold tiles against the same SQL run by pgbench (C, libpq) at the same concurrency (issue 17 §4): the server
 * with its cache off, driven by wrk over the tile list, and pgbench running each layer's tile statement
 * (prepared, the same text) for a tile of the same list picked at random (its z/x/y looked up by \\gset).
 */
async function pgbenchRounds(tmp: string, url: string, list: readonly Tile[], cold: ServerChild): Promise<void> {
  const PGBENCH = '/usr/bin/pgbench';
  if (!fs.existsSync(PGBENCH) || !fs.existsSync('/usr/bin/wrk')) {
    console.log('\npgbench or wrk missing (Debian packages postgresql-client and wrk): the cold-tile comparison with pgbench is skipped');
    return;
  }
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const scripts: string[] = [];
  try {
    for (const layer of LAYERS) {
      const tiles = list.filter((t) => t.layer === layer);
      await db.query(`DROP TABLE IF EXISTS bench.tiles_${layer}`);
      await db.query(`CREATE TABLE bench.tiles_${layer} (i int PRIMARY KEY, z int, x int, y int)`);
      await db.query(`INSERT INTO bench.tiles_${layer} SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::int[])`, [
        tiles.map((_, i) => i + 1), tiles.map((t) => t.z), tiles.map((t) => t.x), tiles.map((t) => t.y),
      ]);
      const sql = cold.sql[layer]!.replace(/\$1\b/g, ':z').replace(/\$2\b/g, ':x').replace(/\$3\b/g, ':y').replace(/\$4\b/g, 'NULL').replace(/--[^\n]*/g, '').replace(/\s+/g, ' ');
      const file = path.join(tmp, `${layer}.pgbench`);
      fs.writeFileSync(file, `\\set i random(1, ${tiles.length})\nSELECT z, x, y FROM bench.tiles_${layer} WHERE i = :i \\gset\n${sql};\n`);
      scripts.push(file);
    }
  } finally {
    await db.end();
  }
  const wrkScript = writeWrkScript(tmp, list);
  const u = new URL(url);
  const env = { ...process.env, PGPASSWORD: decodeURIComponent(u.password) };
  const viaPgbench = () => {
    const out = execFileSync(PGBENCH, ['-n', '-M', 'prepared', '-c8', '-j2', `-T${SECONDS}`, ...scripts.flatMap((f) => ['-f', f]), '-h', u.hostname, '-p', u.port, '-U', decodeURIComponent(u.username), u.pathname.slice(1)], { encoding: 'utf8', env });
    return Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN);
  };
  const viaServer = () => {
    const out = execFileSync('/usr/bin/wrk', ['-t1', '-c8', `-d${SECONDS}s`, '-s', wrkScript, `http://127.0.0.1:${cold.port}`], { encoding: 'utf8' });
    return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  };
  console.log(`\ncold tiles: the server (cache off, wrk) against pgbench running the same statements, concurrency 8, ${SECONDS} s each, ${ROUNDS} rounds alternating:`);
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let server: number;
    let bench: number;
    if (r % 2) {
      bench = viaPgbench();
      server = viaServer();
    } else {
      server = viaServer();
      bench = viaPgbench();
    }
    ratios.push(server / bench);
    console.log(`  round ${r + 1}: server ${fmt(server, 0)}  pgbench ${fmt(bench, 0)} tiles/s`);
  }
  const ratio = median(ratios);
  console.log(`cold (wrk)/pgbench ${fmt(ratio, 2)}  (target >= 0.95)${ratio >= 0.95 ? '' : '  MISSED'}`);
}

runBenchmark('bench:tiles', main);
