// `npm run bench:vehicles`: the JT/T 808 gateway under load, against references measured in the same run.
//  1. sustained fixes/s from simulated terminals through the gateway into vehicles.positions, vs a plain COPY of
//     the same number of rows into the same partitioned table (goal ≥ 0.5×);
//  2. fix-to-desk latency p50/p99 with BENCH_TERMINALS (5,000) terminals reporting every 10 s (goal p99 < 1 s);
//  3. BENCH_IDLE (10,000) idle connections held: the gateway process's RSS before and after;
//  4. the month report for 1,000 vehicles (bench/vehicle-reports.ts).
import { fork } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import WebSocket from 'ws';
import { startEmbeddedCluster } from '../tile-server/src/db/embedded.ts';
import { MSG, encodeLocation } from '../tile-server/src/vehicles/jt808/messages.ts';
import { SimTerminal } from '../test/helpers/jt808-terminal.ts';
import { treeCpuSeconds } from './load.ts';
import { cleanups, median, runBenchmark } from './setup.ts';
import { benchMonthReport } from './vehicle-reports.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const TERMINALS = Number(process.env.BENCH_TERMINALS ?? 5000);
const IDLE = Number(process.env.BENCH_IDLE ?? 10_000);
const THROUGHPUT_TERMINALS = 100;
const WINDOW = 16;

interface ChildStats {
  written: number;
  lost: number;
  rss: number;
  sessions: number;
  cpu: { user: number; system: number };
}

