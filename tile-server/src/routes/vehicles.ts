import { inTransaction } from '../db/transaction.ts';
import { actorOf, audit } from '../auth/audit.ts';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type pg from 'pg';
import type { AppState } from '../app.ts';
import { requireRight, type Principal } from '../access/access.ts';
import { readJsonBody } from '../features/body.ts';
import { createFence, deleteFence, parseFence, updateFence } from '../vehicles/alarms/fence-store.ts';
import { transition, type AlarmAction } from '../vehicles/alarms/lifecycle.ts';
import { parseRuleChange, saveRule } from '../vehicles/alarms/rules.ts';
import { addVehicle, FleetError, vehicleTypes, type VehicleType } from '../vehicles/fleet.ts';
import { importVehicleCsv } from '../vehicles/fleet-csv.ts';
import { withinScopes } from '../access/access.ts';
import { HttpError, badRequest, notFound } from '../errors.ts';
import { parseTile } from '../tiles/coords.ts';
import { makeTile, encoded, etagFor, negotiate, notModified } from '../tiles/encode.ts';
import { canWatch, visibleTo } from '../vehicles/live/access.ts';
import { LIVE_LAYER } from '../vehicles/live/tiles.ts';
import type { VehicleService } from '../vehicles/service.ts';
import { exportFormats, exportTrack, parsePlaybackQuery, playback, readFixes, type ExportFormat } from '../vehicles/playback/playback.ts';
import { dailyReport, parseReportRange, reportCsv } from '../vehicles/reports/daily.ts';
import { baseUrl, keySuffix } from './tilejson.ts';

export interface VehicleRouteDeps {
  vehicles: VehicleService;
  pool: pg.Pool;
  publicUrl: string | undefined;
}

const MVT = 'application/vnd.mapbox-vector-tile';

/**
 * The vehicle desk's HTTP doors. `vehicles_live` tiles and TileJSON (cut from memory; a principal without
 * `vehicle:watch` gets 404 as for any layer it may not see), and the fleet list.
 */
