import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Fix } from './clean.ts';
import type { Stop, Trip } from './staypoints.ts';

/** The vehicle store's SQL: positions in, the window of positions to re-derive out, stops and trips replaced. */

export async function copyFixes(client: pg.ClientBase, fixes: Fix[]): Promise<void> {
  await client.query(
    `CREATE TEMP TABLE fix_stage (fix_time timestamptz, lon float8, lat float8, speed real, course real, altitude real) ON COMMIT DROP`,
  );
  const copy = client.query(copyFrom(`COPY fix_stage FROM STDIN`));
  const done = new Promise<void>((resolve, reject) => {
    copy.on('finish', resolve);
    copy.on('error', reject);
  });
  const n = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '\\N' : String(v));
  let batch = '';
  for (const f of fixes) {
    batch += `${new Date(f.time).toISOString()}\t${f.lon}\t${f.lat}\t${n(f.speedKmh)}\t${n(f.course)}\t${n(f.altitudeM)}\n`;
    if (batch.length > 65536) {
      if (!copy.write(batch)) await once(copy, 'drain');
      batch = '';
    }
  }
  copy.end(batch);
  await done;
}

/** New fixes only: a vehicle has one fix per instant, so importing a file twice adds nothing. */
export const INSERT_POSITIONS_SQL = `
INSERT INTO vehicles.positions (vehicle_id, fix_time, geom, speed_kmh, course, altitude_m, source)
SELECT $1, fix_time, ST_SetSRID(ST_MakePoint(lon, lat), 4326), speed, course, altitude, $2
FROM fix_stage
ORDER BY fix_time
ON CONFLICT (vehicle_id, fix_time) DO NOTHING`;

/**
 * The stretch to re-derive. Stay points are found by a greedy left-to-right scan, so a stored stop is found again
 * from its arrival only if the fix that ended it is older than the new fixes: the window starts at the arrival of
 * the last such stop (or at the first fix). After the new fixes nothing is stable (a new stop may swallow an old
 * one), so the window runs to the end of the log: backfilling old data costs a rescan of what follows it.
 */
export const WINDOW_SQL = `
SELECT coalesce((SELECT arrive FROM vehicles.stops
                 WHERE vehicle_id = $1
                   AND leave < (SELECT max(fix_time) FROM vehicles.positions WHERE vehicle_id = $1 AND fix_time < $2)
                 ORDER BY leave DESC LIMIT 1), '-infinity') AS lo,
       'infinity'::timestamptz AS hi`;

export const WINDOW_FIXES_SQL = `
SELECT extract(epoch FROM fix_time) * 1000 AS time, ST_X(geom) AS lon, ST_Y(geom) AS lat, speed_kmh AS "speedKmh"
FROM vehicles.positions WHERE vehicle_id = $1 AND fix_time >= $2 AND fix_time <= $3 ORDER BY fix_time`;

export async function replaceDerived(client: pg.ClientBase, vehicle: string, lo: Date, hi: Date, stops: Stop[], trips: Trip[]): Promise<void> {
  await client.query(`DELETE FROM vehicles.stops WHERE vehicle_id = $1 AND arrive >= $2 AND leave <= $3`, [vehicle, lo, hi]);
  await client.query(`DELETE FROM vehicles.trips WHERE vehicle_id = $1 AND end_time > $2 AND start_time < $3`, [vehicle, lo, hi]);
  if (stops.length)
    await client.query(
      `INSERT INTO vehicles.stops (vehicle_id, arrive, leave, duration_s, fixes, geom)
       SELECT $1, to_timestamp(a / 1000.0), to_timestamp(l / 1000.0), round((l - a) / 1000.0)::int, n, ST_SetSRID(ST_MakePoint(x, y), 4326)
       FROM unnest($2::float8[], $3::float8[], $4::int[], $5::float8[], $6::float8[]) AS s(a, l, n, x, y)`,
      [vehicle, stops.map((s) => s.arrive), stops.map((s) => s.leave), stops.map((s) => s.fixes), stops.map((s) => s.lon), stops.map((s) => s.lat)],
    );
  for (const t of trips) {
    const seconds = (t.end - t.start) / 1000;
    await client.query(
      `INSERT INTO vehicles.trips (vehicle_id, start_time, end_time, duration_s, distance_m, avg_speed_kmh, max_speed_kmh, fixes, geom)
       VALUES ($1, to_timestamp($2 / 1000.0), to_timestamp($3 / 1000.0), $4, $5, $6, $7, $8,
               ST_SetSRID(ST_MakeLine(ARRAY(SELECT ST_MakePoint(x, y) FROM unnest($9::float8[], $10::float8[]) WITH ORDINALITY AS p(x, y, i) ORDER BY i)), 4326))`,
      [
        vehicle,
        t.start,
        t.end,
        Math.round(seconds),
        t.distanceM,
        seconds > 0 ? (t.distanceM / seconds) * 3.6 : 0,
        t.maxSpeedKmh,
        t.fixes.length,
        t.fixes.map((f) => f.lon),
        t.fixes.map((f) => f.lat),
      ],
    );
  }
}
