import { setMaxListeners } from 'node:events';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { badRequest } from '../errors.ts';
import type { FeatureLayers } from '../features/layers.ts';
import { tileFilter } from '../features/tile-filter.ts';
import type { CachedTile, TileCache } from '../tiles/cache.ts';
import { parseTile, type TileCoord } from '../tiles/coords.ts';
import { encoded, etagFor, negotiate, notModified } from '../tiles/encode.ts';
import { tileKey, tileScopes, type TileService } from '../tiles/tile-service.ts';
import type { AppState } from '../app.ts';

const MVT = 'application/vnd.mapbox-vector-tile';

/** What serving a tile needs, shared by /tiles/… and OGC API - Tiles (routes/ogc-tiles.ts). */
export interface TileDeps {
  tiles: TileService;
  cache: TileCache;
  cacheControl: string;
  layers: FeatureLayers;
}

/** GET /tiles/{layer[,layer…]}/{z}/{x}/{y}.mvt|.pbf[?filter=<CQL2-text>] */
export function tileRoutes(router: Router<AppState>, deps: TileDeps): void {
  router.get('/tiles/:layers/:z/:x/:file', async (ctx) => {
    ctx.state.route = 'tile';
    const m = /^(.*)\.(mvt|pbf)$/.exec(ctx.params.file!);
    if (!m) throw badRequest('invalid_tile', 'tile URLs end in {y}.mvt or {y}.pbf');
    await serveTile(ctx, deps, ctx.params.layers!, parseTile(ctx.params.z!, ctx.params.x!, m[1]!));
  });
}

/** A tile of `ids` (one layer or `a,b,…`) at a parsed address: access, zoom, filter, cache or query, response. */
export async function serveTile(ctx: Context, deps: TileDeps, ids: string, coord: TileCoord): Promise<void> {
  const { tiles } = deps;
  const sources = tiles.atZoom(tiles.sources(ids, ctx.state.principal), coord.z);
  // After the access check: a filter is checked only against a layer the caller may see.
  const filter = tileFilter(deps.layers, sources, ctx.query, ctx.state.principal);
  // The caller's scope is part of the query and of the cache key (a district's tile is never the city's).
  const scopes = tileScopes(sources, ctx.state.principal);
  const tile = await tiles.tile(sources, coord, () => clientGone(ctx), filter, scopes);
  // What only some callers may see must not be kept by a shared cache for others.
  const personal = scopes !== null || sources.some((s) => s.meta.access !== 'public');
  if (personal) ctx.vary('Authorization');
  if (personal) ctx.vary('Cookie');
  const cacheControl = personal ? deps.cacheControl.replace(/\bpublic\b/, 'private') : deps.cacheControl;
  await send(ctx, tile, deps.cache, tileKey(sources.map((s) => s.meta.id), coord, filter, scopes), cacheControl);
}

/** An AbortSignal that fires when the client closes the connection before the response is written. */
export function clientGone(ctx: Context): AbortSignal {
  const controller = new AbortController();
  // One request may run a query per layer at once (identify without layers= asks every visible one), each
  // listening for the abort and removing its listener when done: many listeners here are expected, not a leak.
  setMaxListeners(0, controller.signal);
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) controller.abort();
  });
  return controller.signal;
}

async function send(ctx: Context, tile: CachedTile, cache: TileCache, key: string, cacheControl: string): Promise<void> {
  ctx.vary('Accept-Encoding');
  ctx.set('Cache-Control', cacheControl);
  if (tile.raw.length === 0) {
    // An empty tile is a valid answer, not an error (MVT spec; Martin and PMTiles answer 204 too).
    ctx.status = 204;
    ctx.set('ETag', etagFor(tile, 'identity'));
    return;
  }
  const { body, encoding, added } = await encoded(tile, negotiate(ctx.get('Accept-Encoding')));
  if (added) cache.update(key, tile);
  ctx.set('ETag', etagFor(tile, encoding));
  if (notModified(ctx.get('If-None-Match') || undefined, tile)) {
    ctx.status = 304;
    return;
  }
  ctx.type = MVT;
  if (encoding !== 'identity') ctx.set('Content-Encoding', encoding);
  ctx.body = body;
}
