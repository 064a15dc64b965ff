import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import supertest from 'supertest';
import { originMatches, parseAllowedOrigin } from '../tile-server/src/access/embed.ts';
import { signIn } from './helpers/identity.ts';
import { binary, eventually, root, startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { decodeTile, tileOf } from './helpers/mvt.ts';
import { createLogger } from '../tile-server/src/log.ts';

/**
 * Embed keys (README "Embedding maps"): bound to a department, its origins, its layers and a rate per client
 * address, read-only by construction, checked in one place (access/embed.ts) on every request that carries one.
 * Serial: the sign-ins and command-line runs are CPU-heavy, and the tests share one platform's pool.
 */

const SITE = 'https://sthjj.huaian.gov.cn';
let p: TestPlatform;
test.before(async () => {
  p = await startTestPlatform();
});
test.after.always(async () => {
  await p?.close();
});

const http = () => supertest(p.platform.app.callback());
const T = tileOf(119.05, 33.6, 12);
const tile = (layer: string, key: string) => `/tiles/${layer}/${T.z}/${T.x}/${T.y}.pbf?key=${key}`;

async function embedKey(department: string, layers: string[], o: { origins?: string[]; ratePerMinute?: number; expiresAt?: Date } = {}) {
  return p.platform.keys.createEmbed(department, { origins: o.origins ?? [SITE, 'https://*.example.gov.cn'], layers, ratePerMinute: o.ratePerMinute, expiresAt: o.expiresAt });
}

test.serial('allowed origins: exact origins and *.domain patterns, normalised; paths and bare wildcards refused', (t) => {
  t.is(parseAllowedOrigin('https://SthJJ.huaian.gov.cn/'), 'https://sthjj.huaian.gov.cn');
  t.is(parseAllowedOrigin('*.example.gov.cn'), 'https://*.example.gov.cn');
  t.is(parseAllowedOrigin('http://*.example.gov.cn:8080'), 'http://*.example.gov.cn:8080');
  for (const bad of ['https://a.gov.cn/page', '*', 'https://*', 'ftp://a.gov.cn', 'https://u:p@a.gov.cn', 'sthjj.huaian.gov.cn'])
    t.throws(() => parseAllowedOrigin(bad), { message: /not an origin|two labels/ }, bad);
  t.true(originMatches('https://a.example.gov.cn', 'https://*.example.gov.cn'));
  t.true(originMatches('https://a.b.example.gov.cn', 'https://*.example.gov.cn'));
  t.false(originMatches('https://example.gov.cn', 'https://*.example.gov.cn'), 'the pattern is for subdomains');
  t.false(originMatches('https://evilexample.gov.cn', 'https://*.example.gov.cn'));
  t.false(originMatches('http://a.example.gov.cn', 'https://*.example.gov.cn'), 'the scheme must match');
  t.false(originMatches('https://a.example.gov.cn:8443', 'https://*.example.gov.cn'), 'the port must match');
  t.false(originMatches('https://a.example.gov.cn.evil.com', 'https://*.example.gov.cn'));
});

test.serial('from an allowed origin an embed key gets tiles, TileJSON, style, catalog, items and identify of its layers', async (t) => {
  const { key } = await embedKey('cgj', ['fx_points']);
  for (const origin of [SITE, 'https://www.example.gov.cn']) {
    const res = await http().get(tile('fx_points', key)).set('Origin', origin).buffer(true).parse(binary);
    t.is(res.status, 200, origin);
    t.true(decodeTile(res.body as Buffer, T.z, T.x, T.y).fx_points!.length > 0);
    t.is(res.headers['access-control-allow-origin'], origin, 'the host page may read it');
    t.regex(res.headers.vary!, /Origin/);
    t.notRegex(res.headers['cache-control'] ?? '', /public/, 'no shared cache keeps an answer that depends on the site');
  }
  const headers = { Origin: SITE };
  t.is((await http().get(`/tiles/fx_points.json?key=${key}`).set(headers)).status, 200);
  const catalog = await http().get(`/layers?key=${key}`).set(headers);
  const ids = catalog.body.layers.map((l: { id: string }) => l.id);
  t.true(ids.includes('fx_points'));
  t.false(ids.includes('fx_buildings'), 'a public layer not on the key is not shown');
  t.false(ids.includes('fx_roads'), 'an internal base-map layer not on the key is not shown');
  const style = await http().get(`/styles/default.json?key=${key}`).set(headers);
  t.is(style.status, 200);
  t.true(Object.keys(style.body.sources).every((s) => s === 'fx_points' || !s.startsWith('fx_')), Object.keys(style.body.sources).join());
  const items = await http().get(`/collections/fx_points/items?limit=2&key=${key}`).set('Referer', `${SITE}/air/index.html`);
  t.is(items.status, 200, 'a Referer names the origin when there is no Origin');
  t.is(items.body.features.length, 2);
  const identify = await http().get(`/identify?lon=119.05&lat=33.6&zoom=14&layers=fx_points&key=${key}`).set(headers);
  t.is(identify.status, 200);
  // Layers not on the key are answered like unknown ones.
  t.is((await http().get(tile('fx_buildings', key)).set(headers)).status, 404);
  t.is((await http().get(`/collections/fx_buildings/items?key=${key}`).set(headers)).status, 404);
});

test.serial('from another origin every request with the key is 403 naming that origin', async (t) => {
  const { key } = await embedKey('cgj', ['fx_points', 'fx_roads']);
  const urls = [tile('fx_points', key), `/tiles/fx_points.json?key=${key}`, `/styles/default.json?key=${key}`, `/layers?key=${key}`, `/collections/fx_points/items?key=${key}`, `/identify?lon=119.05&lat=33.6&zoom=14&layers=fx_points&key=${key}`];
  for (const url of urls) {
    const res = await http().get(url).set('Origin', 'https://other.example.com');
    t.is(res.status, 403, url);
    t.is(res.body.error, 'origin_not_allowed');
    t.regex(res.body.message, /https:\/\/other\.example\.com/);
    t.is(res.body.origin, 'https://other.example.com');
  }
  const byReferer = await http().get(`/layers?key=${key}`).set('Referer', 'https://example.gov.cn/');
  t.is(byReferer.status, 403, 'the bare domain is not covered by *.example.gov.cn');
  // The key in an Authorization header is checked all the same.
  t.is((await http().get(tile('fx_points', '')).set({ Authorization: `Bearer ${key}`, Origin: 'https://evil.test' })).status, 403);
  const denied = await p.sql.query(`SELECT actor_kind, actor FROM citybase.audit_log WHERE action = 'access.denied' AND details->>'error' = 'origin_not_allowed'`);
  t.true(denied.rows.length > 0, 'refusals are audited');
  t.is(denied.rows[0].actor_kind, 'embed');
});

test.serial('without Origin or Referer only public layers are served', async (t) => {
  const { key } = await embedKey('cgj', ['fx_points', 'fx_roads']);
  t.is((await http().get(tile('fx_points', key))).status, 200, 'public');
  t.is((await http().get(tile('fx_roads', key))).status, 404, 'internal: refused');
  t.is((await http().get(tile('fx_roads', key)).set('Origin', SITE)).status, 200, 'internal from the site');
});

test.serial('a restricted layer is shown only by its departments’ keys, and never to another department’s key', async (t) => {
  // fx_secret belongs to rfb and is allowed to sthj.
  const editor = await signIn(p, 'cgj.editor', { roles: ['editor'], department: 'cgj' });
  const refused = await editor.agent.post('/api/admin/embed-keys').set('X-CSRF-Token', editor.csrf).send({ origins: [SITE], layers: ['fx_points', 'fx_secret'] });
  t.is(refused.status, 400);
  t.regex(refused.body.message, /fx_secret.*cgj/);
  const sthj = await embedKey('sthj', ['fx_secret']);
  const cgj = await embedKey('cgj', ['fx_points']);
  t.is((await http().get(tile('fx_secret', sthj.key)).set('Origin', SITE)).status, 200);
  t.is((await http().get(tile('fx_secret', sthj.key)).set('Origin', 'https://other.example.com')).status, 403);
  t.is((await http().get(tile('fx_secret', sthj.key))).status, 404, 'no origin, no restricted layer');
  t.is((await http().get(tile('fx_secret', cgj.key)).set('Origin', SITE)).status, 404);
  t.is((await http().get(`/collections/fx_secret/items?key=${cgj.key}`).set('Origin', SITE)).status, 404);
  // Even written into the database by hand, a cgj key listing fx_secret is still refused it by canSee.
  await p.sql.query(`UPDATE citybase.api_keys SET layers = '{fx_points,fx_secret}' WHERE id = $1`, [cgj.id]);
  p.platform.keys.forget();
  t.is((await http().get(tile('fx_secret', cgj.key)).set('Origin', SITE)).status, 404);
});

test.serial('embed keys are read-only by construction: no import, case action or administration', async (t) => {
  const { key } = await embedKey('cgj', ['fx_points']);
  const h = { Authorization: `Bearer ${key}`, Origin: SITE };
  t.is((await http().get('/api/admin/embed-keys').set(h)).status, 403);
  t.is((await http().get('/api/admin/users').set(h)).status, 403);
  t.is((await http().post('/api/imports').set(h).send({})).status, 403);
  t.is((await http().get('/api/cases').set(h)).status, 403);
  await t.throwsAsync(() => p.platform.keys.create('cgj', 'x', ['embed:manage', 'user:manage']), { message: /cannot hold user:manage/ });
  const row = await p.sql.query(`SELECT rights FROM citybase.api_keys WHERE kind = 'embed' LIMIT 1`);
  t.deepEqual(row.rows[0].rights, ['layer:read']);
  await t.throwsAsync(() => p.sql.query(`UPDATE citybase.api_keys SET rights = '{layer:read,layer:import}' WHERE kind = 'embed'`), { message: /api_keys_embed_bound/ });
});

test.serial('over its rate per client address a key is answered 429 with Retry-After', async (t) => {
  const { key } = await embedKey('cgj', ['fx_points'], { ratePerMinute: 3 });
  for (let i = 0; i < 3; i++) t.is((await http().get(`/tiles/fx_points.json?key=${key}`).set('Origin', SITE)).status, 200);
  const over = await http().get(`/tiles/fx_points.json?key=${key}`).set('Origin', SITE);
  t.is(over.status, 429);
  t.is(over.body.error, 'too_many_requests');
  t.true(Number(over.headers['retry-after']) >= 1);
  const other = await embedKey('cgj', ['fx_points'], { ratePerMinute: 3 });
  t.is((await http().get(`/tiles/fx_points.json?key=${other.key}`).set('Origin', SITE)).status, 200, 'another key has its own bucket');
});

test.serial('an expired or revoked embed key is refused', async (t) => {
  const { id, key } = await embedKey('cgj', ['fx_points'], { expiresAt: new Date(Date.now() + 60_000) });
  t.is((await http().get(`/layers?key=${key}`).set('Origin', SITE)).status, 200);
  await p.sql.query(`UPDATE citybase.api_keys SET expires_at = now() - interval '1 s' WHERE id = $1`, [id]);
  p.platform.keys.forget();
  t.is((await http().get(`/layers?key=${key}`).set('Origin', SITE)).body.error, 'expired_api_key');
  const other = await embedKey('cgj', ['fx_points']);
  t.true(await p.platform.keys.revokeEmbed(other.id, null));
  t.is((await http().get(`/layers?key=${other.key}`).set('Origin', SITE)).status, 401);
});

test.serial('the admin API: a department’s editors manage its embed keys (embed:manage), audited, never another department’s', async (t) => {
  const editor = await signIn(p, 'sthj.editor', { roles: ['editor'], department: 'sthj' });
  const viewer = await signIn(p, 'sthj.viewer', { roles: ['viewer'], department: 'sthj' });
  const post = (who: typeof editor, body: object) => who.agent.post('/api/admin/embed-keys').set('X-CSRF-Token', who.csrf).send(body);
  t.is((await post(viewer, { origins: [SITE], layers: ['fx_points'] })).status, 403);
  t.is((await post(editor, { department: 'cgj', origins: [SITE], layers: ['fx_points'] })).status, 403);
  t.is((await post(editor, { origins: ['https://a.gov.cn/path'], layers: ['fx_points'] })).body.error, 'invalid_origin');
  t.is((await post(editor, { origins: [], layers: ['fx_points'] })).body.error, 'invalid_origin');
  t.is((await post(editor, { origins: [SITE], layers: [] })).body.error, 'invalid_layers');
  const created = await post(editor, { label: '空气质量站点', origins: [SITE, '*.example.gov.cn'], layers: ['fx_points', 'fx_secret'], ratePerMinute: 1200 });
  t.is(created.status, 201);
  t.regex(created.body.key, /^cb_/);
  t.deepEqual(created.body.origins, [SITE, 'https://*.example.gov.cn']);
  t.is(created.body.ratePerMinute, 1200);
  t.is((await http().get(tile('fx_secret', created.body.key)).set('Origin', SITE)).status, 200);
  const listed = await editor.agent.get('/api/admin/embed-keys');
  t.deepEqual(
    listed.body.map((k: { id: number }) => k.id),
    (await p.sql.query(`SELECT id FROM citybase.api_keys WHERE kind = 'embed' AND department_id = 'sthj' ORDER BY id`)).rows.map((r) => r.id),
  );
  t.false(JSON.stringify(listed.body).includes(created.body.key), 'the key is shown once, at creation');
  // Embed keys are not API keys: the API-key listing leaves them out.
  const admin = await signIn(p, 'embed.admin', { roles: ['admin'] });
  t.false((await admin.agent.get('/api/admin/keys')).body.some((k: { id: number }) => k.id === created.body.id));
  const cgjEditor = await signIn(p, 'cgj.editor2', { roles: ['editor'], department: 'cgj' });
  t.is((await cgjEditor.agent.delete(`/api/admin/embed-keys/${created.body.id}`).set('X-CSRF-Token', cgjEditor.csrf)).status, 404);
  const del = await editor.agent.delete(`/api/admin/embed-keys/${created.body.id}`).set('X-CSRF-Token', editor.csrf);
  t.is(del.status, 204, JSON.stringify(del.body));
  t.is((await http().get(tile('fx_secret', created.body.key)).set('Origin', SITE)).status, 401);
  const records = await p.sql.query(`SELECT action, actor, details FROM citybase.audit_log WHERE target = $1 ORDER BY id`, [`key:${created.body.id}`]);
  t.deepEqual(records.rows.map((r) => [r.action, r.actor]), [['embed_key.create', 'sthj.editor'], ['embed_key.revoke', 'sthj.editor']]);
  t.deepEqual(records.rows[0].details.layers, ['fx_points', 'fx_secret']);
  t.false(JSON.stringify(records.rows).includes(created.body.key), 'the audit trail never holds the key');
});

test.serial('npm run key -- embed: create prints the key on its last line (--origin repeats), list and revoke', async (t) => {
  const run = promisify(execFile);
  const env = { ...process.env, DATABASE_URL: p.url, LOG_LEVEL: 'silent', LAYERS_DIR: 'test/fixtures/layers' };
  const cli = (...args: string[]) => run('node', ['--import', 'tsx', 'tile-server/src/cli/key.ts', 'embed', ...args], { cwd: root, env });
  const created = await cli('create', '--department', 'sthj', '--origin', SITE, '--origin', '*.example.gov.cn', '--layers', 'fx_points,fx_secret', '--rate', '120');
  const key = created.stdout.trim().split('\n').at(-1)!;
  t.regex(key, /^cb_[A-Za-z0-9_-]{43}$/);
  t.is((await http().get(tile('fx_secret', key)).set('Origin', 'https://www.example.gov.cn')).status, 200);
  const listed = await cli('list', '--department', 'sthj');
  t.regex(listed.stdout, /https:\/\/\*\.example\.gov\.cn/);
  t.false(listed.stdout.includes(key));
  const bad = await cli('create', '--department', 'cgj', '--origin', SITE, '--layers', 'fx_secret').catch((e: { code: number; stderr: string }) => e);
  t.is((bad as { code: number }).code, 1);
  t.regex((bad as { stderr: string }).stderr, /fx_secret.*cgj/);
  const noOrigin = await cli('create', '--department', 'cgj', '--layers', 'fx_points').catch((e: { code: number; stderr: string }) => e);
  t.regex((noOrigin as { stderr: string }).stderr, /--origin is required/);
  const id = Number(/^embed key (\d+) for sthj/.exec(created.stdout)![1]);
  await cli('revoke', String(id));
  // Another process revoked it: the server hears of it through the database's notification.
  await eventually(async () => (await http().get(tile('fx_secret', key)).set('Origin', SITE)).status === 401);
  const audited = await p.sql.query(`SELECT action FROM citybase.audit_log WHERE target = $1 ORDER BY id`, [`key:${id}`]);
  t.deepEqual(audited.rows.map((r) => r.action), ['embed_key.create', 'embed_key.revoke']);
});

test.serial('embed keys never reach the logs, even at debug level', async (t) => {
  const lines: string[] = [];
  const log = createLogger('debug', { write: (s: string) => void lines.push(s) });
  const own = await startTestPlatform({ LOG_LEVEL: 'debug' }, { log });
  try {
    const { key } = await own.platform.keys.createEmbed('cgj', { origins: [SITE], layers: ['fx_points'] });
    const h = supertest(own.platform.app.callback());
    t.is((await h.get(`/tiles/fx_points.json?key=${key}`).set('Origin', SITE)).status, 200);
    t.is((await h.get(`/tiles/fx_points.json?key=${key}`).set('Origin', 'https://other.example.com')).status, 403);
    t.true(lines.some((l) => l.includes('/tiles/fx_points.json')), 'the requests were logged');
    t.false(lines.some((l) => l.includes(key)));
  } finally {
    await own.close();
  }
});