export function vehicleRoutes(router: Router<AppState>, deps: VehicleRouteDeps): void {
  router.get(`/tiles/${LIVE_LAYER}/:z/:x/:file`, async (ctx) => {
    ctx.state.route = 'tile_vehicles_live';
    const m = /^(.*)\.(mvt|pbf)$/.exec(ctx.params.file!);
    if (!m) throw badRequest('invalid_tile', 'tile URLs end in {y}.mvt or {y}.pbf');
    const coord = parseTile(ctx.params.z!, ctx.params.x!, m[1]!);
    const principal = ctx.state.principal;
    if (!canWatch(principal)) throw unknownLayer();
    const raw = deps.vehicles.tiles.tile(principal, coord.z, coord.x, coord.y);
    await sendLiveTile(ctx, raw);
  });

  router.get(`/tiles/${LIVE_LAYER}.json`, (ctx) => {
    ctx.state.route = 'tilejson';
    if (!canWatch(ctx.state.principal)) throw unknownLayer();
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = {
      tilejson: '3.0.0',
      name: LIVE_LAYER,
      description: '实时车辆 live vehicles (positions from the JT/T 808 gateway, status online/offline/unknown)',
      tiles: [`${baseUrl(ctx, deps.publicUrl)}/tiles/${LIVE_LAYER}/{z}/{x}/{y}.mvt${keySuffix(ctx)}`],
      minzoom: 0,
      maxzoom: 18,
      bounds: [118.2, 32.7, 119.6, 34.2],
      vector_layers: [
        {
          id: LIVE_LAYER,
          fields: { id: 'String', plate: 'String', type: 'String', status: 'String', speed_kmh: 'Number', course: 'Number', time: 'String', alarm: 'Number', company: 'String' },
          minzoom: 0,
          maxzoom: 18,
        },
      ],
    };
  });

  fenceAndAlarmRoutes(router, deps);
  reportRoutes(router, deps);
  registrationRoutes(router, deps);

  router.get('/api/vehicles', (ctx) => {
    ctx.state.route = 'vehicles';
    const principal = ctx.state.principal;
    requireWatch(ctx);
    const sees = visibleTo(principal);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { vehicles: [...deps.vehicles.live.all()].filter(sees).sort((a, b) => a.id.localeCompare(b.id)) };
  });

  // Playback: one vehicle's fixes over a range, its stops, the simplified line and its alarms (GeoJSON).
  router.get('/api/vehicles/:id/track', async (ctx) => {
    ctx.state.route = 'vehicle_track';
    requireWatch(ctx);
    const vehicle = watchedVehicle(ctx, deps, ctx.params.id!);
    const format = ctx.query.format ?? 'geojson';
    if (format !== 'geojson' && !Object.hasOwn(exportFormats, String(format)))
      throw badRequest('invalid_parameter', `format is geojson, ${Object.keys(exportFormats).join(', ')}`);
    const q = parsePlaybackQuery(ctx.query);
    ctx.set('Cache-Control', 'no-store');
    if (format === 'geojson') {
      ctx.type = 'application/geo+json';
      ctx.body = await playback(deps.pool, vehicle, q);
      return;
    }
    const f = format as ExportFormat;
    // Exports of a track (GPX, KML, CSV) are downloads of data: audited as the layer downloads are.
    const fixes = await readFixes(deps.pool, vehicle.id, q);
    const client = await deps.pool.connect();
    try {
      await audit(client, actorOf(ctx.state.principal, ctx.ip), { action: 'data.export', outcome: 'success', target: `vehicle:${vehicle.id}`, details: { format: f, from: q.from.toISOString(), to: q.to.toISOString(), fixes: fixes.length } });
    } finally {
      client.release();
    }
    const file = `${vehicle.plate ?? vehicle.id}-${q.from.toISOString().slice(0, 10)}.${f}`;
    ctx.type = exportFormats[f];
    ctx.set('Content-Disposition', `attachment; filename="track.${f}"; filename*=UTF-8''${encodeURIComponent(file)}`);
    ctx.body = exportTrack(f, vehicle, fixes);
  });
}

/**
 * Registration from the desk (vehicle:manage): one vehicle and its terminal, or a CSV of them (loaded whole or
 * not at all), always into the manager's department and, for a manager limited to districts, within them.
 * Audited in the same transaction.
 */
function registrationRoutes(router: Router<AppState>, deps: VehicleRouteDeps): void {
  const inScope = (p: Principal, district: string | null, where = '') => {
    if (!withinScopes(p, district)) throw new HttpError(403, 'forbidden', `${where}${district ? `district ${district} is` : 'a vehicle without a district is'} outside your scope`);
  };

  router.post('/api/vehicles', async (ctx) => {
    ctx.state.route = 'vehicles';
    requireManage(ctx);
    const p = ctx.state.principal;
    const b = (await readJsonBody(ctx, 16 * 1024)) as Record<string, unknown>;
    const str = (k: string) => (b[k] === undefined || b[k] === null ? null : String(b[k]));
    inScope(p, str('district'));
    const client = await deps.pool.connect();
    let vehicle;
    try {
      await client.query('BEGIN');
      vehicle = await addVehicle(client, {
        plate: str('plate') ?? '',
        color: typeof b.color === 'number' ? b.color : Number(str('color') ?? NaN),
        phone: str('phone') ?? '',
        type: (str('type') ?? 'other') as VehicleType,
        department: p.department!,
        company: str('company'),
        district: str('district'),
        group: str('group'),
      });
      await audit(client, actorOf(p, ctx.ip), { action: 'vehicle.register', outcome: 'success', target: `vehicle:${vehicle.id}`, details: { phone: vehicle.phone, type: vehicle.type, district: vehicle.district ?? null } });
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if (err instanceof FleetError) throw badRequest('invalid_vehicle', err.message);
      throw err;
    } finally {
      client.release();
    }
    await deps.vehicles.refreshFleet();
    ctx.status = 201;
    ctx.body = { vehicle };
  });

  router.post('/api/vehicles/import', async (ctx) => {
    ctx.state.route = 'vehicles';
    requireManage(ctx);
    const p = ctx.state.principal;
    const b = (await readJsonBody(ctx, 2 * 1024 * 1024)) as { csv?: unknown };
    if (typeof b.csv !== 'string') throw badRequest('invalid_vehicle', 'send { "csv": "<the CSV text>" }');
    const client = await deps.pool.connect();
    let loaded;
    try {
      loaded = await importVehicleCsv(client, b.csv, {
        department: p.department!,
        onlyDepartment: p.department!,
        check: (v, line) => inScope(p, v.district, `line ${line}: `),
        beforeCommit: (vs) => audit(client, actorOf(p, ctx.ip), { action: 'vehicle.import', outcome: 'success', target: `department:${p.department}`, details: { vehicles: vs.map((v) => v.id) } }),
      });
    } catch (err) {
      if (err instanceof FleetError) throw badRequest('invalid_vehicle', err.message);
      throw err;
    } finally {
      client.release();
    }
    await deps.vehicles.refreshFleet();
    ctx.body = { imported: loaded.length, vehicles: loaded };
  });
}

