import type Router from '@koa/router';
import type { Context } from 'koa';
import type pg from 'pg';
import type { AppState } from '../app.ts';
import { requireRight } from '../access/access.ts';
import { HttpError, badRequest, notFound } from '../errors.ts';
import { parseTile } from '../tiles/coords.ts';
import { makeTile, encoded, etagFor, negotiate, notModified } from '../tiles/encode.ts';
import { canWatch, visibleTo } from '../vehicles/live/access.ts';
import { LIVE_LAYER } from '../vehicles/live/tiles.ts';
import type { VehicleService } from '../vehicles/service.ts';
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
    const raw = deps.vehicles.tiles.tile(principal.department!, coord.z, coord.x, coord.y);
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

  router.get('/api/vehicles', (ctx) => {
    ctx.state.route = 'vehicles';
    const principal = ctx.state.principal;
    requireWatch(ctx);
    const sees = visibleTo(principal);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { vehicles: [...deps.vehicles.live.all()].filter(sees).sort((a, b) => a.id.localeCompare(b.id)) };
  });
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
