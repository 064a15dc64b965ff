import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AppState } from '../app.ts';
import { badRequest, notFound } from '../errors.ts';
import { CRS84 } from '../features/ogc.ts';
import { onlyKnown } from '../features/params.ts';
import type { TileSource } from '../sources/source.ts';
import { EPSG_3857, TMS_MAX_ZOOM, TMS_URI, WEB_MERCATOR_QUAD, matrixLimits, webMercatorQuad } from '../tiles/tile-matrix-set.ts';
import { alsoUnderOgc, ogcHref } from './ogc.ts';
import { serveTile, type TileDeps } from './tiles.ts';
import type { BoundsCache } from './tilejson.ts';

export interface OgcTileDeps extends TileDeps {
  bounds: BoundsCache;
  publicUrl: string | undefined;
}

const MVT = 'application/vnd.mapbox-vector-tile';
const TILING_SCHEME = 'http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme';
const DIMENSION: Record<string, number> = { POINT: 0, MULTIPOINT: 0, LINESTRING: 1, MULTILINESTRING: 1, POLYGON: 2, MULTIPOLYGON: 2 };

/**
 * OGC API - Tiles (Part 1) over the same tiles as /tiles/…: the tile matrix set, each layer's vector tileset
 * and its tiles at /collections/{layer}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol} (row = y,
 * column = x). Layers go through the same access check and tile service, so bytes, ETags, cache and `filter=`
 * are those of /tiles/{layer}/{z}/{x}/{y}.mvt.
 */