/** 日报 and 考核 figures over city days, for the vehicles the principal watches (JSON, or CSV with format=csv). */
function reportRoutes(router: Router<AppState>, deps: VehicleRouteDeps): void {
  router.get('/api/vehicles/reports/daily', async (ctx) => {
    ctx.state.route = 'vehicle_reports';
    requireWatch(ctx);
    const format = ctx.query.format ?? 'json';
    if (format !== 'json' && format !== 'csv') throw badRequest('invalid_parameter', 'format is json or csv');
    const range = parseReportRange(ctx.query);
    const sees = visibleTo(ctx.state.principal);
    const vehicles = [...deps.vehicles.live.all()]
      .filter(sees)
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((v) => ({ id: v.id, plate: v.plate, type: v.type, group: v.group, company: v.company }));
    const report = await dailyReport(deps.pool, vehicles, range);
    ctx.set('Cache-Control', 'no-store');
    if (format === 'csv') {
      ctx.type = 'text/csv; charset=utf-8';
      ctx.set('Content-Disposition', `attachment; filename="vehicles-${range.from}-${range.to}.csv"`);
      ctx.body = reportCsv(report);
    } else ctx.body = report;
  });
}

/** A vehicle the principal may watch (department and scope), else 404 as for one that does not exist. */
function watchedVehicle(ctx: Context & { state: AppState }, deps: VehicleRouteDeps, id: string) {
  const v = deps.vehicles.live.get(id);
  if (!v || !visibleTo(ctx.state.principal)(v)) throw notFound('unknown_vehicle', `no vehicle "${id.slice(0, 64)}"`);
  return v;
}

