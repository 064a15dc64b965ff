import type Router from '@koa/router';
import type { AppState } from '../app.ts';
import type { QueryRunner } from '../db/query.ts';
import { download, parseDownloadRequest } from '../features/download/download.ts';
import type { FeatureLayers } from '../features/layers.ts';
import { alsoUnderOgc } from './ogc.ts';
import { clientGone } from './tiles.ts';

/**
 * GET /collections/{layer}/download?f=geojson|csv|shp|gpkg&crs=…: the layer (or a bbox/filter selection of it)
 * as one file. A route of its own rather than f= on /items: /items answers pages (limit, next links) as OGC
 * clients expect, a download is the whole selection as an attachment, in formats that cannot be paged.
 */
export function downloadRoutes(router: Router<AppState>, layers: FeatureLayers, run: QueryRunner): void {
  router.get(alsoUnderOgc('/collections/:layer/download'), async (ctx) => {
    ctx.state.route = 'download';
    const table = layers.get(ctx.params.layer!, ctx.state.principal);
    const request = parseDownloadRequest(table, ctx.query);
    const file = await download(table, request, run, clientGone(ctx));
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Crs', `<${request.crs.uri}>`);
    ctx.set('Content-Disposition', `attachment; filename="${file.filename}"`);
    ctx.set('X-Feature-Count', String(file.count));
    ctx.type = file.type;
    ctx.body = file.body;
  });
}
