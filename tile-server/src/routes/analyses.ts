import { canImportFor } from '../access/access.ts';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type pg from 'pg';
import { importReadingsInTransaction, limitedBody, stationReadings, stations } from '../analyses/air/stations.ts';
import { ReadingsImportError } from '../analyses/air/readings-import.ts';
import { AQI_PARAMETERS, AqiInputError, computeAqi, namedParameters, STANDARDS, standardInForce, type AqiInput, type StandardId } from '../analyses/aqi/aqi.ts';
import { civilDefenceCoverage, serviceDistance, uncoveredResidential } from '../analyses/civil-defence/coverage.ts';
import { assessNoise, noiseLimits, noiseZoneAt } from '../analyses/noise/noise.ts';
import { numberParam, position, queryParams, requireLayers } from '../analyses/params.ts';
import { locate } from '../analyses/urban/locate.ts';
import { WATER_FACTORS, WATER_TYPES, waterClass, waterSections, type WaterFactor } from '../analyses/water/water-class.ts';
import type { QueryRunner } from '../db/query.ts';
import { badRequest, HttpError } from '../errors.ts';
import type { LayerRegistry } from '../registry/registry.ts';
import type { AppState } from '../app.ts';

export interface AnalysesDeps {
  run: QueryRunner;
  pool: pg.Pool;
  registry: LayerRegistry;
}

/** Largest readings CSV POST /api/env/air/readings accepts. */
export const MAX_READINGS_BYTES = 64 << 20;

/** The layers each analysis reads: the caller must be able to see all of them (same rule as their tiles). */
const READS = {
  stations: ['environment_air_stations'],
  water: ['environment_water_sections'],
  noise: ['environment_noise_zones'],
  coverage: ['basemap_districts', 'civil_defence_shelters', 'civil_defence_sirens', 'planning_land_use'],
  uncovered: ['civil_defence_shelters', 'planning_land_use'],
  locate: ['urban_grid_cells', 'urban_responsibility_areas'],
} as const;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar day (2026-02-30 is not). */
function isDay(s: string): boolean {
  const m = DAY.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

/** The standard asked for (standard=) or in force on a day (date=; today in China time by default). */
function chooseStandard(q: Record<string, string>): StandardId {
  if (q.standard !== undefined && !(STANDARDS as readonly string[]).includes(q.standard))
    throw badRequest('invalid_parameter', `standard: "${q.standard.slice(0, 40)}" is not one of ${STANDARDS.join(', ')}`);
  let byDate: StandardId | undefined;
  if (q.date !== undefined) {
    if (!isDay(q.date)) throw badRequest('invalid_parameter', `date: "${q.date.slice(0, 40)}" is not a day (YYYY-MM-DD)`);
    const s = standardInForce(q.date);
    if (!s) throw badRequest('no_standard', `no AQI standard of this platform was in force on ${q.date} (HJ 633-2012 applies from 2016-01-01)`);
    byDate = s;
  }
  if (q.standard && byDate && q.standard !== byDate)
    throw badRequest('conflicting_parameters', `standard ${q.standard} was not in force on ${q.date} (${byDate} was)`);
  return (q.standard as StandardId | undefined) ?? byDate ?? standardInForce(new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10))!;
}

