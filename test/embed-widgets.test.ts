import test from 'ava';
import supertest from 'supertest';
import { ensureViewerBuilt } from './helpers/browser.ts';
import { signIn, type SignedIn } from './helpers/identity.ts';
import { tileOf } from './helpers/mvt.ts';
import { startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { redactCredentials } from '../tile-server/src/log.ts';

/**
 * Widgets saved by the builder (README "Embedding maps", access/widgets.ts, routes/embed-widgets.ts): the admin
 * API (embed:manage, department-scoped, every field checked, audited) and `/embed/{id}`, which stands for the
 * widget's key: the key's origins and frame-ancestors, the widget's layers, and clear refusals once the widget
 * is deleted or its key revoked or expired. Serial: the tests share one platform and its sign-ins.
 */
const SITE = 'https://sthjj.huaian.gov.cn';
let p: TestPlatform;
let sthj: SignedIn;
let cgj: SignedIn;
test.before(async () => {
  await ensureViewerBuilt();
  p = await startTestPlatform();
  sthj = await signIn(p, 'sthj.widgets', { roles: ['editor'], department: 'sthj' });
  cgj = await signIn(p, 'cgj.widgets', { roles: ['editor'], department: 'cgj' });
});
test.after.always(async () => {
  await p?.close();
});

const http = () => supertest(p.platform.app.callback());
const T = tileOf(119.05, 33.6, 12);
const tile = (layer: string, key: string) => `/tiles/${layer}/${T.z}/${T.x}/${T.y}.pbf?key=${key}`;
const send = (who: SignedIn, method: 'post' | 'put' | 'delete', url: string, body?: object) => {
  const req = who.agent[method](url).set('X-CSRF-Token', who.csrf);
  return body ? req.send(body) : req;
};
const embedKey = (department: string, layers: string[], o: { expiresAt?: Date } = {}) =>
  p.platform.keys.createEmbed(department, { origins: [SITE], layers, ...o });
/** The options the page was served with (`<meta name="citybase-embed">`). */
const pageConfig = (html: string) => JSON.parse(/<meta name="citybase-embed" content="([^"]*)">/.exec(html)![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&'));

test.serial('an editor saves a widget, lists it, changes it under the same id and deletes it; each change audited', async (t) => {
  const key = await embedKey('sthj', ['fx_points', 'fx_secret']);
  const made = await send(sthj, 'post', '/api/admin/embed-widgets', {
    keyId: key.id, label: '空气站点', layers: ['fx_points'], center: [119.05, 33.6], zoom: 12, controls: ['zoom', 'legend'], lang: 'en', width: 800, height: 500,
  });
  t.is(made.status, 201, JSON.stringify(made.body));
  const id = made.body.id as string;
  t.regex(id, /^w_[A-Za-z0-9_-]{16}$/);
  t.like(made.body, { department: 'sthj', keyId: key.id, label: '空气站点', layers: ['fx_points'], center: [119.05, 33.6], zoom: 12, controls: ['zoom', 'legend'], lang: 'en', width: 800, height: 500, keyRevoked: false });

  const listed = await sthj.agent.get('/api/admin/embed-widgets');
  t.is(listed.status, 200);
  t.deepEqual(listed.body.map((w: { id: string }) => w.id), [id]);
  t.is(listed.headers['cache-control'], 'no-store');

  // PUT replaces the options: what is left out takes its default.
  const changed = await send(sthj, 'put', `/api/admin/embed-widgets/${id}`, { keyId: key.id, label: 'Air', layers: ['fx_points', 'fx_secret'], zoom: 9.5 });
  t.is(changed.status, 200, JSON.stringify(changed.body));
  t.like(changed.body, { id, label: 'Air', layers: ['fx_points', 'fx_secret'], center: null, zoom: 9.5, controls: ['zoom', 'scale', 'legend', 'identify'], lang: 'zh', width: 640 });
  t.is((await sthj.agent.get('/api/admin/embed-widgets')).body.length, 1, 'the same widget, not a second one');

  t.is((await send(sthj, 'delete', `/api/admin/embed-widgets/${id}`)).status, 204);
  t.deepEqual((await sthj.agent.get('/api/admin/embed-widgets')).body, []);
  t.is((await send(sthj, 'delete', `/api/admin/embed-widgets/${id}`)).status, 404);
  t.is((await send(sthj, 'put', `/api/admin/embed-widgets/${id}`, { keyId: key.id })).body.error, 'unknown_widget');

  const audit = await p.sql.query(`SELECT action, actor, target, details FROM citybase.audit_log WHERE target = $1 ORDER BY id`, [`widget:${id}`]);
  t.deepEqual(audit.rows.map((r) => [r.action, r.actor, r.details.created ?? null]), [
    ['embed.widget_save', 'sthj.widgets', true],
    ['embed.widget_save', 'sthj.widgets', false],
    ['embed.widget_delete', 'sthj.widgets', null],
  ]);
  t.deepEqual(audit.rows[1].details.layers, ['fx_points', 'fx_secret']);
});