runBenchmark('bench:vehicles', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-bench-vehicles-'));
  fs.chmodSync(tmp, 0o755);
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  let url = process.env.DATABASE_URL;
  let postmaster = 0; // the embedded cluster's, whose CPU is reported per fix
  const pgCpu = () => (postmaster ? treeCpuSeconds(postmaster) : NaN);
  if (!url) {
    const cluster = await startEmbeddedCluster({
      dataDir: path.join(tmp, 'pg'),
      settings: { shared_buffers: '512MB', max_connections: '100', fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
    cleanups.push(() => cluster.stop());
    url = cluster.url;
    postmaster = Number(fs.readFileSync(path.join(tmp, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  }
  console.log(`machine: nproc ${os.availableParallelism()}, node ${process.version}; ${SECONDS} s per measurement`);

  const child = fork(path.join(import.meta.dirname, 'vehicles-child.ts'), [], {
    env: { ...process.env, DATABASE_URL: url, BENCH_DATA_DIR: tmp },
    execArgv: [...(process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx'],
  });
  cleanups.push(() => child.kill());
  const ready = (await once(child, 'message'))[0] as { gatewayPort: number; httpPort: number };
  const ask = async (cmd: string): Promise<ChildStats> => {
    child.send({ cmd });
    for (;;) {
      const [m] = (await once(child, 'message')) as [ChildStats & { cmd: string }];
      if (m.cmd === cmd) return m;
    }
  };

  const pool = new pg.Pool({ connectionString: url, max: 4 });
  cleanups.push(() => pool.end());
  // The fleet: TERMINALS vehicles of jtj whose terminals authenticate with the code "bench".
  await pool.query(`INSERT INTO vehicles.vehicles (id, department_id, plate, plate_color, vehicle_type)
    SELECT 'B' || lpad(i::text, 5, '0'), 'jtj', 'B' || lpad(i::text, 5, '0'), 2, 'muck_truck' FROM generate_series(1, $1) i`, [TERMINALS]);
  await pool.query(`INSERT INTO vehicles.terminals (phone, vehicle_id, auth_hash, registered_at)
    SELECT (13900000000 + i)::text, 'B' || lpad(i::text, 5, '0'), encode(sha256('bench'), 'hex'), now() FROM generate_series(1, $1) i`, [TERMINALS]);
  const key = `cb_${Buffer.alloc(32, 7).toString('base64url').slice(0, 43)}`;
  await pool.query(`INSERT INTO citybase.api_keys (department_id, key_hash, label, rights) VALUES ('jtj', encode(sha256($1::bytea), 'hex'), 'bench', '{vehicle:watch}')`, [key]);
  await ask('refresh');

  const login = async (i: number) => {
    const t = await SimTerminal.connect(ready.gatewayPort, String(13900000000 + i));
    if ((await t.authenticate('bench')) !== 0) throw new Error(`terminal ${i} was not authenticated`);
    return t;
  };
  const base = Math.floor(Date.now() / 1000) * 1000 - 20 * 3600_000;

  // ---- 1. throughput through the gateway ----
  // The terminals log in as SimTerminals, then flood: each keeps WINDOW location frames in flight and sends as
  // many new ones as replies came back, in one write. The frames are encoded before the clock starts and replies
  // are only counted (a frame is one pair of 0x7E flags), so the load generator, which shares the two cores, costs
  // little next to the gateway; the gateway still decodes, checks, answers and stores every frame on its own.
  const heavy = await Promise.all(Array.from({ length: THROUGHPUT_TERMINALS }, (_, i) => login(i + 1)));
  const PER_TERMINAL = Number(process.env.BENCH_FRAMES ?? 10_000);
  const frames = heavy.map((t, k) =>
    Array.from({ length: PER_TERMINAL }, (_, i) =>
      t.frame(MSG.location, encodeLocation({ lat: 33.5 + (i % 1000) * 1e-5, lon: 119 + k * 1e-3, speedKmh: 30, time: base + i * 1000 })),
    ),
  );
  const before = await ask('flush');
  const benchCpu0 = process.cpuUsage();
  const pg0 = pgCpu();
  const started = performance.now();
  let sent = 0;
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    heavy.map(
      (t, k) =>
        new Promise<void>((resolve) => {
          let next = 0;
          let flags = 0;
          let inFlight = 0;
          const send = (n: number) => {
            const end = Math.min(next + n, PER_TERMINAL);
            if (end <= next) return;
            t.socket.write(end - next === 1 ? frames[k]![next]! : Buffer.concat(frames[k]!.slice(next, end)));
            inFlight += end - next;
            next = end;
          };
          t.socket.removeAllListeners('data');
          t.socket.on('data', (chunk: Buffer) => {
            for (let i = chunk.indexOf(0x7e); i !== -1; i = chunk.indexOf(0x7e, i + 1)) flags++;
            const replies = flags >> 1;
            flags &= 1;
            inFlight -= replies;
            sent += replies;
            if (performance.now() < deadline && next < PER_TERMINAL) send(replies);
            else if (inFlight === 0) resolve();
          });
          send(WINDOW);
        }),
    ),
  );
  const after = await ask('flush');
  const benchCpu = process.cpuUsage(benchCpu0);
  const gatewayPgUs = (pgCpu() - pg0) * 1e6;
  const gatewaySeconds = (performance.now() - started) / 1000;
  const written = after.written - before.written;
  const gatewayRate = written / gatewaySeconds;
  for (const t of heavy) t.end();

  // ---- reference: COPY of as many rows into the same partitioned table ----
  const client = await pool.connect();
  const refBase = base - 10 * 86_400_000;
  for (let d = 0; d < 3; d++) await client.query(`SELECT vehicles.ensure_day('positions', $1)`, [new Date(refBase + d * 86_400_000)]);
  const copyStarted = performance.now();
  const copyPg0 = pgCpu();
  const copy = client.query(copyFrom(`COPY vehicles.positions (vehicle_id, fix_time, geom, speed_kmh, course, altitude_m, source, alarm, status, received_at) FROM STDIN`));
  const done = new Promise<void>((resolve, reject) => {
    copy.on('finish', resolve);
    copy.on('error', reject);
  });
  let chunk = '';
  for (let i = 0; i < written; i++) {
    const v = `B${String((i % THROUGHPUT_TERMINALS) + 1).padStart(5, '0')}`;
    chunk += `${v}\t${new Date(refBase + Math.floor(i / THROUGHPUT_TERMINALS) * 1000).toISOString()}\tSRID=4326;POINT(119.1 33.5)\t30\t0\t0\tjt808:ref\t0\t3\t${new Date().toISOString()}\n`;
    if (chunk.length > 65536) {
      if (!copy.write(chunk)) await once(copy, 'drain');
      chunk = '';
    }
  }
  copy.end(chunk);
  await done;
  const copyRate = written / ((performance.now() - copyStarted) / 1000);
  const copyPgUs = (pgCpu() - copyPg0) * 1e6;
  client.release();
  console.log(
    `throughput: gateway ${Math.round(gatewayRate)} fixes/s (${THROUGHPUT_TERMINALS} terminals, ${WINDOW} in flight each, ${written} written, ${after.lost - before.lost} lost; ` +
      `${sent} answered; the load generator shares the machine) | COPY ${Math.round(copyRate)} rows/s | ratio ${(gatewayRate / copyRate).toFixed(2)}× (goal ≥ 0.5×)`,
  );
  // Who is busy: the gateway process and the simulated terminals (this process), in CPU per fix and cores.
  const us = (c: { user: number; system: number }) => c.user + c.system;
  const gatewayUs = us(after.cpu) - us(before.cpu);
  console.log(
    `  cpu per fix: gateway ${(gatewayUs / written).toFixed(1)} µs (${((gatewayUs / 1e6 / gatewaySeconds) * 100).toFixed(0)}% of a core), ` +
      `simulated terminals ${(us(benchCpu) / written).toFixed(1)} µs (${((us(benchCpu) / 1e6 / gatewaySeconds) * 100).toFixed(0)}% of a core), ` +
      `PostgreSQL ${(gatewayPgUs / written).toFixed(1)} µs (COPY alone: ${(copyPgUs / written).toFixed(1)} µs)`,
  );

  // ---- 2. fix-to-desk latency at TERMINALS terminals every 10 s ----
  const fleet: SimTerminal[] = [];
  for (let i = 1; i <= TERMINALS; i += 200) fleet.push(...(await Promise.all(Array.from({ length: Math.min(200, TERMINALS - i + 1) }, (_, k) => login(i + k)))));
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const desk = new WebSocket(`ws://127.0.0.1:${ready.httpPort}/api/vehicles/live?key=${key}`);
  desk.on('message', (data) => {
    const now = performance.now();
    const m = JSON.parse(String(data)) as { vehicles: Array<{ id: string; time: number }> };
    for (const v of m.vehicles) {
      const at = sentAt.get(`${v.id}@${v.time}`);
      if (at !== undefined) latencies.push(now - at);
    }
  });
  await once(desk, 'open');
  const measureMs = Math.max(30, SECONDS * 3) * 1000;
  const t0 = performance.now();
  const fixTime = Math.floor(Date.now() / 1000) * 1000 - 3600_000;
  await Promise.all(
    fleet.map(async (t, k) => {
      await new Promise((r) => setTimeout(r, (k / fleet.length) * 10_000));
      for (let round = 0; performance.now() - t0 < measureMs; round++) {
        const time = fixTime + round * 10_000; // whole seconds: the terminal's BCD time has no milliseconds
        const id = `B${String(k + 1).padStart(5, '0')}`;
        sentAt.set(`${id}@${time}`, performance.now());
        t.socket.write(t.frame(MSG.location, encodeLocation({ lat: 33.5 + round * 1e-4, lon: 119 + k * 1e-5, speedKmh: 20, time })));
        await new Promise((r) => setTimeout(r, 10_000));
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 1500));
  desk.close();
  const sorted = latencies.sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  console.log(
    `latency: ${TERMINALS} terminals every 10 s, ${latencies.length} fixes seen on the desk of ${sentAt.size} sent: p50 ${pct(0.5).toFixed(0)} ms, p99 ${pct(0.99).toFixed(0)} ms (goal p99 < 1000 ms; median of all: ${median(sorted).toFixed(0)} ms)`,
  );
  for (const t of fleet) t.end();
  await new Promise((r) => setTimeout(r, 1000));

  // ---- 3. idle connections ----
  const quiet = await ask('stats');
  const idle: net.Socket[] = [];
  for (let i = 0; i < IDLE; i++) {
    const s = net.connect(ready.gatewayPort, '127.0.0.1');
    s.on('error', () => {});
    idle.push(s);
    if (i % 500 === 499) await once(s, 'connect');
  }
  await new Promise((r) => setTimeout(r, 2000));
  const held = await ask('stats');
  console.log(
    `idle: ${held.sessions} connections held; gateway RSS ${(quiet.rss / 2 ** 20).toFixed(0)} MiB → ${(held.rss / 2 ** 20).toFixed(0)} MiB ` +
      `(${(((held.rss - quiet.rss) / Math.max(1, held.sessions - quiet.sessions)) / 1024).toFixed(1)} KiB per connection)`,
  );
  for (const s of idle) s.destroy();
  // BENCH_MONTH=0 leaves out the month report (its data takes minutes to make; bench/vehicle-reports.ts alone runs it).
  if (process.env.BENCH_MONTH !== '0') await benchMonthReport(url);
});
