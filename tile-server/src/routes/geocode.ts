import type Router from '@koa/router';
import type { AppState } from '../app.ts';
import type { QueryRunner } from '../db/query.ts';
import type { FeatureLayers } from '../features/layers.ts';
import { geocode, parseGeocodeRequest } from '../geocode/geocode.ts';
import { clientGone } from './tiles.ts';

/**
 * GET /api/geocode?q=&lon=&lat=&limit=: places by name, code or coordinates (geocode/). Only layers the caller may
 * see are searched, so a place from a restricted layer reaches only those who may see the layer.
 */
export function geocodeRoutes(router: Router<AppState>, layers: FeatureLayers, run: QueryRunner): void {
  router.get('/api/geocode', async (ctx) => {
    ctx.state.route = 'geocode';
    const request = parseGeocodeRequest(ctx.query);
    const results = await geocode(request, layers, ctx.state.principal, run, clientGone(ctx));
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'application/json';
    ctx.body = { query: request.q, near: request.near, results };
  });
}
