import path from 'node:path';
import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { frameAncestors, type EmbedGrant } from '../access/embed.ts';
import { widgetQuery, type EmbedWidgets } from '../access/widgets.ts';
import type { AppState } from '../app.ts';
import { HttpError, badRequest, notFound } from '../errors.ts';
import { baseUrl } from './tilejson.ts';
import { send, type StaticFiles } from './viewer.ts';

const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const WORDS: Record<string, [string, string]> = {
  unknown_widget: ['此地图组件不存在或已被删除。', 'This map widget does not exist or was deleted.'],
  embed_key_revoked: ['此地图组件已停用：其嵌入密钥已吊销。', 'This map widget is switched off: its embed key was revoked.'],
  embed_key_expired: ['此地图组件已停用：其嵌入密钥已过期。', 'This map widget is switched off: its embed key has expired.'],
  invalid_api_key: ['嵌入密钥无效或已吊销。', 'The embed key is unknown or revoked.'],
  expired_api_key: ['嵌入密钥已过期。', 'The embed key has expired.'],
  origin_not_allowed: ['此地图不能在本网站显示。', 'This map may not be shown on this site.'],
};

/**
 * A refused widget page, as a person sees it in a department's site: a short page in both languages instead of
 * the JSON error, when a browser navigates to /embed/ or /embed/{id}. Mounted outside the error boundary, so the
 * refusal is audited and answered as usual first; only the body changes (and frame-ancestors, when the embed
 * guard set them, stays).
 */
