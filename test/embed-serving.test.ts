import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import supertest from 'supertest';
import { VIEWER_DIST } from '../tile-server/src/routes/viewer.ts';
import { ensureViewerBuilt } from './helpers/browser.ts';
import { startTestPlatform, type TestPlatform } from './helpers/platform.ts';

/**
 * How the platform serves the map widgets (tile-server/src/routes/embed-page.ts, map-viewer/vite.embed.config.ts):
 * the iframe page with frame-ancestors from the key, the element's loader and assets for other sites, the refusals,
 * and the size budget of what a browser downloads for a widget.
 */
let p: TestPlatform;
let key: string;
const SITE = 'https://sthjj.huaian.gov.cn';
test.before(async () => {
  await ensureViewerBuilt();
  p = await startTestPlatform();
  ({ key } = await p.platform.keys.createEmbed('sthj', { origins: [SITE, '*.example.gov.cn'], layers: ['fx_points'] }));
});
test.after.always(async () => {
  await p?.close();
});
const http = () => supertest(p.platform.app.callback());

type Manifest = Record<string, { file: string; imports?: string[]; css?: string[] }>;
const manifest = (): Manifest => JSON.parse(readFileSync(path.join(VIEWER_DIST, 'embed', '.vite', 'manifest.json'), 'utf8'));
/** The files a browser downloads for an entry: its chunks, their imports, their CSS, and MapLibre's worker. */
function downloads(m: Manifest, entry: string): string[] {
  const seen = new Set<string>();
  const walk = (k: string) => {
    if (seen.has(k)) return;
    seen.add(k);
    for (const i of m[k]!.imports ?? []) walk(i);
  };
  walk(entry);
  walk('src/map/worker.ts');
  return [...new Set([...seen].flatMap((k) => [m[k]!.file, ...(m[k]!.css ?? [])]))];
}
const gz = (f: string) => statSync(path.join(VIEWER_DIST, `${f}.gz`)).size;

test('the iframe page ships at most 300 KB gzipped, MapLibre and its worker included', (t) => {
  const files = downloads(manifest(), 'embed/index.html');
  const total = gz('embed/index.html') + files.reduce((s, f) => s + gz(f), 0);
  t.log(`embed/index.html and ${files.length} files: ${(total / 1000).toFixed(1)} KB gzipped`);
  t.true(total <= 300_000, `${total} bytes`);
});

test('the <citybase-map> element ships at most 300 KB gzipped too, and adds nothing to the other pages', (t) => {
  const files = downloads(manifest(), 'src/embed/element.ts');
  const total = files.reduce((s, f) => s + gz(f), 0);
  t.log(`citybase-map.js and ${files.length} files: ${(total / 1000).toFixed(1)} KB gzipped`);
  t.true(total <= 300_000, `${total} bytes`);
  t.true(files.every((f) => f.startsWith('embed/assets/')), 'the widgets have a build of their own');
  t.false(readFileSync(path.join(VIEWER_DIST, 'index.html'), 'utf8').includes('embed/'), 'the planner page loads none of it');
});

test('the widget page may be framed only by the key’s origins: its CSP says so, and carries them for the host API', async (t) => {
  const res = await http().get(`/embed/?key=${key}&layers=fx_points`).set('Referer', `${SITE}/air.html`);
  t.is(res.status, 200);
  t.regex(res.headers['content-type']!, /^text\/html/);
  const csp = res.headers['content-security-policy']!;
  const rules = Object.fromEntries(csp.split(/;\s*/).map((r) => [r.split(' ')[0], r.split(' ').slice(1)]));
  t.deepEqual(rules['frame-ancestors'], ["'self'", SITE, 'https://*.example.gov.cn']);
  t.deepEqual(rules['script-src'], ["'self'"]);
  t.deepEqual(rules['connect-src'], ["'self'"]);
  t.is(res.headers['x-frame-options'], undefined, 'no X-Frame-Options to contradict frame-ancestors');
  t.is(res.headers['referrer-policy'], 'same-origin', 'the key in the URL never goes to another site');
  t.is(res.headers['cache-control'], 'no-cache');
  const meta = /<meta name="citybase-embed" content="([^"]*)">/.exec(res.text)![1]!.replace(/&quot;/g, '"');
  t.deepEqual(JSON.parse(meta), { origins: [SITE, 'https://*.example.gov.cn'] });
  const worker = /<meta name="maplibre-worker" content="([^"]+)">/.exec(res.text)![1]!;
  t.is((await http().get(new URL(worker, "http://platform/embed/").pathname)).status, 200, `the worker as the page names it: ${worker}`);
  const redirected = await http().get(`/embed?key=${key}&zoom=12`);
  t.is(redirected.status, 302);
  t.is(redirected.headers.location, `embed/?key=${key}&zoom=12`);
});

test('the widget page refuses API keys (secrets never go in a page URL), a missing key, and other sites', async (t) => {
  const { key: apiKey } = await p.platform.keys.create('sthj', 'system');
  const secret = await http().get(`/embed/?key=${apiKey}`);
  t.is(secret.status, 400);
  t.is(secret.body.error, 'not_an_embed_key');
  t.is((await http().get('/embed/')).body.error, 'embed_key_required');
  const other = await http().get(`/embed/?key=${key}`).set('Referer', 'https://other.example.com/page');
  t.is(other.status, 403);
  t.is(other.body.origin, 'https://other.example.com');
  t.regex(other.headers['content-security-policy']!, /^frame-ancestors 'self' https:\/\/sthjj\.huaian\.gov\.cn/, 'even the refusal may not be framed elsewhere');
});

test('the element’s loader and the widget assets may be loaded from any site (CORS), the assets cached for good', async (t) => {
  const loader = await http().get('/embed/citybase-map.js').set('Origin', SITE);
  t.is(loader.status, 200);
  t.regex(loader.headers['content-type']!, /javascript/);
  t.is(loader.headers['access-control-allow-origin'], '*');
  t.is(loader.headers['cache-control'], 'no-cache');
  const [, chunk, worker] = /import\("http:\/\/127\.0\.0\.1:\d+\/embed\/(assets\/[^"]+)"\)\.then\(function \(m\) \{ m\.define\("([^"]+)"\)/.exec(loader.text)!;
  const asset = await http().get(`/embed/${chunk}`).set('Origin', SITE);
  t.is(asset.status, 200);
  t.is(asset.headers['access-control-allow-origin'], '*');
  t.is(asset.headers['cross-origin-resource-policy'], 'cross-origin');
  t.is(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
  t.is((await http().get(`/embed/assets/${worker}`)).status, 200);
  for (const bad of ['/embed/assets/nothing.js', '/embed/assets/..%2Findex.html', `/embed/${chunk}.gz`]) t.is((await http().get(bad)).status, 404, bad);
});
