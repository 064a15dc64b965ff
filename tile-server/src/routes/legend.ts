import type Router from '@koa/router';
import { canSee } from '../access/access.ts';
import type { QueryRunner } from '../db/query.ts';
import { notFound } from '../errors.ts';
import type { FeatureLayers } from '../features/layers.ts';
import { layerLegend } from '../legend/legend.ts';
import type { LayerRegistry } from '../registry/registry.ts';
import { PostgisTableSource } from '../sources/postgis-table.ts';
import type { AppState } from '../app.ts';

/**
 * GET /layers/{id}/legend: the legend of what the layer's style draws, with the classes its data has
 * (legend/legend.ts). The same access check as the catalog: a layer the caller may not see is a 404.
 */
export function legendRoutes(router: Router<AppState>, deps: { registry: LayerRegistry; layers: FeatureLayers; run: QueryRunner }): void {
  router.get('/layers/:id/legend', async (ctx) => {
    ctx.state.route = 'legend';
    const source = deps.registry.get(ctx.params.id!);
    if (!source || !canSee(ctx.state.principal, source.meta)) throw notFound('unknown_layer', `no layer "${ctx.params.id!.slice(0, 64)}"`);
    const table = source instanceof PostgisTableSource ? deps.layers.get(source.meta.id, ctx.state.principal) : null;
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = { layer: source.meta.id, legend: await layerLegend(source.meta, table, deps.run) };
  });
}
