import type Router from '@koa/router';
import { canExport, canSee } from '../access/access.ts';
import type { LayerRegistry } from '../registry/registry.ts';
import type { AppState } from '../app.ts';
import { baseUrl, keySuffix } from './tilejson.ts';

/** GET /layers: the layers the caller may see, with what a viewer needs to show them. */
export function catalogRoutes(router: Router<AppState>, registry: LayerRegistry, publicUrl: string | undefined): void {
  router.get('/layers', (ctx) => {
    ctx.state.route = 'catalog';
    const base = baseUrl(ctx, publicUrl);
    const key = keySuffix(ctx);
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = {
      layers: registry
        .list()
        .filter((s) => canSee(ctx.state.principal, s.meta))
        .map(({ meta }) => ({
          id: meta.id,
          title: meta.title,
          description: meta.description,
          theme: meta.theme,
          owner: meta.owner,
          access: meta.access,
          geometryType: meta.geometryType,
          minzoom: meta.minzoom,
          maxzoom: meta.maxzoom,
          attribution: meta.attribution,
          tilejson: `${base}/tiles/${meta.id}.json${key}`,
          tiles: `${base}/tiles/${meta.id}/{z}/{x}/{y}.mvt${key}`,
          properties: meta.properties,
          fields: meta.fields,
          style: meta.style,
          legend: meta.legend,
          // May this caller download it (GET /collections/{id}/download)? The viewer offers the menu only then.
          downloadable: canExport(ctx.state.principal, meta),
        })),
    };
  });
}
