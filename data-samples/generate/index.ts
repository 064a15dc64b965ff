import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';
import type { Logger } from 'pino';
import { generateAirReadings } from './air-readings.ts';

/**
 * The seeded sample generator. The geometry is made inside PostGIS by the SQL files of this folder, run in name
 * order on the caller's connection and transaction; the air readings are made in TypeScript and go in through the
 * platform's CNEMC CSV import, like real ones. The same seed, scale and districts give the same rows.
 */
export interface GenerateOptions {
  seed: number;
  /** Density factor: 1 is the full sample; smaller values give fewer townships, villages and a smaller city. */
  scale: number;
  /** Limit the generation to these district codes (all 7 by default). */
  districts?: readonly string[];
  /** Days of hourly air readings (30 by default). */
  airDays?: number;
}

interface DistrictConfig {
  adcode: string;
  short: string;
  abbr: string;
  seat: [number, number];
  urbanRadiusKm: number;
  population: number;
}
interface Config {
  districts: DistrictConfig[];
  roads: Array<{ from: string; to: string; kind: string; name: string }>;
  railway: { name: string; via: Array<[number, number]> };
}

const here = new URL('./', import.meta.url);

export async function readGeneratorConfig(): Promise<Config> {
  return JSON.parse(await readFile(new URL('districts.json', here), 'utf8')) as Config;
}

/** Generate every sample table (the districts, water and real stations must be loaded). Returns row counts. */
export async function generateSamples(client: pg.ClientBase, opts: GenerateOptions, log: Logger): Promise<Record<string, number>> {
  if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 2 ** 31) throw new Error('seed: a whole number 0…2147483648');
  if (!(opts.scale > 0 && opts.scale <= 1)) throw new Error('scale: a number in (0, 1]');
  const config = await readGeneratorConfig();
  const districts = config.districts.filter((d) => !opts.districts || opts.districts.includes(d.adcode));
  if (districts.length === 0) throw new Error(`no known district among ${opts.districts?.join(', ')}`);

  await client.query(`SELECT set_config('citybase_samples.seed', $1, true), set_config('citybase_samples.scale', $2, true)`, [
    String(opts.seed),
    String(opts.scale),
  ]);
  await client.query(
    `CREATE TEMP TABLE g_config (adcode text, short text, abbr text, seat_lon float8, seat_lat float8, urban_radius_km float8, population integer)
     ON COMMIT DROP`,
  );
  await client.query(
    `INSERT INTO g_config SELECT adcode, short, abbr, (seat->>0)::float8, (seat->>1)::float8, "urbanRadiusKm", population
     FROM jsonb_to_recordset($1::jsonb) AS d (adcode text, short text, abbr text, seat jsonb, "urbanRadiusKm" float8, population integer)`,
    [JSON.stringify(districts)],
  );
  await client.query(`CREATE TEMP TABLE g_roads (seq integer, from_code text, to_code text, kind text, name text) ON COMMIT DROP`);
  await client.query(
    `INSERT INTO g_roads SELECT n, e->>'from', e->>'to', e->>'kind', e->>'name' FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x (e, n)`,
    [JSON.stringify(config.roads)],
  );
  await client.query(`CREATE TEMP TABLE g_railway ON COMMIT DROP AS SELECT $1::text AS name, ST_SetSRID(ST_GeomFromGeoJSON($2), 4326) AS geom`, [
    config.railway.name,
    JSON.stringify({ type: 'LineString', coordinates: config.railway.via }),
  ]);

  const files = (await readdir(here)).filter((f) => /^\d\d_.+\.sql$/.test(f)).sort();
  for (const file of files) {
    const started = Date.now();
    await client.query(await readFile(new URL(file, here), 'utf8'));
    log.debug({ file, ms: Date.now() - started }, 'sample generator step');
  }
  const started = Date.now();
  const air = await generateAirReadings(client, { seed: opts.seed, days: opts.airDays ?? 30 });
  log.debug({ readings: air.readings, ms: Date.now() - started }, 'sample air readings');
  return counts(client);
}

/** Rows per sample table. */
export async function counts(client: pg.ClientBase): Promise<Record<string, number>> {
  const { rows } = await client.query<{ name: string; n: string }>(
    `SELECT name, n FROM (VALUES
       ('basemap.districts', (SELECT count(*) FROM basemap.districts)),
       ('basemap.streets', (SELECT count(*) FROM basemap.streets)),
       ('basemap.communities', (SELECT count(*) FROM basemap.communities)),
       ('basemap.roads', (SELECT count(*) FROM basemap.roads)),
       ('urban.grid_cells', (SELECT count(*) FROM urban.grid_cells)),
       ('urban.responsibility_areas', (SELECT count(*) FROM urban.responsibility_areas)),
       ('urban.components', (SELECT count(*) FROM urban.components)),
       ('urban.events', (SELECT count(*) FROM urban.events)),
       ('planning.land_use', (SELECT count(*) FROM planning.land_use)),
       ('planning.regulatory_parcels', (SELECT count(*) FROM planning.regulatory_parcels)),
       ('civil_defence.shelters', (SELECT count(*) FROM civil_defence.shelters)),
       ('civil_defence.sirens', (SELECT count(*) FROM civil_defence.sirens)),
       ('civil_defence.evacuation_areas', (SELECT count(*) FROM civil_defence.evacuation_areas)),
       ('civil_defence.evacuation_routes', (SELECT count(*) FROM civil_defence.evacuation_routes)),
       ('civil_defence.key_targets', (SELECT count(*) FROM civil_defence.key_targets)),
       ('environment.air_stations', (SELECT count(*) FROM environment.air_stations)),
       ('environment.air_readings', (SELECT count(*) FROM environment.air_readings)),
       ('environment.water_sections', (SELECT count(*) FROM environment.water_sections)),
       ('environment.water_samples', (SELECT count(*) FROM environment.water_samples)),
       ('environment.noise_zones', (SELECT count(*) FROM environment.noise_zones)),
       ('environment.water_intakes', (SELECT count(*) FROM environment.water_intakes))
     ) AS t (name, n)`,
  );
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.n)]));
}
