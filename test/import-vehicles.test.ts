import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { importVehicleFile } from '../import/index.ts';
import { DATA, importDatabase, tempDir, type ImportDb } from './fixtures/import/helpers.ts';

/**
 * GPS logs into the vehicle store: the real Shenzhen taxi CSV (naive GMT+8 times), the real GPX car track
 * (UTC), GeoLife .plt made from it; cleaning counted, month partitions, stay points and trips, re-imports.
 */
let db: ImportDb;
let dir: string;
const taxi = path.join(DATA, 'vehicles', 'shenzhen_taxi_traj2.csv');
const car = path.join(DATA, 'gpx', 'gpxpy__around-visnjan-with-car.gpx');

test.before(async () => {
  db = await importDatabase();
  dir = tempDir();
});
test.after.always(async () => {
  await db?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const run = (file: string, vehicle: string, extra: Record<string, unknown> = {}) => importVehicleFile({ pool: db.pool, file, vehicle, ...extra });
const q = async <T = Record<string, unknown>>(sql: string, values: unknown[] = []) => (await db.pool.query(sql, values)).rows as T[];
const derived = async (vehicle: string) => ({
  stops: await q(`SELECT arrive, leave, duration_s, fixes, ST_AsText(geom) AS at FROM vehicles.stops WHERE vehicle_id = $1 ORDER BY arrive`, [vehicle]),
  trips: await q(`SELECT start_time, end_time, fixes, round(distance_m::numeric, 3) AS m, ST_AsText(geom) AS line FROM vehicles.trips WHERE vehicle_id = $1 ORDER BY start_time`, [vehicle]),
});

test.serial('the Shenzhen taxi log: naive times read as Asia/Shanghai, one trip as long as its line', async (t) => {
  const s = await run(taxi, '粤B·T0001');
  t.is(s.read, 14);
  t.is(s.imported, 14);
  t.is(s.first_fix, '2014-10-22T15:39:17.000Z', '23:39:17 GMT+8');
  t.is(s.last_fix, '2014-10-22T15:59:35.000Z');
  t.is(s.stops, 0);
  t.is(s.trips, 1);
  const [trip] = await q<{ distance_m: number; length: number; fixes: number }>(
    `SELECT distance_m, ST_Length(geom::geography) AS length, fixes FROM vehicles.trips WHERE vehicle_id = '粤B·T0001'`,
  );
  t.is(trip!.fixes, 14);
  t.true(Math.abs(trip!.distance_m - trip!.length) / trip!.length < 0.005, `${trip!.distance_m} m vs PostGIS ${trip!.length} m`);
  const speeds = await q<{ speed_kmh: number }>(`SELECT speed_kmh FROM vehicles.positions WHERE vehicle_id = '粤B·T0001' ORDER BY fix_time`);
  t.deepEqual(speeds.map((r) => r.speed_kmh), [27, 29, 27, 22, 1, 0, 0, 10, 6, 16, 31, 22, 22, 15], 'the speed column, km/h');
  const utc = await run(taxi, 'taxi-utc', { timezone: 'UTC' });
  t.is(utc.first_fix, '2014-10-22T23:39:17.000Z');
});

test.serial('the GPX car track: its ~2 minute stop is a stop at 60 s and not at the 180 s default', async (t) => {
  const s = await run(car, 'car-180');
  t.is(s.imported, 104);
  t.is(s.first_fix, '2020-12-18T06:15:50.000Z');
  const long = await q(`SELECT 1 FROM vehicles.stops WHERE vehicle_id = 'car-180' AND arrive <= '2020-12-18T06:19:39Z' AND leave >= '2020-12-18T06:21:26Z'`);
  t.is(long.length, 0);
  await run(car, 'car-60', { stopMinSeconds: 60 });
  // vehicle-tracking.md: "a ~2 min stop 06:19:39→06:21:26".
  const stop = await q<{ duration_s: number }>(
    `SELECT duration_s FROM vehicles.stops WHERE vehicle_id = 'car-60' AND arrive <= '2020-12-18T06:19:39Z' AND leave >= '2020-12-18T06:21:26Z'`,
  );
  t.is(stop.length, 1);
  // Trips lie between stops and never overlap them.
  const overlaps = await q(
    `SELECT 1 FROM vehicles.trips tr JOIN vehicles.stops st USING (vehicle_id)
     WHERE tr.vehicle_id = 'car-60' AND tr.start_time < st.leave AND tr.end_time > st.arrive`,
  );
  t.is(overlaps.length, 0);
});

test.serial('importing a log again adds nothing and derives the same stops and trips', async (t) => {
  const before = await derived('car-60');
  const again = await run(car, 'car-60', { stopMinSeconds: 60 });
  t.is(again.imported, 0);
  t.is(again.already_stored, 104);
  t.deepEqual(await derived('car-60'), before);
});

test.serial('a log imported in two halves derives what the whole log derives', async (t) => {
  const text = fs.readFileSync(car, 'utf8');
  const [head, ...pts] = text.split('<trkpt ');
  const tail = pts[pts.length - 1]!.slice(pts[pts.length - 1]!.indexOf('</trkpt>') + '</trkpt>'.length);
  pts[pts.length - 1] = pts[pts.length - 1]!.slice(0, pts[pts.length - 1]!.indexOf('</trkpt>') + '</trkpt>'.length);
  const half = (list: string[]) => `${head}${list.map((p) => `<trkpt ${p}`).join('')}${tail}`;
  const mid = 55;
  const a = path.join(dir, 'first.gpx');
  const b = path.join(dir, 'second.gpx');
  fs.writeFileSync(a, half(pts.slice(0, mid)));
  fs.writeFileSync(b, half(pts.slice(mid)));
  await run(b, 'car-halves', { stopMinSeconds: 60 });
  await run(a, 'car-halves', { stopMinSeconds: 60 });
  const whole = await derived('car-60');
  t.deepEqual(await derived('car-halves'), whole);
});

test.serial('GeoLife .plt (GMT times, altitude in feet) gives the same positions as the GPX it was written from', async (t) => {
  const text = fs.readFileSync(car, 'utf8');
  const fixes = text.split('<trkpt ').slice(1).map((p) => ({
    lat: /lat="([^"]+)"/.exec(p)![1],
    lon: /lon="([^"]+)"/.exec(p)![1],
    ele: Number(/<ele>([^<]+)</.exec(p)![1]),
    time: /<time>([^<]+)</.exec(p)![1]!,
  }));
  const lines = fixes.map((f) => `${f.lat},${f.lon},0,${(f.ele / 0.3048).toFixed(6)},0,${f.time.slice(0, 10)},${f.time.slice(11, 19)}`);
  const plt = path.join(dir, '20201218061550.plt');
  fs.writeFileSync(plt, ['Geolife trajectory', 'WGS 84', 'Altitude is in Feet', 'Reserved 3', '0,2,255,My Track,0,0,2,8421376', '0', ...lines].join('\r\n'));
  const s = await run(plt, 'car-plt');
  t.is(s.format, 'plt');
  t.is(s.imported, 104);
  const diff = await q(
    `SELECT p.fix_time FROM vehicles.positions p JOIN vehicles.positions g ON g.fix_time = p.fix_time AND g.vehicle_id = 'car-180'
     WHERE p.vehicle_id = 'car-plt' AND (NOT ST_Equals(p.geom, g.geom) OR abs(p.altitude_m - g.altitude_m) > 0.001)`,
  );
  t.is(diff.length, 0);
  t.is((await q(`SELECT count(*)::int AS n FROM vehicles.positions WHERE vehicle_id = 'car-plt'`))[0]!.n, 104);
});

