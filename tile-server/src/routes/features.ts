import type Router from '@koa/router';
import type { AppState } from '../app.ts';
import type { QueryRunner } from '../db/query.ts';
import { readJsonBody } from '../features/body.ts';
import { identify, parseIdentify } from '../features/identify.ts';
import type { FeatureLayers } from '../features/layers.ts';
import { onlyKnown } from '../features/params.ts';
import { MAX_QUERY_BYTES, parseSpatialQuery, runSpatialQuery, type QueryCost } from '../features/spatial-query.ts';
import { clientGone } from './tiles.ts';

/**
 * GET /identify (the features under a click, for the viewer's popup and the inspector) and POST /query (counts,
 * sums and features of layers inside a drawn area). Both check every layer with canSee first.
 */
export function featureRoutes(router: Router<AppState>, layers: FeatureLayers, run: QueryRunner, cost: QueryCost): void {
  router.get('/identify', async (ctx) => {
    ctx.state.route = 'identify';
    const request = parseIdentify(ctx.query, layers, ctx.state.principal);
    const body = await identify(request, run, clientGone(ctx));
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'application/geo+json';
    ctx.body = body;
  });

  router.post('/query', async (ctx) => {
    ctx.state.route = 'query';
    onlyKnown(ctx.query, ['key']);
    const query = parseSpatialQuery(await readJsonBody(ctx, MAX_QUERY_BYTES), layers, ctx.state.principal, cost);
    const body = await runSpatialQuery(query, run, clientGone(ctx));
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/json';
    ctx.body = body;
  });
}
