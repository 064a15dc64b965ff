import type Router from '@koa/router';
import type { AppState } from '../app.ts';
import { canExport, requireRight } from '../access/access.ts';
import { actorOf, audit } from '../auth/audit.ts';
import type { QueryRunner } from '../db/query.ts';
import { HttpError } from '../errors.ts';
import { download, parseDownloadRequest } from '../features/download/download.ts';
import type { FeatureLayers } from '../features/layers.ts';
import { alsoUnderOgc } from './ogc.ts';
import { clientGone } from './tiles.ts';

/**
 * GET /collections/{layer}/download?f=geojson|csv|shp|gpkg&crs=…: the layer (or a bbox/filter selection of it)
 * as one file. A route of its own rather than f= on /items: /items answers pages (limit, next links) as OGC
 * clients expect, a download is the whole selection as an attachment, in formats that cannot be paged.
 */
export function downloadRoutes(router: Router<AppState>, layers: FeatureLayers, run: QueryRunner, audited: QueryRunner): void {
  router.get(alsoUnderOgc('/collections/:layer/download'), async (ctx) => {
    ctx.state.route = 'download';
    const table = layers.get(ctx.params.layer!, ctx.state.principal);
    if (!canExport(ctx.state.principal, table.meta)) {
      if (ctx.state.principal.kind === 'embed') throw new HttpError(403, 'forbidden', `layer ${table.id} cannot be downloaded with an embed key`);
      requireRight(ctx.state.principal, 'layer:export'); // 401 without a principal, 403 naming the right
    }
    const request = parseDownloadRequest(table, ctx.query);
    const file = await download(table, request, run, clientGone(ctx));
    // A data export is an audited act (安全审计): who took which layer, how much, in which CRS.
    await audit(audited, actorOf(ctx.state.principal, ctx.ip), {
      action: 'data.export',
      outcome: 'success',
      target: table.id,
      details: { file: file.filename, features: file.count, crs: request.crs.uri, query: ctx.querystring.replace(/(^|&)key=[^&]*/g, '').slice(0, 500) },
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Crs', `<${request.crs.uri}>`);
    ctx.set('Content-Disposition', `attachment; filename="${file.filename}"`);
    ctx.set('X-Feature-Count', String(file.count));
    ctx.type = file.type;
    ctx.body = file.body;
  });
}