test.serial('cleaning: invalid and zero fixes, duplicate instants and jumps are counted and left out, each with its row', async (t) => {
  const lines = fs.readFileSync(taxi, 'utf8').trim().split('\n');
  const bad = [
    ...lines,
    '1,114.0243,22.5312,2014-10-22 23:43:17,1.0,12.0', // row 16: the instant of row 6 again
    '1,0,0,2014-10-22 23:45:00,0,12.0', // row 17: the (0, 0) no-fix position
    '1,114.5,22.9,2014-10-22 23:46:00,0,12.0', // row 18: 60 km away within a minute, then back
    '1,114.02,22.53,yesterday,0,12.0', // row 19: unreadable time
  ];
  const file = path.join(dir, 'dirty.csv');
  fs.writeFileSync(file, `${bad.join('\n')}\n`);
  const s = await run(file, 'dirty');
  t.is(s.read, 18);
  t.is(s.imported, 14);
  t.deepEqual({ invalid: s.invalid, duplicates: s.duplicates, jumps: s.jumps }, { invalid: 2, duplicates: 1, jumps: 1 });
  t.deepEqual(s.rejected_rows.map((r) => r.row), [16, 17, 18, 19]);
  t.regex(s.rejected_rows.find((r) => r.row === 18)!.reason, /^jump: implies \d+ km\/h \(more than 180\)$/);
  const lower = await run(file, 'dirty-slow', { maxSpeedKmh: 5 });
  // The limit applies to isolated outliers only: driving faster than 5 km/h is consistent motion, not jumps.
  t.deepEqual(lower.rejected_rows.filter((r) => r.reason.startsWith('jump')).map((r) => r.row), [18], 'a lower limit drops the same spike, not the motion');
});

