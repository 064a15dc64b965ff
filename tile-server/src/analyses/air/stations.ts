import type { IncomingMessage } from 'node:http';
import type pg from 'pg';
import type { QueryRunner } from '../../db/query.ts';
import { HttpError } from '../../errors.ts';
import { importReadings, type ReadingsImportResult } from './readings-import.ts';

/** Every station with its latest AQI (environment.air_stations_latest, the stations layer's view). */
export async function stations(run: QueryRunner): Promise<Record<string, unknown>[]> {
  return run.query(
    `SELECT code, name, kind, district_code, observed_at, aqi, level, category, color,
            string_to_array(primary_pollutants, ',') AS primary_pollutants, standard,
            round(ST_X(geom)::numeric, 6)::float8 AS lon, round(ST_Y(geom)::numeric, 6)::float8 AS lat
     FROM environment.air_stations_latest ORDER BY code`,
  );
}

/** A station's latest `hours` hourly readings, oldest first; null for an unknown station. */
export async function stationReadings(run: QueryRunner, code: string, hours: number) {
  const station = await run.query<{ id: number; code: string; name: string }>(
    `SELECT id, code, name FROM environment.air_stations WHERE code = $1`,
    [code],
  );
  if (!station[0]) return null;
  const readings = await run.query(
    `SELECT observed_at, so2, so2_24h, no2, no2_24h, co, co_24h, o3, o3_8h, pm10, pm10_24h, pm2_5, pm2_5_24h,
            aqi, level, category, color, primary_pollutants, standard
     FROM (SELECT * FROM environment.air_readings WHERE station_id = $1 ORDER BY observed_at DESC LIMIT $2) r
     ORDER BY observed_at`,
    [station[0].id, hours],
  );
  // numeric columns arrive as text from pg; concentrations are numbers in JSON.
  const numeric = ['so2', 'so2_24h', 'no2', 'no2_24h', 'co', 'co_24h', 'o3', 'o3_8h', 'pm10', 'pm10_24h', 'pm2_5', 'pm2_5_24h'];
  for (const r of readings) for (const k of numeric) if (r[k] !== null) r[k] = Number(r[k]);
  return { code: station[0].code, name: station[0].name, readings };
}

/** The request body as a stream of chunks, refused (413) as soon as it passes `limit` bytes. */
export async function* limitedBody(req: IncomingMessage, limit: number): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'too_large', `the body is larger than ${limit >> 20} MiB`);
    yield chunk as Buffer;
  }
}

/** Import a CNEMC CSV in one transaction: all rows or none. */
export async function importReadingsInTransaction(pool: pg.Pool, csv: string | AsyncIterable<Buffer>): Promise<ReadingsImportResult> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await importReadings(client, csv);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
