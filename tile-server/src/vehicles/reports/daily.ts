import type pg from 'pg';
import { badRequest } from '../../errors.ts';
import { csvFile } from '../../csv.ts';

/**
 * The daily report (日报) and the regulator's figures (考核) over a range of city days: per vehicle and day the
 * fixes stored and refused, the mileage (the sum of the legs between consecutive stored fixes), the top speed
 * and the alarms by type; and for the period 入网率, 上线率, 数据合格率, overspeed per online vehicle and the
 * fatigue alarms. Definitions in README ("Vehicle reports"). Days are Huai'an's (UTC+8), `to` inclusive.
 */
export const REPORT_MAX_DAYS = 31;
const CITY_OFFSET_MS = 8 * 3600_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export interface ReportRange {
  from: string;
  to: string;
  start: Date;
  end: Date;
  days: string[];
}

function cityDay(v: unknown, name: string): number {
  const m = typeof v === 'string' ? DATE.exec(v) : null;
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || !Number.isFinite(t) || new Date(t).toISOString().slice(0, 10) !== v)
    throw badRequest('invalid_range', `${name} is a city date YYYY-MM-DD${typeof v === 'string' ? ` (not "${v.slice(0, 20)}")` : ''}`);
  return t;
}

export function parseReportRange(q: Record<string, unknown>): ReportRange {
  const from = cityDay(q.from, 'from');
  const to = cityDay(q.to, 'to');
  if (to < from) throw badRequest('invalid_range', `to (${q.to}) is before from (${q.from})`);
  const n = (to - from) / 86_400_000 + 1;
  if (n > REPORT_MAX_DAYS) throw badRequest('range_too_long', `a report covers at most ${REPORT_MAX_DAYS} days`);
  const days = Array.from({ length: n }, (_, i) => new Date(from + i * 86_400_000).toISOString().slice(0, 10));
  return { from: q.from as string, to: q.to as string, start: new Date(from - CITY_OFFSET_MS), end: new Date(to + 86_400_000 - CITY_OFFSET_MS), days };
}

// Per vehicle and city day: legs are counted on the day of the fix that ends them, from the vehicle's previous fix
// (up to a day earlier: the first leg of a day starts at the day before's last fix), so a day's figures do not
// depend on the range asked for and can be kept (vehicles.day_stats). A leg's length is the equirectangular
// distance on the sphere (R = 6,371,008.8 m): within 0.1 % of the great circle for legs of a few km, and plain
// arithmetic instead of a PostGIS call per leg (1.6× faster: 3.1 s instead of 4.9 s for 864,000 fixes in
// bench/vehicle-reports.ts on 2 cores).
/**
 * 轨迹完整率: the track is broken where two consecutive stored fixes are more than this apart (the 考核 tables leave
 * the gap open; 5 km is what a vehicle at 60 km/h covers between fixes 5 minutes apart, the slowest reporting the
 * rules allow while driving). Such a leg counts in the mileage, not in the complete mileage.
 */
export const BROKEN_LEG_M = 5000;

const DAYS_SQL = `WITH f AS (
  SELECT vehicle_id, fix_time, speed_kmh, ST_X(geom) AS x, ST_Y(geom) AS y
  FROM vehicles.positions
  WHERE fix_time >= $1::timestamptz - interval '1 day' AND fix_time < $2 AND vehicle_id = ANY ($3)
), p AS (
  SELECT vehicle_id, fix_time, speed_kmh, ((fix_time AT TIME ZONE 'UTC') + interval '8 hours')::date AS day, x, y,
         lag(x) OVER w AS px, lag(y) OVER w AS py
  FROM f WINDOW w AS (PARTITION BY vehicle_id ORDER BY fix_time)
)
SELECT vehicle_id AS "vehicleId", to_char(day, 'YYYY-MM-DD') AS date, count(*)::int AS fixes,
       round((coalesce(sum(leg), 0) / 1000)::numeric, 3)::float8 AS "mileageKm",
       round((coalesce(sum(leg) FILTER (WHERE leg <= ${BROKEN_LEG_M}), 0) / 1000)::numeric, 3)::float8 AS "completeKm",
       coalesce(max(speed_kmh), 0)::float8 AS "maxSpeedKmh"
FROM (SELECT *, 111195.08 * sqrt(((x - px) * cos(radians((y + py) / 2))) ^ 2 + (y - py) ^ 2) AS leg FROM p WHERE fix_time >= $1) l
GROUP BY vehicle_id, day`;

const KEPT_SQL = `SELECT vehicle_id AS "vehicleId", to_char(day, 'YYYY-MM-DD') AS date, fixes, mileage_km AS "mileageKm", complete_km AS "completeKm", max_speed_kmh AS "maxSpeedKmh"
FROM vehicles.day_stats WHERE vehicle_id = ANY ($1) AND day >= $2::date AND day <= $3::date`;