export function ogcTileRoutes(router: Router<AppState>, deps: OgcTileDeps): void {
  const json = (ctx: Context, body: object) => {
    ctx.state.route = 'ogc-tiles';
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'application/json';
    ctx.body = body;
  };
  /** One layer the caller may see, by collection id; a list `a,b` is not a collection. */
  const layer = (ctx: Context): TileSource => {
    const id = ctx.params.layer!;
    if (id.includes(',')) throw notFound('unknown_layer', `no layer "${id.slice(0, 64)}"`);
    return deps.tiles.sources(id, ctx.state.principal)[0]!;
  };
  const tms = (ctx: Context) => {
    if (ctx.params.tms !== WEB_MERCATOR_QUAD)
      throw notFound('unknown_tile_matrix_set', `no tile matrix set "${ctx.params.tms!.slice(0, 64)}"; the one served is ${WEB_MERCATOR_QUAD}`);
  };

  router.get(alsoUnderOgc('/tileMatrixSets'), (ctx) => {
    onlyKnown(ctx.query, ['f', 'key']);
    const h = ogcHref(ctx, deps.publicUrl);
    json(ctx, {
      links: [{ href: h('/tileMatrixSets'), rel: 'self', type: 'application/json', title: 'tile matrix sets' }],
      tileMatrixSets: [
        {
          id: WEB_MERCATOR_QUAD,
          title: 'Google Maps Compatible for the World',
          uri: TMS_URI,
          links: [{ href: h(`/tileMatrixSets/${WEB_MERCATOR_QUAD}`), rel: 'self', type: 'application/json', title: WEB_MERCATOR_QUAD }],
        },
      ],
    });
  });

  router.get(alsoUnderOgc('/tileMatrixSets/:tms'), (ctx) => {
    onlyKnown(ctx.query, ['f', 'key']);
    tms(ctx);
    json(ctx, webMercatorQuad());
  });

  router.get(alsoUnderOgc('/collections/:layer/tiles'), (ctx) => {
    const s = layer(ctx);
    onlyKnown(ctx.query, ['f', 'key']);
    const h = ogcHref(ctx, deps.publicUrl);
    const path = `/collections/${s.meta.id}/tiles`;
    json(ctx, {
      links: [{ href: h(path), rel: 'self', type: 'application/json', title: 'vector tilesets' }],
      tilesets: [
        {
          title: s.meta.title.zh,
          dataType: 'vector',
          crs: EPSG_3857,
          tileMatrixSetURI: TMS_URI,
          links: [
            { href: h(`${path}/${WEB_MERCATOR_QUAD}`), rel: 'self', type: 'application/json', title: `${s.meta.title.zh} (${WEB_MERCATOR_QUAD})` },
            { href: h(`/tileMatrixSets/${WEB_MERCATOR_QUAD}`), rel: TILING_SCHEME, type: 'application/json', title: WEB_MERCATOR_QUAD },
          ],
        },
      ],
    });
  });

  router.get(alsoUnderOgc('/collections/:layer/tiles/:tms'), async (ctx) => {
    const s = layer(ctx);
    tms(ctx);
    onlyKnown(ctx.query, ['f', 'key']);
    const h = ogcHref(ctx, deps.publicUrl);
    const m = s.meta;
    const bounds = await deps.bounds.of(s);
    const path = `/collections/${m.id}/tiles/${WEB_MERCATOR_QUAD}`;
    const maxzoom = Math.min(m.maxzoom, TMS_MAX_ZOOM);
    json(ctx, {
      title: m.title.zh,
      description: m.description?.zh ?? m.title.en,
      dataType: 'vector',
      crs: EPSG_3857,
      tileMatrixSetURI: TMS_URI,
      tileMatrixSetLimits: matrixLimits(bounds, m.minzoom, maxzoom),
      ...(bounds ? { boundingBox: { lowerLeft: [bounds[0], bounds[1]], upperRight: [bounds[2], bounds[3]], crs: CRS84 } } : {}),
      layers: [
        {
          id: m.id,
          title: m.title.zh,
          dataType: 'vector',
          ...(m.geometryType in DIMENSION ? { geometryDimension: DIMENSION[m.geometryType] } : {}),
          minTileMatrix: String(m.minzoom),
          maxTileMatrix: String(maxzoom),
          propertiesSchema: {
            type: 'object',
            properties: Object.fromEntries(
              Object.entries(m.fields).map(([name, type]) => [name, { type: type === 'Number' ? 'number' : type === 'Boolean' ? 'boolean' : 'string' }]),
            ),
          },
        },
      ],
      links: [
        { href: h(path), rel: 'self', type: 'application/json', title: 'this tileset' },
        { href: h(`/tileMatrixSets/${WEB_MERCATOR_QUAD}`), rel: TILING_SCHEME, type: 'application/json', title: WEB_MERCATOR_QUAD },
        { href: h(`${path}/{tileMatrix}/{tileRow}/{tileCol}`), rel: 'item', type: MVT, title: 'tiles', templated: true },
      ],
    });
  });

  router.get(alsoUnderOgc('/collections/:layer/tiles/:tms/:tileMatrix/:tileRow/:tileCol'), async (ctx) => {
    ctx.state.route = 'tile';
    const m = layer(ctx).meta;
    tms(ctx);
    const { tileMatrix, tileRow, tileCol } = ctx.params as Record<string, string>;
    for (const [name, v] of [['tileMatrix', tileMatrix], ['tileRow', tileRow], ['tileCol', tileCol]] as const)
      if (!/^(0|[1-9][0-9]{0,9})$/.test(v!)) throw badRequest('invalid_tile', `${name} must be a non-negative integer, got "${v!.slice(0, 40)}"`);
    // A tile outside the tileset (a matrix it does not have, a row or column past the matrix) is not found, as
    // OGC API - Tiles answers it; /tiles/… keeps its 400s.
    const [z, row, col] = [Number(tileMatrix), Number(tileRow), Number(tileCol)];
    const top = Math.min(m.maxzoom, TMS_MAX_ZOOM);
    if (z < m.minzoom || z > top) throw notFound('tile_not_found', `${m.id} has tile matrices ${m.minzoom} to ${top} of ${WEB_MERCATOR_QUAD}, not ${z}`);
    if (row >= 2 ** z || col >= 2 ** z) throw notFound('tile_not_found', `tile matrix ${z} has rows and columns 0 to ${2 ** z - 1}, not ${row}/${col}`);
    await serveTile(ctx, deps, m.id, { z, x: col, y: row });
  });
}