test.serial('positions are partitioned by day (the unit of retention); a vehicle belongs to the department that first imported it', async (t) => {
  const parts = await q<{ part: string; day: string; n: number }>(
    `SELECT tableoid::regclass::text AS part, to_char(fix_time AT TIME ZONE 'UTC', 'YYYYMMDD') AS day, count(*)::int AS n
     FROM vehicles.positions WHERE vehicle_id IN ('粤B·T0001', 'car-180') GROUP BY 1, 2 ORDER BY 1`,
  );
  // Every fix lies in the partition of its UTC day, and the two logs (2014-10, 2020-12) are all there.
  for (const p of parts) t.is(p.part, `vehicles.positions_${p.day}`);
  t.deepEqual([...new Set(parts.map((p) => p.day.slice(0, 6)))], ['201410', '202012']);
  t.is(parts.reduce((sum, p) => sum + p.n, 0), 118);
  const err = await t.throwsAsync(run(taxi, 'car-180', { owner: 'jtj' }));
  t.regex(err!.message, /vehicle car-180 belongs to department dsj/);
});

test.serial('a JT/T 808 frame log: location reports and batch uploads become fixes as the test vectors decode them', async (t) => {
  type Loc = { lat: number; lon: number; alt_m: number; speed_kmh: number; course: number; time_gmt8: string; fixed: boolean };
  const vectors = (JSON.parse(fs.readFileSync(path.join(DATA, 'vehicles', 'jt808_test_vectors.json'), 'utf8')) as Array<{
    hex: string;
    decoded: { msg_id?: string; location?: Loc; batch?: { items: Loc[] } };
  }>).filter((v) => v.decoded.msg_id); // the last vector is an escaping example, not a message
  const file = path.join(dir, 'terminal.log');
  fs.writeFileSync(file, `${vectors.map((v) => v.hex).join('\n')}\n`);
  const s = await run(file, 'jt808-log');
  const reports = vectors.flatMap((v) => (v.decoded.location ? [v.decoded.location] : (v.decoded.batch?.items ?? [])));
  const good = reports.filter((r) => r.fixed && Math.abs(r.lat) <= 90);
  t.is(s.format, 'jt808');
  t.is(s.read, reports.length);
  t.is(s.imported, good.length);
  t.is(s.invalid, reports.length - good.length, 'unfixed reports (the swapped go-jt808 pair) are invalid');
  t.true(s.warnings.some((w) => /carry no position/.test(w)));
  const stored = await q<{ t: string; lon: number; lat: number; altitude_m: number; speed_kmh: number; course: number }>(
    `SELECT to_char(fix_time AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS t, ST_X(geom) AS lon, ST_Y(geom) AS lat, altitude_m, speed_kmh, course
     FROM vehicles.positions WHERE vehicle_id = 'jt808-log' ORDER BY fix_time`,
  );
  const expected = good
    .map((r) => ({ t: r.time_gmt8, lon: r.lon, lat: r.lat, altitude_m: r.alt_m, speed_kmh: r.speed_kmh, course: r.course }))
    .sort((a, b) => a.t.localeCompare(b.t));
  t.deepEqual(stored, expected);
});
