import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AppState } from '../app.ts';
import { HttpError, notFound } from '../errors.ts';
import type { EmbedWidgets } from '../access/widgets.ts';
import { embedPageRoutes } from './embed-page.ts';

/**
 * The map viewer: the files `npm run build` writes to map-viewer/dist. Assets have content hashes in their
 * names, so they are cached for a year as `immutable`; index.html names them and is revalidated every time
 * (`no-cache` + ETag), so a new build reaches browsers at once. The build writes `.br` and `.gz` beside each
 * text file; those bytes are sent as they are.
 */
export const VIEWER_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../map-viewer/dist');

const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const encodings = [
  ['br', '.br'],
  ['gzip', '.gz'],
] as const;

interface Representation {
  body: Buffer;
  etag: string;
}
interface Cached {
  mtimeMs: number;
  identity: Representation;
  encoded: Map<string, Representation>;
}

/** Files read once per build (keyed by modification time), with their compressed forms and ETags. */
export class StaticFiles {
  private readonly cache = new Map<string, Cached>();
  constructor(private readonly dir: string) {}

  async get(rel: string): Promise<Cached | null> {
    const file = path.join(this.dir, rel);
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return null;
    const hit = this.cache.get(rel);
    if (hit && hit.mtimeMs === info.mtimeMs) return hit;
    const body = await readFile(file);
    // Each representation's tag is the hash of its own bytes: two builds that compress the same file differently
    // never share a strong ETag.
    const tag = (bytes: Buffer) => `"${createHash('sha1').update(bytes).digest('base64url')}"`;
    const etag = tag(body);
    const encoded = new Map<string, Representation>();
    for (const [name, ext] of encodings) {
      const bytes = await readFile(file + ext).catch(() => null);
      if (bytes) encoded.set(name, { body: bytes, etag: tag(bytes) });
    }
    const entry = { mtimeMs: info.mtimeMs, identity: { body, etag }, encoded };
    this.cache.set(rel, entry);
    return entry;
  }
}

export function send(ctx: Context, file: Cached, type: string, cacheControl: string): void {
  const accepted = file.encoded.size ? ctx.acceptsEncodings(...file.encoded.keys(), 'identity') : 'identity';
  const rep = (typeof accepted === 'string' && file.encoded.get(accepted)) || file.identity;
  if (rep !== file.identity) ctx.set('Content-Encoding', accepted as string);
  ctx.compress = false; // negotiated here, from the build's own .br/.gz, each with its ETag
  if (file.encoded.size) ctx.vary('Accept-Encoding');
  ctx.set('Cache-Control', cacheControl);
  ctx.set('ETag', rep.etag);
  ctx.type = type;
  ctx.status = 200; // ctx.fresh only holds for a 2xx response
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.body = rep.body;
}

/**
 * The page may load nothing from another host (the city intranet reaches none): the browser enforces it.
 * Tiles and the API are on this server, or under PUBLIC_URL when the catalog's URLs point there.
 */
export function contentSecurityPolicy(publicUrl: string | undefined): string {
  const self = publicUrl ? `'self' ${new URL(publicUrl).origin}` : `'self'`;
  return [
    `default-src 'self'`,
    `script-src 'self'`,
    `worker-src 'self'`,
    `connect-src ${self}`,
    `img-src 'self' data: blob:`,
    `style-src 'self'`,
    `font-src 'self' data:`,
    `object-src 'none'`,
    `base-uri 'self'`,
    `frame-ancestors 'self'`,
  ].join('; ');
}

/** URL → HTML file of the build. */
const PAGES: ReadonlyArray<[string, string]> = [
  ['/', 'index.html'],
  ['/login', 'login.html'],
  ['/admin', 'admin.html'],
];

export function viewerRoutes(router: Router<AppState>, opts: { publicUrl: string | undefined; dist?: string; widgets?: EmbedWidgets }): void {
  const files = new StaticFiles(opts.dist ?? VIEWER_DIST);
  const csp = contentSecurityPolicy(opts.publicUrl);

  // The pages: one HTML entry of the build each, beside index.html so their relative URLs (assets, API) hold.
  for (const [url, file] of PAGES) router.get(url, (ctx) => page(ctx, file));

  async function page(ctx: Context, file: string): Promise<void> {
    ctx.state.route = 'viewer';
    const index = await files.get(file);
    if (!index) {
      // Not a client error and nothing to hide: say plainly what the operator has to do.
      ctx.status = 503;
      ctx.body = { error: 'viewer_not_built', message: 'the map viewer is not built: run `npm run build` (npm start does it when missing)' };
      return;
    }
    ctx.set('Content-Security-Policy', csp);
    ctx.set('X-Content-Type-Options', 'nosniff');
    send(ctx, index, 'html', 'no-cache');
  }

  // The inspectors' phone page, the centre's desk and the vehicle desk: their own Vite entries (map-viewer/m/,
  // cases/, vehicles/), sharing assets.
  for (const page of ['m', 'cases', 'vehicles']) {
    router.get(`/${page}/`, async (ctx) => {
      ctx.state.route = 'viewer';
      // The router is not strict: /m lands here too, and must become /m/ for the page's relative asset URLs.
      if (!ctx.path.endsWith('/')) return ctx.redirect(`${page}/`);
      const file = await files.get(path.join(page, 'index.html'));
      if (!file) throw new HttpError(503, 'viewer_not_built', 'the pages are not built: run `npm run build`');
      ctx.set('Content-Security-Policy', csp);
      ctx.set('X-Content-Type-Options', 'nosniff');
      send(ctx, file, 'html', 'no-cache');
    });
  }

  // The phone page is an installable PWA (map-viewer/public/m/): its service worker (scope /m/; revalidated on
  // every visit, so an update reaches the phones at once), its web app manifest and icon.
  const PWA: Record<string, string> = { 'sw.js': '.js', 'manifest.webmanifest': 'application/manifest+json', 'icon.svg': '.svg' };
  router.get('/m/:file', async (ctx) => {
    ctx.state.route = 'viewer-asset';
    const name = ctx.params.file!;
    const file = Object.hasOwn(PWA, name) ? await files.get(path.join('m', name)) : null;
    if (!file) throw notFound('not_found', `no file ${name.slice(0, 100)} of the phone page`);
    ctx.set('X-Content-Type-Options', 'nosniff');
    send(ctx, file, PWA[name]!, 'no-cache');
  });

  // The map widgets for departments' sites (/embed/, /embed/citybase-map.js, saved widgets at /embed/{id}).
  embedPageRoutes(router, { files, csp, publicUrl: opts.publicUrl, widgets: opts.widgets });

  router.get('/assets/:file', async (ctx) => {
    ctx.state.route = 'viewer-asset';
    const name = ctx.params.file!;
    const file = ASSET_NAME.test(name) && !/\.(br|gz)$/.test(name) ? await files.get(path.join('assets', name)) : null;
    if (!file) throw notFound('not_found', `no viewer asset ${name.slice(0, 100)}`);
    ctx.set('X-Content-Type-Options', 'nosniff');
    send(ctx, file, path.extname(name), IMMUTABLE);
  });
}