test.serial('another department’s widget is unknown (404) to an editor, and its keys cannot be chosen', async (t) => {
  const key = await embedKey('sthj', ['fx_points']);
  const { id } = (await send(sthj, 'post', '/api/admin/embed-widgets', { keyId: key.id })).body;
  t.false((await cgj.agent.get('/api/admin/embed-widgets')).body.some((w: { id: string }) => w.id === id));
  const put = await send(cgj, 'put', `/api/admin/embed-widgets/${id}`, { keyId: key.id });
  t.is(put.status, 404);
  t.is(put.body.error, 'unknown_widget');
  t.is((await send(cgj, 'delete', `/api/admin/embed-widgets/${id}`)).status, 404);
  const borrowed = await send(cgj, 'post', '/api/admin/embed-widgets', { keyId: key.id });
  t.is(borrowed.status, 400);
  t.is(borrowed.body.field, 'keyId');
  t.regex(borrowed.body.message, /no embed key \d+ of cgj/);
  // An administrator of users manages every department's widgets; a widget keeps its department.
  const admin = await signIn(p, 'widgets.admin', { roles: ['admin'], department: 'dsj' });
  t.true((await admin.agent.get('/api/admin/embed-widgets')).body.some((w: { id: string }) => w.id === id));
  const cgjKey = await embedKey('cgj', ['fx_points']);
  const moved = await send(admin, 'put', `/api/admin/embed-widgets/${id}`, { keyId: cgjKey.id });
  t.is(moved.status, 400, 'a widget is given a key of its own department only');
  t.is(moved.body.field, 'keyId');
  const forCgj = await send(admin, 'post', '/api/admin/embed-widgets', { keyId: cgjKey.id });
  t.is(forCgj.status, 201);
  t.is(forCgj.body.department, 'cgj', 'a new widget belongs to its key’s department');
});

test.serial('without embed:manage the widget API is 403 (401 signed out)', async (t) => {
  const viewer = await signIn(p, 'sthj.viewer', { roles: ['viewer'], department: 'sthj' });
  const key = await embedKey('sthj', ['fx_points']);
  for (const [method, url] of [['get', '/api/admin/embed-widgets'], ['post', '/api/admin/embed-widgets'], ['put', '/api/admin/embed-widgets/w_AAAAAAAAAAAAAAAA'], ['delete', '/api/admin/embed-widgets/w_AAAAAAAAAAAAAAAA']] as const) {
    const res = method === 'get' ? await viewer.agent.get(url) : await send(viewer, method, url, method === 'delete' ? undefined : { keyId: key.id });
    t.is(res.status, 403, `${method} ${url}`);
    t.regex(res.body.message, /embed:manage/);
  }
  t.is((await http().get('/api/admin/embed-widgets')).status, 401);
  // An embed key (or a widget id) reads and nothing else.
  t.is((await http().get(`/api/admin/embed-widgets?key=${key.key}`).set('Origin', SITE)).status, 403);
});