// Every (vehicle, day) of the computed span is kept, the days without fixes as zeros.
const KEEP_SQL = `INSERT INTO vehicles.day_stats (vehicle_id, day, fixes, mileage_km, complete_km, max_speed_kmh)
SELECT v, d::date, coalesce(r.fixes, 0), coalesce(r."mileageKm", 0), coalesce(r."completeKm", 0), coalesce(r."maxSpeedKmh", 0)
FROM unnest($1::text[]) v CROSS JOIN unnest($2::date[]) d
LEFT JOIN json_to_recordset($3::json) AS r("vehicleId" text, date date, fixes int, "mileageKm" float8, "completeKm" float8, "maxSpeedKmh" float8)
  ON r."vehicleId" = v AND r.date = d
ON CONFLICT (vehicle_id, day) DO UPDATE SET fixes = EXCLUDED.fixes, mileage_km = EXCLUDED.mileage_km,
  complete_km = EXCLUDED.complete_km, max_speed_kmh = EXCLUDED.max_speed_kmh, computed_at = now()`;

// 卫星定位漂移: a vehicle drifted in the period when the filters refused a fix of it as a jump (an implied speed
// above IMPORT_MAX_SPEED_KMH, which the live filters use too, from its previous fix).
const DRIFT_SQL = `SELECT DISTINCT vehicle_id AS "vehicleId" FROM vehicles.rejected_fixes
WHERE received_at >= $1 AND received_at < $2 AND vehicle_id = ANY ($3) AND reason LIKE 'jump:%'`;

const REJECTED_SQL = `SELECT vehicle_id AS "vehicleId", to_char(((received_at AT TIME ZONE 'UTC') + interval '8 hours')::date, 'YYYY-MM-DD') AS date, count(*)::int AS n
FROM vehicles.rejected_fixes
WHERE received_at >= $1 AND received_at < $2 AND vehicle_id = ANY ($3)
GROUP BY 1, 2`;

const ALARMS_SQL = `SELECT vehicle_id AS "vehicleId", to_char(((first_at AT TIME ZONE 'UTC') + interval '8 hours')::date, 'YYYY-MM-DD') AS date, type, count(*)::int AS n
FROM vehicles.alarms
WHERE first_at >= $1 AND first_at < $2 AND vehicle_id = ANY ($3)
GROUP BY 1, 2, 3`;

// 入网: a terminal has registered on the platform (it holds an auth code).
const CONNECTED_SQL = `SELECT vehicle_id AS "vehicleId" FROM vehicles.terminals WHERE registered_at IS NOT NULL AND vehicle_id = ANY ($1)`;

/**
 * Run queries in one transaction with JIT off: PostGIS's distance functions carry a high planner cost, so the legs'
 * query looks expensive enough to be JIT-compiled, which costs more than the query itself (bench:vehicles).
 */
async function withoutJit<T>(pool: pg.Pool, f: (c: pg.PoolClient) => Promise<T>, mode = 'READ ONLY'): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query(`BEGIN ${mode}`);
    await c.query('SET LOCAL jit = off');
    const out = await f(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

type DayRow = { vehicleId: string; date: string; fixes: number; mileageKm: number; completeKm: number; maxSpeedKmh: number };
const DAY_MS = 86_400_000;
const dayStart = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) - CITY_OFFSET_MS);

/**
 * The per-day figures of the range: days that are over come from vehicles.day_stats, and those not kept yet (or
 * forgotten because fixes came late) are computed once and kept; the current day is always computed.
 */
export async function vehicleDays(pool: pg.Pool, ids: string[], range: ReportRange, now = new Date()): Promise<DayRow[]> {
  const over = range.days.filter((d) => dayStart(d).getTime() + DAY_MS <= now.getTime());
  const open = range.days.filter((d) => !over.includes(d));
  const rows: DayRow[] = [];
  if (over.length) {
    const kept = (await pool.query<DayRow>(KEPT_SQL, [ids, over[0], over.at(-1)])).rows;
    rows.push(...kept);
    const have = new Set(kept.map((r) => `${r.vehicleId}\u0000${r.date}`));
    const missing = ids.filter((id) => over.some((d) => !have.has(`${id}\u0000${d}`)));
    if (missing.length) {
      const todo = over.filter((d) => missing.some((id) => !have.has(`${id}\u0000${d}`)));
      const span = over.slice(over.indexOf(todo[0]!), over.indexOf(todo.at(-1)!) + 1);
      const computed = await withoutJit(
        pool,
        async (c) => {
          // Late fixes wait while this runs (the trigger of migration 0055), so what is kept is what was read.
          await c.query(`SELECT pg_advisory_xact_lock(hashtext('vehicles.day_stats'))`);
          const r = (await c.query<DayRow>(DAYS_SQL, [dayStart(span[0]!), new Date(dayStart(span.at(-1)!).getTime() + DAY_MS), missing])).rows;
          await c.query(KEEP_SQL, [missing, span, JSON.stringify(r)]);
          return r;
        },
        'READ WRITE',
      );
      const inSpan = new Set(span);
      const fresh = new Set(missing);
      for (let i = rows.length - 1; i >= 0; i--) if (fresh.has(rows[i]!.vehicleId) && inSpan.has(rows[i]!.date)) rows.splice(i, 1);
      rows.push(...computed);
    }
  }
  if (open.length)
    rows.push(...(await withoutJit(pool, (c) => c.query<DayRow>(DAYS_SQL, [dayStart(open[0]!), range.end, ids]))).rows);
  return rows.filter((r) => r.fixes > 0);
}

