import type Router from '@koa/router';
import type { Context } from 'koa';
import { parseWidgetOptions, type EmbedWidget, type EmbedWidgets } from '../access/widgets.ts';
import type { AppState } from '../app.ts';
import { actorOf, audit } from '../auth/audit.ts';
import type { QueryRunner } from '../db/query.ts';
import { notFound } from '../errors.ts';
import { readJsonBody } from '../features/body.ts';
import { embedManager } from './embeds.ts';

const MAX_BODY = 16 * 1024;

/**
 * Widgets saved by the builder (embed:manage, scoped like embed keys: an editor its department's, an administrator
 * of users any department's): list, create, replace, delete. Another department's widget is answered as unknown
 * (404). Saves and deletions are audited (embed.widget_save, embed.widget_delete) with the options.
 */
export function embedWidgetRoutes(router: Router<AppState>, deps: { widgets: EmbedWidgets; run: QueryRunner }): void {
  const { widgets } = deps;
  const record = (ctx: Context, action: string, w: EmbedWidget, details: Record<string, unknown> = {}) =>
    audit(deps.run, actorOf(ctx.state.principal, ctx.ip), {
      action,
      outcome: 'success',
      target: `widget:${w.id}`,
      details: { department: w.department, keyId: w.keyId, label: w.label, layers: w.layers, center: w.center, zoom: w.zoom, controls: w.controls, lang: w.lang, ...details },
    });

  router.get('/api/admin/embed-widgets', async (ctx) => {
    ctx.body = await widgets.list(embedManager(ctx));
  });

  router.post('/api/admin/embed-widgets', async (ctx) => {
    const department = embedManager(ctx);
    const options = parseWidgetOptions(await readJsonBody(ctx, MAX_BODY));
    const { widget } = await widgets.save(department, null, options);
    await record(ctx, 'embed.widget_save', widget, { created: true });
    ctx.status = 201;
    ctx.body = widget;
  });

  // Saving again under the same id: every site that embeds /embed/{id} shows the new options at its next load.
  router.put('/api/admin/embed-widgets/:id', async (ctx) => {
    const department = embedManager(ctx);
    const options = parseWidgetOptions(await readJsonBody(ctx, MAX_BODY));
    const { widget } = await widgets.save(department, ctx.params.id!, options);
    await record(ctx, 'embed.widget_save', widget, { created: false });
    ctx.body = widget;
  });

  router.delete('/api/admin/embed-widgets/:id', async (ctx) => {
    const department = embedManager(ctx);
    const id = ctx.params.id!;
    const widget = await widgets.delete(id, department);
    if (!widget) throw notFound('unknown_widget', `no map widget ${id.slice(0, 40)}${department ? ` of ${department}` : ''}`);
    await record(ctx, 'embed.widget_delete', widget);
    ctx.status = 204;
  });
}