test.serial('bad input is 400 naming the field', async (t) => {
  const key = await embedKey('sthj', ['fx_points']);
  const cases: Array<[object, string]> = [
    [{}, 'keyId'],
    [{ keyId: 'one' }, 'keyId'],
    [{ keyId: 999999 }, 'keyId'],
    [{ keyId: key.id, label: 'x'.repeat(201) }, 'label'],
    [{ keyId: key.id, layers: 'fx_points' }, 'layers'],
    [{ keyId: key.id, layers: ['fx_buildings'] }, 'layers'],
    [{ keyId: key.id, center: [200, 33] }, 'center'],
    [{ keyId: key.id, center: '119,33' }, 'center'],
    [{ keyId: key.id, zoom: 23 }, 'zoom'],
    [{ keyId: key.id, zoom: '12' }, 'zoom'],
    [{ keyId: key.id, controls: ['zoom', 'minimap'] }, 'controls'],
    [{ keyId: key.id, lang: 'fr' }, 'lang'],
    [{ keyId: key.id, width: 100 }, 'width'],
    [{ keyId: key.id, height: 420.5 }, 'height'],
    [{ keyId: key.id, colour: 'red' }, 'colour'],
  ];
  for (const [body, field] of cases) {
    const res = await send(sthj, 'post', '/api/admin/embed-widgets', body);
    t.is(res.status, 400, JSON.stringify(body));
    t.is(res.body.field, field, JSON.stringify(body));
    t.true(res.body.message.startsWith(`${field}:`), res.body.message);
  }
  await p.platform.keys.revokeEmbed(key.id, null);
  const revoked = await send(sthj, 'post', '/api/admin/embed-widgets', { keyId: key.id });
  t.is(revoked.body.field, 'keyId');
  t.regex(revoked.body.message, /revoked/);
  t.is((await send(sthj, 'post', '/api/admin/embed-widgets', [1])).status, 400);
  t.deepEqual((await p.sql.query(`SELECT id FROM citybase.embed_widgets WHERE key_id = $1`, [key.id])).rows, [], 'nothing was saved');
});

test.serial('/embed/{id}: the page with the saved options, framed only by the key’s sites; its id works as the key for the widget’s layers only', async (t) => {
  const key = await embedKey('sthj', ['fx_points', 'fx_secret']);
  const { id } = (await send(sthj, 'post', '/api/admin/embed-widgets', { keyId: key.id, layers: ['fx_points'], center: [119.05, 33.6], zoom: 12, controls: ['zoom', 'layers'], lang: 'en' })).body;
  const page = await http().get(`/embed/${id}`).set('Referer', `${SITE}/air.html`);
  t.is(page.status, 200, JSON.stringify(page.body));
  t.regex(page.headers['content-type']!, /^text\/html/);
  t.regex(page.headers['content-security-policy']!, new RegExp(`frame-ancestors 'self' ${SITE}(;|$)`));
  t.is(page.headers['referrer-policy'], 'same-origin');
  t.is(page.headers['cache-control'], 'no-cache');
  t.deepEqual(pageConfig(page.text), { origins: [SITE], widget: { query: `key=${id}&layers=fx_points&center=119.05%2C33.6&zoom=12&controls=zoom%2Clayers&lang=en` } });
  t.false(page.text.includes(key.key), 'the key itself is nowhere in the page');

  const other = await http().get(`/embed/${id}`).set('Referer', 'https://other.example.com/');
  t.is(other.status, 403);
  t.is(other.body.error, 'origin_not_allowed');
  t.regex(other.headers['content-security-policy']!, /^frame-ancestors 'self' https:\/\/sthjj\.huaian\.gov\.cn/);
  t.is((await http().get(`/embed/${id}?key=${key.key}`).set('Referer', SITE)).status, 400, 'a saved widget carries its own key');

  // The widget's requests carry its id as their key: the key's origins and rate, the widget's layers.
  t.is((await http().get(tile('fx_points', id)).set('Origin', SITE)).status, 200);
  t.is((await http().get(tile('fx_secret', id)).set('Origin', SITE)).status, 404, 'on the key, not on the widget');
  t.is((await http().get(tile('fx_secret', key.key)).set('Origin', SITE)).status, 200);
  t.is((await http().get(tile('fx_points', id)).set('Origin', 'https://other.example.com')).status, 403);
  const catalog = await http().get(`/layers?key=${id}`).set('Origin', SITE);
  t.true(catalog.body.layers.every((l: { id: string; tilejson: string }) => l.id !== 'fx_secret' && l.tilejson.includes(`key=${id}`)));

  // Saved again: the same address shows the new options at once.
  t.is((await send(sthj, 'put', `/api/admin/embed-widgets/${id}`, { keyId: key.id, layers: ['fx_secret'], lang: 'zh' })).status, 200);
  t.deepEqual(pageConfig((await http().get(`/embed/${id}`).set('Referer', SITE)).text).widget, { query: `key=${id}&layers=fx_secret&controls=zoom%2Cscale%2Clegend%2Cidentify&lang=zh` });
  t.is((await http().get(tile('fx_secret', id)).set('Origin', SITE)).status, 200);
  t.is((await http().get(tile('fx_points', id)).set('Origin', SITE)).status, 404);

  t.is((await http().get('/embed/w_AAAAAAAAAAAAAAAA').set('Referer', SITE)).body.error, 'unknown_widget');
  t.is((await http().get('/embed/nothing-here')).status, 404);
});

