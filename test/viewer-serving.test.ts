import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import Router from '@koa/router';
import test from 'ava';
import Koa from 'koa';
import supertest from 'supertest';
import { request } from 'undici';
import type { AppState } from '../tile-server/src/app.ts';
import { errorBoundary } from '../tile-server/src/errors.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { VIEWER_DIST, viewerRoutes } from '../tile-server/src/routes/viewer.ts';
import { ensureViewerBuilt, listen } from './helpers/browser.ts';
import { binary } from './helpers/platform.ts';

/**
 * How the tile server serves the built viewer (tile-server/src/routes/viewer.ts): caching, compression, the
 * Content-Security-Policy, bad asset names, a missing build; and the size budget of what a browser downloads.
 */

function appServingApp(dist?: string, publicUrl?: string): Koa<AppState> {
  const app = new Koa<AppState>();
  app.silent = true;
  app.use(errorBoundary(createLogger('silent')));
  app.use(async (ctx, next) => {
    ctx.state.route = 'other';
    await next();
  });
  const router = new Router<AppState>();
  viewerRoutes(router, { publicUrl, ...(dist ? { dist } : {}) });
  app.use(router.routes());
  return app;
}
const appServing = (dist?: string, publicUrl?: string) => supertest(appServingApp(dist, publicUrl).callback());

let http: ReturnType<typeof appServing>;
let index: string;
let assets: string[];
test.before(async () => {
  await ensureViewerBuilt();
  http = appServing();
  index = readFileSync(path.join(VIEWER_DIST, 'index.html'), 'utf8');
  assets = readdirSync(path.join(VIEWER_DIST, 'assets')).filter((f) => !/\.(br|gz)$/.test(f));
});

const raw = (req: supertest.Test) => req.buffer(true).parse(binary);

test('index.html is revalidated every time, with an ETag, and names the hashed assets and the worker', async (t) => {
  const res = await raw(http.get('/').set('Accept-Encoding', 'identity'));
  t.is(res.status, 200);
  t.regex(res.headers['content-type']!, /^text\/html/);
  t.is(res.headers['cache-control'], 'no-cache');
  t.is((res.body as Buffer).toString('utf8'), index);
  const worker = /<meta name="maplibre-worker" content="([^"]+)">/.exec(index)?.[1];
  t.truthy(worker && assets.includes(path.basename(worker)), `the worker ${worker} is one of the built assets`);
  for (const src of index.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)) t.true(assets.includes(path.basename(src[1]!)), src[1]!);
  const again = await http.get('/').set({ 'Accept-Encoding': 'identity', 'If-None-Match': res.headers.etag! });
  t.is(again.status, 304);
});

test('the page may load nothing from another host: its Content-Security-Policy says so', async (t) => {
  const csp = (await http.get('/')).headers['content-security-policy']!;
  const rules = Object.fromEntries(csp.split(/;\s*/).map((r) => [r.split(' ')[0], r.split(' ').slice(1)]));
  t.deepEqual(rules['default-src'], ["'self'"]);
  t.deepEqual(rules['script-src'], ["'self'"]);
  t.deepEqual(rules['connect-src'], ["'self'"]);
  t.deepEqual(rules['worker-src'], ["'self'"]);
  // Tiles and API under PUBLIC_URL (the catalog's URLs point there) are allowed too, and nothing else.
  const behindProxy = (await appServing(undefined, 'https://gis.huaian.example/citybase').get('/')).headers['content-security-policy']!;
  t.regex(behindProxy, /connect-src 'self' https:\/\/gis\.huaian\.example(;|$)/);
});

test('hashed assets are cached for a year as immutable, in brotli or gzip as the browser accepts', async (t) => {
  const js = assets.find((f) => f.endsWith('.js'))!;
  const file = readFileSync(path.join(VIEWER_DIST, 'assets', js));
  // undici hands over the bytes as sent (supertest would decompress them).
  const server = await listen(appServingApp());
  try {
    for (const [accept, encoding, decode] of [
      ['br, gzip', 'br', zlib.brotliDecompressSync],
      ['gzip', 'gzip', zlib.gunzipSync],
      ['identity', undefined, (b: Buffer) => b],
    ] as const) {
      const res = await request(`${server.url}/assets/${js}`, { headers: { 'Accept-Encoding': accept } });
      const body = Buffer.from(await res.body.arrayBuffer());
      t.is(res.statusCode, 200);
      t.is(res.headers['cache-control'], 'public, max-age=31536000, immutable');
      t.regex(String(res.headers['content-type']), /javascript/);
      t.is(res.headers['content-encoding'], encoding);
      t.regex(String(res.headers.vary), /Accept-Encoding/);
      t.true(decode(body).equals(file), `${accept}: the file's bytes`);
      if (encoding) t.true(body.length < file.length / 2, `${encoding} is compressed`);
    }
  } finally {
    await server.close();
  }
  const css = assets.find((f) => f.endsWith('.css'))!;
  t.regex((await http.get(`/assets/${css}`)).headers['content-type']!, /^text\/css/);
});

test('asset names outside the build are 404 with a JSON error, never a file elsewhere', async (t) => {
  for (const url of ['/assets/nothing.js', '/assets/..%2Fpackage.json', '/assets/%2E%2E%2F..%2Fpackage.json', `/assets/${assets[0]}.br`, '/assets/.hidden']) {
    const res = await http.get(url);
    t.is(res.status, 404, url);
    t.is(res.body.error, 'not_found', url);
  }
});

test('without a build, the page says how to make one', async (t) => {
  const res = await appServing(mkdtempSync(path.join(os.tmpdir(), 'citybase-nodist-'))).get('/');
  t.is(res.status, 503);
  t.is(res.body.error, 'viewer_not_built');
  t.regex(res.body.message, /npm run build/);
});

test('what a browser downloads fits the budget: at most 450 KB gzipped in all, MapLibre included', (t) => {
  const gz = (f: string) => statSync(path.join(VIEWER_DIST, f + '.gz')).size;
  // What the planner's page can download: its chunks and CSS, what they import now or on demand, and MapLibre's
  // worker; the other pages' own files (login, admin, the desks) are not the planner's to carry.
  const manifest = JSON.parse(readFileSync(path.join(VIEWER_DIST, '.vite', 'manifest.json'), 'utf8')) as Record<string, { file: string; imports?: string[]; dynamicImports?: string[]; css?: string[] }>;
  const seen = new Set<string>();
  const walk = (k: string) => {
    if (seen.has(k)) return;
    seen.add(k);
    for (const i of [...(manifest[k]!.imports ?? []), ...(manifest[k]!.dynamicImports ?? [])]) walk(i);
  };
  walk('index.html');
  walk('src/map/worker.ts');
  const files = [...new Set([...seen].flatMap((k) => [manifest[k]!.file, ...(manifest[k]!.css ?? [])]))];
  t.true(files.every((f) => assets.includes(path.basename(f))));
  const total = gz('index.html') + files.reduce((sum, f) => sum + gz(f), 0);
  t.log(`index.html and ${files.length} assets: ${(total / 1000).toFixed(1)} KB gzipped`);
  t.true(total <= 450_000, `${total} bytes`);
});