export interface ReportVehicle {
  id: string;
  plate: string | null;
  type: string;
  group: string | null;
  company: string | null;
}

export interface VehicleDay {
  date: string;
  fixes: number;
  rejected: number;
  mileageKm: number;
  maxSpeedKmh: number;
  alarms: Record<string, number>;
}

const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 10_000) / 10_000);

export async function dailyReport(pool: pg.Pool, vehicles: ReportVehicle[], range: ReportRange) {
  const ids = vehicles.map((v) => v.id);
  const args = [range.start, range.end, ids];
  const [days, rejected, alarms, connected, drift] = await Promise.all([
    vehicleDays(pool, ids, range),
    pool.query<{ vehicleId: string; date: string; n: number }>(REJECTED_SQL, args),
    pool.query<{ vehicleId: string; date: string; type: string; n: number }>(ALARMS_SQL, args),
    pool.query<{ vehicleId: string }>(CONNECTED_SQL, [ids]),
    pool.query<{ vehicleId: string }>(DRIFT_SQL, args),
  ]);
  const table = new Map<string, Map<string, VehicleDay>>();
  const cell = (id: string, date: string) => {
    let byDay = table.get(id);
    if (!byDay) table.set(id, (byDay = new Map()));
    let d = byDay.get(date);
    if (!d) byDay.set(date, (d = { date, fixes: 0, rejected: 0, mileageKm: 0, maxSpeedKmh: 0, alarms: {} }));
    return d;
  };
  let complete = 0;
  for (const r of days) {
    Object.assign(cell(r.vehicleId, r.date), { fixes: r.fixes, mileageKm: r.mileageKm, maxSpeedKmh: r.maxSpeedKmh });
    complete += r.completeKm;
  }
  for (const r of rejected.rows) cell(r.vehicleId, r.date).rejected = r.n;
  for (const r of alarms.rows) cell(r.vehicleId, r.date).alarms[r.type] = r.n;

  const connectedIds = new Set(connected.rows.map((r) => r.vehicleId));
  const onlineIds = new Set(days.map((r) => r.vehicleId));
  let fixes = 0;
  let refused = 0;
  let mileage = 0;
  const alarmTotals: Record<string, number> = {};
  for (const byDay of table.values())
    for (const d of byDay.values()) {
      fixes += d.fixes;
      refused += d.rejected;
      mileage += d.mileageKm;
      for (const [type, n] of Object.entries(d.alarms)) alarmTotals[type] = (alarmTotals[type] ?? 0) + n;
    }
  return {
    from: range.from,
    to: range.to,
    days: range.days,
    vehicles: vehicles.map((v) => ({ ...v, days: range.days.map((date) => table.get(v.id)?.get(date) ?? { date, fixes: 0, rejected: 0, mileageKm: 0, maxSpeedKmh: 0, alarms: {} }) })),
    summary: {
      vehicles: vehicles.length,
      connected: connectedIds.size,
      online: onlineIds.size,
      fixes,
      rejected: refused,
      mileageKm: Math.round(mileage * 1000) / 1000,
      alarms: alarmTotals,
      // 考核 figures (README: definitions).
      connectionRate: ratio(connectedIds.size, vehicles.length),
      onlineRate: ratio([...onlineIds].filter((id) => connectedIds.has(id)).length, connectedIds.size),
      dataQualifiedRate: ratio(fixes, fixes + refused),
      trackCompletenessRate: ratio(complete, mileage),
      driftVehicleRate: ratio(drift.rows.filter((r) => onlineIds.has(r.vehicleId)).length, onlineIds.size),
      overspeedPerOnlineVehicle: ratio(alarmTotals.overspeed ?? 0, onlineIds.size),
      fatigueAlarms: alarmTotals.fatigue_driving ?? 0,
    },
  };
}

const ALARM_COLUMNS = ['overspeed', 'fatigue_driving', 'stop_outside_area', 'fence_no_entry', 'route_deviation', 'offline'] as const;

/** The report as CSV (one row per vehicle and day; Excel opens it as UTF-8 thanks to the BOM). */
export function reportCsv(report: Awaited<ReturnType<typeof dailyReport>>): string {
  const header = ['日期 date', '车牌 plate', '类型 type', '分组 group', '企业 company', '定位点 fixes', '不合格 rejected', '里程km mileage_km', '最高速度 max_speed_kmh', '报警 alarms', ...ALARM_COLUMNS];
  const rows = report.vehicles.flatMap((v) =>
    v.days.map((d) => [d.date, v.plate ?? v.id, v.type, v.group, v.company, d.fixes, d.rejected, d.mileageKm, d.maxSpeedKmh, Object.values(d.alarms).reduce((a, b) => a + b, 0), ...ALARM_COLUMNS.map((c) => d.alarms[c] ?? 0)]),
  );
  return csvFile(header, rows);
}
