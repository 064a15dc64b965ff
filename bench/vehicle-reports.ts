// The month report (GET /api/vehicles/reports/daily's query) for BENCH_REPORT_VEHICLES (1,000) vehicles over
// BENCH_REPORT_DAYS (30) days of fixes every BENCH_REPORT_PERIOD_S (300) s, against a reference measured in the
// same run: one plain scan (count and sum) of the same rows. Goal of issue 12: < 2 s. Part of
// `npm run bench:vehicles`; alone: `node --import tsx bench/vehicle-reports.ts` (DATABASE_URL or an embedded cluster).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedCluster } from '../tile-server/src/db/embedded.ts';
import { migrate } from '../tile-server/src/db/migrate.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { dailyReport, parseReportRange } from '../tile-server/src/vehicles/reports/daily.ts';
import { cleanups, median, runBenchmark } from './setup.ts';

const VEHICLES = Number(process.env.BENCH_REPORT_VEHICLES ?? 1000);
const DAYS = Number(process.env.BENCH_REPORT_DAYS ?? 30);
const PERIOD_S = Number(process.env.BENCH_REPORT_PERIOD_S ?? 300);
const RUNS = 3;

export async function benchMonthReport(url: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  try {
    await migrate(pool, createLogger('warn'));
    // City days ending yesterday (within any retention), made and filled in SQL.
    const last = new Date(Date.now() + 8 * 3600_000 - 86_400_000).toISOString().slice(0, 10);
    const first = new Date(Date.parse(last) - (DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
    const range = parseReportRange({ from: first, to: last });
    const t0 = performance.now();
    await pool.query(`DELETE FROM vehicles.alarms WHERE vehicle_id LIKE 'BENCH%'`);
    await pool.query(`DELETE FROM vehicles.positions WHERE vehicle_id LIKE 'BENCH%'`);
    await pool.query(
      `INSERT INTO vehicles.vehicles (id, department_id, plate, plate_color, vehicle_type) SELECT 'BENCH' || i, 'jtj', 'BENCH' || i, 2, 'muck_truck' FROM generate_series(1, $1) i ON CONFLICT DO NOTHING`,
      [VEHICLES],
    );
    await pool.query(`SELECT vehicles.ensure_day('positions', d) FROM generate_series($1::timestamptz, $2::timestamptz - interval '1 second', interval '1 day') d`, [range.start, range.end]);
    await pool.query(`SELECT vehicles.ensure_day('positions', $1::timestamptz - interval '1 second')`, [range.end]);
    // One day at a time (bounded memory): each vehicle drives a slow circle, a fix every PERIOD_S.
    for (let d = 0; d < DAYS; d++)
      await pool.query(
        `INSERT INTO vehicles.positions (vehicle_id, fix_time, geom, speed_kmh, course, source)
         SELECT 'BENCH' || v, t, ST_SetSRID(ST_MakePoint(119 + v * 1e-4 + 0.01 * cos(k / 20.0), 33.5 + 0.01 * sin(k / 20.0)), 4326), 30 + (k % 20), 0, 'bench'
         FROM generate_series(1, $1) v, generate_series(0, 86400 / $2 - 1) k, LATERAL (SELECT $3::timestamptz + (($4 * 86400 + k * $2) * interval '1 second') AS t) x`,
        [VEHICLES, PERIOD_S, range.start, d],
      );
    await pool.query(`ANALYZE vehicles.positions`);
    const rows = (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vehicles.positions WHERE vehicle_id LIKE 'BENCH%'`)).rows[0]!.n;
    console.log(`month report: ${VEHICLES} vehicles × ${DAYS} days, a fix every ${PERIOD_S} s = ${rows.toLocaleString('en')} fixes (made in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);

    const vehicles = Array.from({ length: VEHICLES }, (_, i) => ({ id: `BENCH${i + 1}`, plate: `BENCH${i + 1}`, type: 'muck_truck', group: null, company: null }));
    const timed = async (f: () => Promise<unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const s = performance.now();
        await f();
        times.push(performance.now() - s);
      }
      return median(times);
    };
    const scan = await timed(() =>
      pool.query(`SELECT count(*), sum(speed_kmh) FROM vehicles.positions WHERE fix_time >= $1 AND fix_time < $2 AND vehicle_id = ANY ($3)`, [range.start, range.end, vehicles.map((v) => v.id)]),
    );
    // The first report computes every day from the fixes and keeps the figures (vehicles.day_stats); the next
    // ones read what was kept. Both are printed: the first is what a month costs once, the second every time after.
    await pool.query(`DELETE FROM vehicles.day_stats WHERE vehicle_id LIKE 'BENCH%'`);
    const t1 = performance.now();
    await dailyReport(pool, vehicles, range);
    const firstMs = performance.now() - t1;
    const report = await timed(() => dailyReport(pool, vehicles, range));
    console.log(`month report, first (computes and keeps ${VEHICLES * DAYS} vehicle-days): ${(firstMs / 1000).toFixed(2)} s = ${(firstMs / scan).toFixed(1)} × a plain scan of the same rows`);
    console.log(
      `month report: ${(report / 1000).toFixed(2)} s (median of ${RUNS}, days kept; goal < 2 s) = ${(report / scan).toFixed(2)} × a plain scan of the same rows (${(scan / 1000).toFixed(2)} s)`,
    );
  } finally {
    await pool.end();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  runBenchmark('bench:vehicle-reports', async () => {
    let url = process.env.DATABASE_URL;
    if (!url) {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-bench-reports-'));
      fs.chmodSync(tmp, 0o755);
      cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
      const cluster = await startEmbeddedCluster({ dataDir: path.join(tmp, 'pg'), settings: { shared_buffers: '512MB', fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_wal_size: '4GB' } });
      cleanups.push(() => cluster.stop());
      url = cluster.url;
    }
    console.log(`machine: nproc ${os.availableParallelism()}, node ${process.version}`);
    await benchMonthReport(url);
  });