/** Fences (a layer of GeoJSON, drawn on the desk's map) and alarms with their lifecycle. */
function fenceAndAlarmRoutes(router: Router<AppState>, deps: VehicleRouteDeps): void {
  router.get('/api/vehicles/fences', async (ctx) => {
    ctx.state.route = 'vehicle_fences';
    requireWatch(ctx);
    const { rows } = await deps.pool.query(
      `SELECT coalesce(json_agg(json_build_object('type', 'Feature', 'id', id, 'geometry', ST_AsGeoJSON(geom)::json,
                'properties', json_build_object('name', name, 'kind', kind, 'radiusM', radius_m, 'widthM', width_m,
                  'speedLimitKmh', speed_limit_kmh, 'vehicleTypes', vehicle_types, 'schedule', schedule, 'dwellS', dwell_s)) ORDER BY id), '[]') AS features
       FROM vehicles.fences WHERE department_id = $1`,
      [ctx.state.principal.department],
    );
    ctx.type = 'application/geo+json';
    ctx.body = { type: 'FeatureCollection', features: rows[0].features };
  });

  router.post('/api/vehicles/fences', async (ctx) => {
    ctx.state.route = 'vehicle_fences';
    requireManage(ctx);
    const fence = parseFence(await readJsonBody(ctx, 2 * 1024 * 1024));
    const p = ctx.state.principal;
    const id = await inTransaction(deps.pool, async (client) => {
      const id = await createFence(client, p.department!, fence);
      await audit(client, actorOf(p, ctx.ip), { action: 'vehicle.fence_create', outcome: 'success', target: `fence:${id}`, details: { name: fence.name, kind: fence.kind, geometry: fence.geometry.type } });
      return id;
    });
    await deps.vehicles.refreshFleet();
    ctx.status = 201;
    ctx.body = { id };
  });

  // The same checks as a new fence; the id is kept (alarms reference it). Another department's fence is 404.
  router.put('/api/vehicles/fences/:id', async (ctx) => {
    ctx.state.route = 'vehicle_fences';
    requireManage(ctx);
    const id = wholeNumber(ctx.params.id!, 'fence');
    const fence = parseFence(await readJsonBody(ctx, 2 * 1024 * 1024));
    const p = ctx.state.principal;
    const found = await inTransaction(deps.pool, async (client) => {
      if (!(await updateFence(client, p.department!, id, fence))) return false;
      await audit(client, actorOf(p, ctx.ip), { action: 'vehicle.fence_update', outcome: 'success', target: `fence:${id}`, details: { name: fence.name, kind: fence.kind, geometry: fence.geometry.type } });
      return true;
    });
    if (!found) throw notFound('unknown_fence', `no fence ${id}`);
    await deps.vehicles.refreshFleet();
    ctx.body = { id };
  });

  router.delete('/api/vehicles/fences/:id', async (ctx) => {
    ctx.state.route = 'vehicle_fences';
    requireManage(ctx);
    const id = wholeNumber(ctx.params.id!, 'fence');
    const p = ctx.state.principal;
    const found = await inTransaction(deps.pool, async (client) => {
      if (!(await deleteFence(client, p.department!, id))) return false;
      await audit(client, actorOf(p, ctx.ip), { action: 'vehicle.fence_delete', outcome: 'success', target: `fence:${id}` });
      return true;
    });
    if (!found) throw notFound('unknown_fence', `no fence ${id}`);
    await deps.vehicles.refreshFleet();
    ctx.status = 204;
  });

  router.get('/api/vehicles/alarms', async (ctx) => {
    ctx.state.route = 'vehicle_alarms';
    requireWatch(ctx);
    const state = ctx.query.state ?? 'open';
    if (state !== 'open' && state !== 'all') throw badRequest('invalid_parameter', 'state is open or all');
    const limit = ctx.query.limit === undefined ? 200 : wholeNumber(String(ctx.query.limit), 'limit');
    if (limit < 1 || limit > 5000) throw badRequest('invalid_parameter', 'limit is 1–5000');
    // Within the principal's scopes and vehicle groups: alarms of vehicles registered in its districts and groups
    // (live/access.ts's rule, here in SQL for the history).
    const { rows } = await deps.pool.query(
      `SELECT a.*, v.plate, v.vehicle_type, v.fleet_group FROM vehicles.alarms a JOIN vehicles.vehicles v ON v.id = a.vehicle_id
       WHERE a.department_id = $1 AND ($2 = 'all' OR a.state <> 'closed')
         AND ($4::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($4::text[]) s WHERE v.district_code LIKE s || '%'))
         AND ($5::text[] IS NULL OR v.fleet_group = ANY ($5::text[]))
       ORDER BY a.last_at DESC, a.id DESC LIMIT $3`,
      [ctx.state.principal.department, state, limit, ctx.state.principal.scopes, ctx.state.principal.vehicleGroups ?? null],
    );
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { alarms: rows };
  });

  // Alarm rules that are data (疲劳驾驶, 违规停车): the department's effective parameters per vehicle type.
  router.get('/api/vehicles/rules', (ctx) => {
    ctx.state.route = 'vehicle_rules';
    requireWatch(ctx);
    const book = deps.vehicles.alarms.rules;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { rules: Object.fromEntries(vehicleTypes.map((type) => [type, book.for(ctx.state.principal.department!, type)])) };
  });

  router.put('/api/vehicles/rules/:rule', async (ctx) => {
    ctx.state.route = 'vehicle_rules';
    requireManage(ctx);
    const change = parseRuleChange(ctx.params.rule!, await readJsonBody(ctx, 16 * 1024));
    await saveRule(deps.pool, ctx.state.principal.department!, change, actorOf(ctx.state.principal, ctx.ip));
    await deps.vehicles.refreshFleet();
    const book = deps.vehicles.alarms.rules;
    ctx.body = { rules: Object.fromEntries(vehicleTypes.map((type) => [type, book.for(ctx.state.principal.department!, type)])) };
  });

  for (const action of ['acknowledge', 'close'] as const satisfies readonly AlarmAction[]) {
    router.post(`/api/vehicles/alarms/:id/${action}`, async (ctx) => {
      ctx.state.route = 'vehicle_alarms';
      requireWatch(ctx);
      const id = wholeNumber(ctx.params.id!, 'alarm');
      const sees = visibleTo(ctx.state.principal);
      const body = ctx.request.length ? ((await readJsonBody(ctx, 16 * 1024)) as { note?: unknown }) : {};
      if (body.note !== undefined && (typeof body.note !== 'string' || body.note.length > 2000)) throw badRequest('invalid_note', 'note is a text of at most 2000 characters');
      const row = await transition(deps.pool, id, action, { name: actorName(ctx.state.principal), department: ctx.state.principal.department!, sees: (vehicleId) => { const v = deps.vehicles.live.get(vehicleId); return v !== undefined && sees(v); } }, (body.note as string | undefined) ?? null, actorOf(ctx.state.principal, ctx.ip));
      ctx.body = { alarm: row };
    });
  }
}

