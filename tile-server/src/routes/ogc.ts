import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AppState } from '../app.ts';
import type { QueryRunner } from '../db/query.ts';
import { notFound } from '../errors.ts';
import { fetchItem, fetchItems, parseItemsRequest } from '../features/items.ts';
import type { FeatureLayers } from '../features/layers.ts';
import { CONFORMANCE, GEOJSON, collectionDocument, landingPage, queryablesDocument, type Href, type Link } from '../features/ogc.ts';
import { parseCrs } from '../features/crs.ts';
import { encodeCursor, isInt8, onlyKnown, single } from '../features/params.ts';
import { baseUrl, type BoundsCache } from './tilejson.ts';
import { clientGone } from './tiles.ts';

export interface OgcDeps {
  layers: FeatureLayers;
  run: QueryRunner;
  bounds: BoundsCache;
  publicUrl: string | undefined;
}

/**
 * OGC API - Features, Part 1 Core with Part 3 filtering: /ogc (landing page), /conformance, /collections,
 * /collections/{layer}, /collections/{layer}/queryables, /collections/{layer}/items[/{id}]. Every layer goes
 * through the access check first (FeatureLayers.get), so nothing about an invisible layer is parsed or answered.
 */
/** Absolute links for a request: the public base URL, and the caller's ?key= carried on. */
export function ogcHref(ctx: Context, publicUrl: string | undefined): Href {
  const base = baseUrl(ctx, publicUrl);
  const key = typeof ctx.query.key === 'string' && ctx.query.key ? ctx.query.key : null;
  return (path, query = new URLSearchParams()) => {
    if (key && !query.has('key')) query.set('key', key);
    const qs = query.toString();
    return `${base}${path}${qs ? `?${qs}` : ''}`;
  };
}

/** The same paths under /ogc, for clients that append paths to the landing page's URL instead of following its links. */
export const alsoUnderOgc = (path: string) => [path, `/ogc${path}`];

export function ogcRoutes(router: Router<AppState>, deps: OgcDeps): void {
  const href = (ctx: Context): Href => ogcHref(ctx, deps.publicUrl);
  const json = (ctx: Context, route: string, body: object, type = 'application/json') => {
    ctx.state.route = route;
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = type;
    ctx.body = body;
  };

  router.get('/ogc', (ctx) => {
    onlyKnown(ctx.query, ['f', 'key']);
    json(ctx, 'ogc', landingPage(href(ctx)));
  });

  const at = alsoUnderOgc;

  router.get(at('/conformance'), (ctx) => {
    onlyKnown(ctx.query, ['f', 'key']);
    json(ctx, 'ogc', { conformsTo: CONFORMANCE });
  });

  router.get(at('/collections'), async (ctx) => {
    onlyKnown(ctx.query, ['f', 'key']);
    const h = href(ctx);
    const tables = deps.layers.list(ctx.state.principal);
    const bounds = await Promise.all(tables.map((t) => deps.bounds.of(t.source)));
    json(ctx, 'collections', {
      links: [{ href: h('/collections'), rel: 'self', type: 'application/json', title: 'collections' }],
      collections: tables.map((t, i) => collectionDocument(t, bounds[i]!, h)),
    });
  });

  router.get(at('/collections/:layer'), async (ctx) => {
    const t = deps.layers.get(ctx.params.layer!, ctx.state.principal);
    onlyKnown(ctx.query, ['f', 'key']);
    json(ctx, 'collections', collectionDocument(t, await deps.bounds.of(t.source), href(ctx)));
  });

  router.get(at('/collections/:layer/queryables'), (ctx) => {
    const t = deps.layers.get(ctx.params.layer!, ctx.state.principal);
    onlyKnown(ctx.query, ['f', 'key']);
    json(ctx, 'queryables', queryablesDocument(t, href(ctx)), 'application/schema+json');
  });

  router.get(at('/collections/:layer/items'), async (ctx) => {
    ctx.state.route = 'items';
    const t = deps.layers.get(ctx.params.layer!, ctx.state.principal);
    const request = parseItemsRequest(t, ctx.query);
    const page = await fetchItems(t, request, deps.run, clientGone(ctx));
    const h = href(ctx);
    const path = `/collections/${t.id}/items`;
    const links: Link[] = [
      { href: h(path, requestQuery(ctx)), rel: 'self', type: GEOJSON, title: 'this page' },
      { href: h(`/collections/${t.id}`), rel: 'collection', type: 'application/json', title: t.meta.title.zh },
    ];
    if (page.next) {
      const q = requestQuery(ctx);
      q.delete('offset');
      q.delete('cursor');
      if ('cursor' in page.next) q.set('cursor', encodeCursor(page.next.cursor));
      else q.set('offset', String(page.next.offset));
      links.push({ href: h(path, q), rel: 'next', type: GEOJSON, title: 'next page' });
    }
    // The features are JSON texts made by PostgreSQL: they are joined, never parsed and re-serialised.
    const head = JSON.stringify({
      type: 'FeatureCollection',
      numberReturned: page.numberReturned,
      ...(page.numberMatched !== null ? { numberMatched: page.numberMatched } : {}),
      timeStamp: new Date().toISOString(),
      links,
    });
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('Content-Crs', `<${request.crs.uri}>`);
    ctx.type = GEOJSON;
    // As bytes: the head may hold Chinese (two-byte) text, and a string joined with it would make node re-encode
    // the whole page slowly; the features text from PostgreSQL converts to UTF-8 on its own fast path.
    ctx.body = Buffer.concat([Buffer.from(`${head.slice(0, -1)},"features":[`), Buffer.from(page.features), Buffer.from(']}')]);
  });

  router.get(at('/collections/:layer/items/:id'), async (ctx) => {
    ctx.state.route = 'item';
    const t = deps.layers.get(ctx.params.layer!, ctx.state.principal);
    onlyKnown(ctx.query, ['f', 'key', 'crs']);
    const crs = parseCrs('crs', single(ctx.query, 'crs'));
    const id = ctx.params.id!;
    const feature = t.idSql && isInt8(id) ? await fetchItem(t, id, deps.run, clientGone(ctx), crs) : null;
    if (feature === null) throw notFound('unknown_feature', `no feature "${id.slice(0, 40)}" in ${t.id}`);
    const h = href(ctx);
    const links = JSON.stringify([
      { href: h(`/collections/${t.id}/items/${id}`), rel: 'self', type: GEOJSON },
      { href: h(`/collections/${t.id}`), rel: 'collection', type: 'application/json' },
    ]);
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('Content-Crs', `<${crs.uri}>`);
    ctx.type = GEOJSON;
    ctx.body = `${feature.slice(0, -1)},"links":${links}}`;
  });
}

/** The request's own query parameters (single values, as given), for self and next links. */
function requestQuery(ctx: Context): URLSearchParams {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(ctx.query)) if (typeof v === 'string') q.set(k, v);
  return q;
}