/** GET /api/…: the analyses of the themes, as JSON. */
export function analysesRoutes(router: Router<AppState>, deps: AnalysesDeps): void {
  const { run, registry } = deps;
  const reads = (ctx: Context, ids: readonly string[]) => requireLayers(registry, ctx.state.principal, ids);

  router.get('/api/env/aqi', (ctx) => {
    ctx.state.route = 'api_aqi';
    const q = queryParams(ctx, [...AQI_PARAMETERS, 'standard', 'date']);
    const standard = chooseStandard(q);
    const input: AqiInput = {};
    for (const p of AQI_PARAMETERS) {
      const v = numberParam(q, p, { min: 0 });
      if (v !== undefined) input[p] = v;
    }
    try {
      const result = computeAqi(input, standard);
      // The codes for programs, and beside them the names people read (PM₂.₅ 24 小时平均).
      ctx.body = { ...result, primary_pollutants_named: namedParameters(result.primary_pollutants) };
    } catch (err) {
      if (err instanceof AqiInputError) throw badRequest(err.code, err.message);
      throw err;
    }
  });

  router.get('/api/env/air/stations', async (ctx) => {
    ctx.state.route = 'api_air_stations';
    queryParams(ctx, []);
    reads(ctx, READS.stations);
    const list = await stations(run);
    ctx.body = { stations: list.map((st) => ({ ...st, primary_pollutants_named: namedParameters((st.primary_pollutants as string[] | null) ?? []) })) };
  });

  router.get('/api/env/air/stations/:code/readings', async (ctx) => {
    ctx.state.route = 'api_air_readings';
    const q = queryParams(ctx, ['hours']);
    reads(ctx, READS.stations);
    const hours = numberParam(q, 'hours', { min: 1, max: 24 * 31 }) ?? 24 * 7;
    if (!Number.isInteger(hours)) throw badRequest('invalid_parameter', 'hours: a whole number');
    const result = await stationReadings(run, ctx.params.code!, hours);
    if (!result) throw new HttpError(404, 'unknown_station', `no air station "${ctx.params.code!.slice(0, 40)}"`);
    ctx.body = result;
  });

  // Readings import: a department key with the `import` right, of the stations layer's owner or one it allows.
  router.post('/api/env/air/readings', async (ctx) => {
    ctx.state.route = 'api_air_import';
    queryParams(ctx, []);
    const p = ctx.state.principal;
    if (p.department === null) throw new HttpError(401, 'api_key_required', 'importing readings needs a department API key');
    reads(ctx, READS.stations);
    const layer = registry.get(READS.stations[0])!.meta;
    if (!canImportFor(p, layer.owner, layer.allow))
      throw new HttpError(403, 'forbidden', `importing readings needs the import right of department ${layer.owner}`);
    try {
      // Streamed: rows are checked and copied as they arrive; nothing is committed unless all of them are good.
      ctx.body = await importReadingsInTransaction(deps.pool, limitedBody(ctx.req, MAX_READINGS_BYTES));
    } catch (err) {
      if (err instanceof ReadingsImportError) throw badRequest('invalid_csv', err.message);
      throw err;
    }
  });

  router.get('/api/env/water/class', async (ctx) => {
    ctx.state.route = 'api_water_class';
    const q = queryParams(ctx, ['type', ...WATER_FACTORS]);
    if (!q.type || !(WATER_TYPES as readonly string[]).includes(q.type))
      throw badRequest(q.type ? 'invalid_parameter' : 'missing_parameter', `type: one of ${WATER_TYPES.join(', ')} (TP limits differ)`);
    const sample: Partial<Record<WaterFactor, number>> = {};
    for (const f of WATER_FACTORS) {
      const v = numberParam(q, f, { min: 0 });
      if (v !== undefined) sample[f] = v;
    }
    if (Object.keys(sample).length === 0) throw badRequest('missing_parameter', `give at least one of ${WATER_FACTORS.join(', ')} (mg/L; pH)`);
    ctx.body = await waterClass(run, q.type, sample);
  });

  router.get('/api/env/water/sections', async (ctx) => {
    ctx.state.route = 'api_water_sections';
    queryParams(ctx, []);
    reads(ctx, READS.water);
    ctx.body = { sections: await waterSections(run) };
  });

  router.get('/api/env/noise/limits', async (ctx) => {
    ctx.state.route = 'api_noise_limits';
    queryParams(ctx, []);
    ctx.body = { standard: 'GB 3096-2008', day: '06:00–22:00', night: '22:00–06:00', limits: await noiseLimits(run) };
  });

  router.get('/api/env/noise', async (ctx) => {
    ctx.state.route = 'api_noise';
    const q = queryParams(ctx, ['lon', 'lat', 'day', 'night', 'night_max']);
    const { lon, lat } = position(q);
    const m = {
      day: numberParam(q, 'day', { min: 0, max: 200 }),
      night: numberParam(q, 'night', { min: 0, max: 200 }),
      night_max: numberParam(q, 'night_max', { min: 0, max: 200 }),
    };
    reads(ctx, READS.noise);
    const zone = await noiseZoneAt(run, lon, lat);
    ctx.body = { lon, lat, zone, assessment: zone ? assessNoise(zone, m) : null };
  });

  router.get('/api/civil-defence/coverage', async (ctx) => {
    ctx.state.route = 'api_cd_coverage';
    const q = queryParams(ctx, ['distance']);
    reads(ctx, READS.coverage);
    const distance = numberParam(q, 'distance', { min: 1, max: 50_000 }) ?? (await serviceDistance(run));
    ctx.body = await civilDefenceCoverage(run, distance);
  });

  router.get('/api/civil-defence/uncovered-residential', async (ctx) => {
    ctx.state.route = 'api_cd_uncovered';
    const q = queryParams(ctx, ['distance', 'district']);
    reads(ctx, READS.uncovered);
    if (q.district !== undefined && !/^\d{6}$/.test(q.district)) throw badRequest('invalid_parameter', 'district: a 6-digit district code');
    const distance = numberParam(q, 'distance', { min: 1, max: 50_000 }) ?? (await serviceDistance(run));
    ctx.type = 'application/geo+json';
    ctx.body = await uncoveredResidential(run, distance, q.district ?? null);
  });

  router.get('/api/urban/locate', async (ctx) => {
    ctx.state.route = 'api_locate';
    const q = queryParams(ctx, ['lon', 'lat']);
    const { lon, lat } = position(q);
    reads(ctx, READS.locate);
    ctx.body = await locate(run, lon, lat);
  });
}