function actorName(p: Principal): string {
  return p.login ?? (p.keyId !== null ? `key:${p.keyId}` : 'unknown');
}

function wholeNumber(s: string, what: string): number {
  if (!/^\d{1,15}$/.test(s)) throw badRequest('invalid_parameter', `${what} "${s.slice(0, 40)}" is not a whole number`);
  return Number(s);
}

function requireManage(ctx: Context & { state: AppState }): void {
  requireRight(ctx.state.principal, 'vehicle:manage');
  if (ctx.state.principal.department === null) throw new HttpError(403, 'forbidden', 'managing vehicles needs a department');
}

function requireWatch(ctx: Context & { state: AppState }): void {
  requireRight(ctx.state.principal, 'vehicle:watch');
  if (!canWatch(ctx.state.principal)) throw new HttpError(403, 'forbidden', 'watching vehicles needs a department');
}

const unknownLayer = () => notFound('unknown_layer', `no layer "${LIVE_LAYER}"`);

async function sendLiveTile(ctx: Context, raw: Buffer): Promise<void> {
  // Live data: revalidated every time (the ETag makes an unchanged tile a 304 without a body).
  ctx.set('Cache-Control', 'no-cache');
  ctx.vary('Accept-Encoding');
  const tile = makeTile(raw, false);
  if (raw.length === 0) {
    ctx.status = 204;
    return;
  }
  if (notModified(ctx.get('If-None-Match') || undefined, tile)) {
    ctx.status = 304;
    return;
  }
  const { body, encoding } = await encoded(tile, negotiate(ctx.get('Accept-Encoding')));
  ctx.set('ETag', etagFor(tile, encoding));
  if (encoding !== 'identity') ctx.set('Content-Encoding', encoding);
  ctx.type = MVT;
  ctx.body = body;
}
