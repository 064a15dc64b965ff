import type Router from '@koa/router';
import type { Context } from 'koa';
import { badRequest } from '../errors.ts';
import type { CachedTile, TileCache } from '../tiles/cache.ts';
import { parseTile } from '../tiles/coords.ts';
import { encoded, etagFor, negotiate, notModified } from '../tiles/encode.ts';
import type { TileService } from '../tiles/tile-service.ts';
import type { AppState } from '../app.ts';

const MVT = 'application/vnd.mapbox-vector-tile';

/** GET /tiles/{layer[,layer…]}/{z}/{x}/{y}.mvt|.pbf */
export function tileRoutes(router: Router<AppState>, tiles: TileService, cache: TileCache, cacheControl: string): void {
  router.get('/tiles/:layers/:z/:x/:file', async (ctx) => {
    ctx.state.route = 'tile';
    const m = /^(.*)\.(mvt|pbf)$/.exec(ctx.params.file!);
    if (!m) throw badRequest('invalid_tile', 'tile URLs end in {y}.mvt or {y}.pbf');
    const coord = parseTile(ctx.params.z!, ctx.params.x!, m[1]!);
    const sources = tiles.atZoom(tiles.sources(ctx.params.layers!, ctx.state.principal), coord.z);
    const tile = await tiles.tile(sources, coord, clientGone(ctx));
    await send(ctx, tile, cache, ctx.params.layers!, coord, cacheControl);
  });
}

/** An AbortSignal that fires when the client closes the connection before the response is written. */
function clientGone(ctx: Context): AbortSignal {
  const controller = new AbortController();
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) controller.abort();
  });
  return controller.signal;
}

async function send(
  ctx: Context,
  tile: CachedTile,
  cache: TileCache,
  layers: string,
  coord: { z: number; x: number; y: number },
  cacheControl: string,
): Promise<void> {
  ctx.vary('Accept-Encoding');
  ctx.set('Cache-Control', cacheControl);
  if (tile.raw.length === 0) {
    // An empty tile is a valid answer, not an error (MVT spec; Martin and PMTiles answer 204 too).
    ctx.status = 204;
    ctx.set('ETag', etagFor(tile, 'identity'));
    return;
  }
  const { body, encoding, added } = await encoded(tile, negotiate(ctx.get('Accept-Encoding')));
  if (added) cache.update(`${layers}/${coord.z}/${coord.x}/${coord.y}`, tile);
  ctx.set('ETag', etagFor(tile, encoding));
  if (notModified(ctx.get('If-None-Match') || undefined, tile)) {
    ctx.status = 304;
    return;
  }
  ctx.type = MVT;
  if (encoding !== 'identity') ctx.set('Content-Encoding', encoding);
  ctx.body = body;
}
