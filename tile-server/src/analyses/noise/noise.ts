import type { QueryRunner } from '../../db/query.ts';

export interface NoiseZone extends Record<string, unknown> {
  code: string;
  zone_class: string;
  description: string;
  day_db: number;
  night_db: number;
  night_max_db: number;
}

export interface NoiseMeasurement {
  day?: number | undefined;
  night?: number | undefined;
  night_max?: number | undefined;
}

/** GB 3096-2008 limits per function zone class (environment.gb3096_limits). */
export async function noiseLimits(run: QueryRunner): Promise<Record<string, unknown>[]> {
  return run.query(
    `SELECT l.zone_class, l.day_db::float8 AS day_db, l.night_db::float8 AS night_db,
            (l.night_db + r.value)::float8 AS night_max_db, l.description
     FROM environment.gb3096_limits l, environment.gb3096_rules r WHERE r.key = 'night_burst_excess_db'
     ORDER BY l.zone_class`,
  );
}

/** The function zone at a point, with its limits; null outside every zone. */
export async function noiseZoneAt(run: QueryRunner, lon: number, lat: number): Promise<NoiseZone | null> {
  const rows = await run.query<NoiseZone>(
    `SELECT z.code, z.zone_class, z.description, z.day_db::float8 AS day_db, z.night_db::float8 AS night_db,
            (z.night_db + r.value)::float8 AS night_max_db
     FROM environment.noise_zones_map z, environment.gb3096_rules r
     WHERE r.key = 'night_burst_excess_db' AND ST_Intersects(z.geom, ST_SetSRID(ST_Point($1, $2), 4326))
     ORDER BY z.code LIMIT 1`,
    [lon, lat],
  );
  return rows[0] ?? null;
}

/** Measured LAeq (day, night) and the night maximum against a zone's limits: exceeded when above the limit. */
export function assessNoise(zone: NoiseZone, m: NoiseMeasurement) {
  const judge = (value: number | undefined, limit: number) =>
    value === undefined ? undefined : { value, limit, exceeds: value > limit, by: Math.round((value - limit) * 10) / 10 };
  return { day: judge(m.day, zone.day_db), night: judge(m.night, zone.night_db), night_max: judge(m.night_max, zone.night_max_db) };
}