export function embedErrorPage() {
  return async function embedErrorPageMiddleware(ctx: Context, next: Next) {
    await next();
    const body = ctx.body as { error?: unknown; message?: unknown } | null;
    if (ctx.status < 400 || ctx.method !== 'GET' || !/^\/embed\/([^/]*)$/.test(ctx.path) || /\.js$/.test(ctx.path)) return;
    if (!ctx.get('Accept').includes('text/html') || typeof body?.error !== 'string') return;
    const [zh, en] = WORDS[body.error] ?? ['地图暂不可用。', 'The map is not available.'];
    const ancestors = /frame-ancestors [^;]*/.exec(ctx.response.get('Content-Security-Policy'))?.[0];
    ctx.set('Content-Security-Policy', `default-src 'none'; style-src 'unsafe-inline'${ancestors ? `; ${ancestors}` : ''}`);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>CityBase 地图</title>
<style>body{margin:0;height:100vh;display:grid;place-items:center;background:#EEF0F3;color:#334;font:14px/1.6 system-ui,sans-serif;text-align:center}small{color:#778}</style></head>
<body><div><p>${zh}<br>${en}</p><small>${escapeAttr(`${ctx.status} ${body.error}`)}</small></div></body></html>`;
  };
}

/**
 * The map widget's iframe page (`/embed/?key=<embed key>&…`, map-viewer/embed/index.html) and the custom element's
 * loader (`/embed/citybase-map.js`). The page's Content-Security-Policy lets only the platform and the key's
 * origins frame it (frame-ancestors: browsers refuse it anywhere else, with no X-Frame-Options to conflict), and
 * its `<meta name="citybase-embed">` carries those origins for the postMessage checks. The origin and rate of the
 * request itself were checked by the embed guard (access/embed.ts) before this route runs.
 */
export function embedPageRoutes(router: Router<AppState>, opts: { files: StaticFiles; csp: string; publicUrl: string | undefined; widgets?: EmbedWidgets | undefined }): void {
  /** The page, with the key's origins (and a saved widget's options) for the script; frameable by those origins only. */
  const page = async (ctx: Context, grant: EmbedGrant, config: { origins: readonly string[]; widget?: { query: string } }) => {
    const file = await opts.files.get(path.join('embed', 'index.html'));
    if (!file) throw new HttpError(503, 'viewer_not_built', 'the pages are not built: run `npm run build`');
    const html = file.identity.body.toString('utf8').replace('%CITYBASE_EMBED%', escapeAttr(JSON.stringify(config)));
    ctx.set('Content-Security-Policy', opts.csp.replace(/frame-ancestors [^;]*/, frameAncestors(grant)));
    ctx.set('X-Content-Type-Options', 'nosniff');
    // The page's URL holds the key: it goes to this platform's own requests only, never to another site.
    ctx.set('Referrer-Policy', 'same-origin');
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'html';
    ctx.body = html;
  };

  // The route matches /embed and /embed/: the page's relative URLs (its assets, the API) need the slash.
  router.get('/embed', async (ctx) => {
    ctx.state.route = 'embed';
    if (!ctx.path.endsWith('/')) return ctx.redirect(`embed/${ctx.search}`);
    const p = ctx.state.principal;
    if (p?.kind === 'key') throw badRequest('not_an_embed_key', 'an API key is a secret and must never be put in a page URL: make an embed key (npm run key -- embed create, or the admin page)');
    if (p?.kind !== 'embed' || !p.embed) throw badRequest('embed_key_required', 'give an embed key: /embed/?key=<embed key>&layers=…');
    await page(ctx, p.embed, { origins: p.embed.origins });
  });

  router.get('/embed/citybase-map.js', async (ctx: Context) => {
    ctx.state.route = 'embed';
    const manifest = await opts.files.get(path.join('embed', '.vite', 'manifest.json'));
    const entries = manifest ? (JSON.parse(manifest.identity.body.toString('utf8')) as Record<string, { file: string; src?: string }>) : {};
    const element = entries['src/embed/element.ts']?.file;
    const worker = entries['src/map/worker.ts']?.file;
    if (!element || !worker) throw new HttpError(503, 'viewer_not_built', 'the pages are not built: run `npm run build`');
    // Absolute: a classic script from another site (no crossorigin attribute) resolves import() against about:blank.
    ctx.body = `/* CityBase <citybase-map> element (README "Embedding maps") */\nimport(${JSON.stringify(`${baseUrl(ctx, opts.publicUrl)}/${element}`)}).then(function (m) { m.define(${JSON.stringify(path.basename(worker))}); });\n`;
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.set('Cross-Origin-Resource-Policy', 'cross-origin');
    ctx.set('X-Content-Type-Options', 'nosniff');
  });

  // The widgets' own build (map-viewer/vite.embed.config.ts): hashed names, cached for a year, importable from
  // departments' pages (module scripts are fetched with CORS).
  router.get('/embed/assets/:file', async (ctx) => {
    ctx.state.route = 'viewer-asset';
    const name = ctx.params.file!;
    const file = ASSET_NAME.test(name) && !/\.(br|gz)$/.test(name) ? await opts.files.get(path.join('embed', 'assets', name)) : null;
    if (!file) throw notFound('not_found', `no widget asset ${name.slice(0, 100)}`);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.set('Cross-Origin-Resource-Policy', 'cross-origin');
    send(ctx, file, path.extname(name), IMMUTABLE);
  });

  /**
   * A widget saved by the builder, `/embed/{id}`. The principal middleware resolved the id in the path to the
   * widget's embed key (narrowed to its layers) and the embed guard checked the origin and set frame-ancestors,
   * exactly as for `/embed/?key=…`. The same page is served here, not a redirect to `/embed/?key=…&…`: the
   * server keeps only the key's hash, so it could not write the key into a URL anyway; a redirect would cost a
   * round trip before the map starts; and options read from the row at each load mean that saving the widget again
   * changes what every site embedding it shows. The page and its requests carry the widget id as their key.
   */
  const widgets = opts.widgets;
  if (!widgets) return;
  router.get('/embed/:id', async (ctx) => {
    ctx.state.route = 'embed';
    const id = ctx.params.id!;
    const p = ctx.state.principal;
    if (ctx.query.key !== undefined || ctx.get('Authorization')) throw badRequest('invalid_request', 'a saved widget carries its own key: give no key with /embed/{id}');
    const widget = p?.kind === 'embed' && p.embed ? await widgets.get(id) : null;
    if (!widget || !p?.embed) throw notFound('unknown_widget', `no map widget ${id.slice(0, 40)}: it was deleted, or the address is wrong`);
    await page(ctx, p.embed, { origins: p.embed.origins, widget: { query: widgetQuery(widget) } });
  });
}