test.serial('a deleted widget is 404, a widget of a revoked or expired key 403, until it is given another key', async (t) => {
  const key = await embedKey('sthj', ['fx_points']);
  const { id } = (await send(sthj, 'post', '/api/admin/embed-widgets', { keyId: key.id })).body;
  const get = () => http().get(`/embed/${id}`).set('Referer', SITE);
  t.is((await get()).status, 200);
  t.is((await send(sthj, 'delete', `/api/admin/embed-keys/${key.id}`)).status, 204);
  for (const res of [await get(), await http().get(tile('fx_points', id)).set('Origin', SITE)]) {
    t.is(res.status, 403);
    t.is(res.body.error, 'embed_key_revoked');
    t.regex(res.body.message, /another key in the builder/);
  }
  t.true((await sthj.agent.get('/api/admin/embed-widgets')).body.find((w: { id: string }) => w.id === id).keyRevoked, 'the list says why');

  // Another key: every site that embeds the widget works again, without a change on its side.
  const next = await embedKey('sthj', ['fx_points']);
  t.is((await send(sthj, 'put', `/api/admin/embed-widgets/${id}`, { keyId: next.id })).status, 200);
  t.is((await get()).status, 200);

  const expiring = await embedKey('sthj', ['fx_points'], { expiresAt: new Date(Date.now() + 60_000) });
  t.is((await send(sthj, 'put', `/api/admin/embed-widgets/${id}`, { keyId: expiring.id })).status, 200);
  await p.sql.query(`UPDATE citybase.api_keys SET expires_at = now() - interval '1 minute' WHERE id = $1`, [expiring.id]);
  p.platform.keys.forget();
  const expired = await get();
  t.is(expired.status, 403);
  t.is(expired.body.error, 'embed_key_expired');

  t.is((await send(sthj, 'delete', `/api/admin/embed-widgets/${id}`)).status, 204);
  for (const res of [await get(), await http().get(tile('fx_points', id)).set('Origin', SITE)]) {
    t.is(res.status, 404);
    t.is(res.body.error, 'unknown_widget');
  }
});

test.serial('a browser framing a refused widget gets a short page in both languages, not JSON, under the same frame-ancestors', async (t) => {
  const key = await embedKey('sthj', ['fx_points']);
  const { id } = (await send(sthj, 'post', '/api/admin/embed-widgets', { keyId: key.id })).body;
  const navigate = (url: string, referer = SITE) => http().get(url).set({ Accept: 'text/html,application/xhtml+xml,*/*;q=0.8', Referer: referer });
  const other = await navigate(`/embed/${id}`, 'https://other.example.com/');
  t.is(other.status, 403);
  t.regex(other.headers['content-type']!, /^text\/html/);
  t.regex(other.text, /此地图不能在本网站显示。<br>This map may not be shown on this site\./);
  t.is(other.headers['content-security-policy'], `default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self' ${SITE}`);
  await p.platform.keys.revokeEmbed(key.id, null);
  t.regex((await navigate(`/embed/${id}`)).text, /嵌入密钥已吊销/);
  t.is((await send(sthj, 'delete', `/api/admin/embed-widgets/${id}`)).status, 204);
  const gone = await navigate(`/embed/${id}`);
  t.is(gone.status, 404);
  t.regex(gone.text, /此地图组件不存在或已被删除。<br>This map widget does not exist or was deleted\.[\s\S]*404 unknown_widget/);
  const audited = await p.sql.query(`SELECT count(*)::int AS n FROM citybase.audit_log WHERE action = 'access.denied' AND target = $1`, [`GET /embed/${id}`]);
  t.true(audited.rows[0].n > 0, 'the refusals are audited as before');
  // API callers still get JSON.
  t.is((await http().get(`/embed/${id}`).set('Accept', 'application/json')).body.error, 'unknown_widget');
});

test('a widget id, which works as its key, never reaches the logs: neither in its page’s path nor as ?key=', (t) => {
  const line = redactCredentials('{"url":"/embed/w_Ab-_0123456789xy","next":"/tiles/a.json?key=w_Ab-_0123456789xy"}');
  t.is(line, '{"url":"/embed/w_[redacted]","next":"/tiles/a.json?key=[redacted]"}');
});
