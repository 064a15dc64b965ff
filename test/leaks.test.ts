// Nothing hidden leaks (issue 16 §4): /health details and /metrics only for system:read or the METRICS_TOKEN
// bearer, X-Forwarded-* believed only from TRUST_PROXY, credentials never in a log line, and import errors
// about layers the department may not see naming neither file nor owner.
import { Writable } from 'node:stream';
import path from 'node:path';
import test from 'ava';
import { loadConfig } from '../tile-server/src/config.ts';
import { createLogger, redactCredentials } from '../tile-server/src/log.ts';
import { startPlatform } from '../tile-server/src/platform.ts';
import supertest from 'supertest';
import { createDatabase, eventually, fixturesDir, loadFixtures, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

const TOKEN = 'metrics-token-0123456789abcdef';
let p: TestPlatform;
let systemKey: string;
let plainKey: string;
test.before(async () => {
  p = await startTestPlatform({ METRICS_TOKEN: TOKEN });
  systemKey = (await p.platform.keys.create('dsj', 'monitoring', ['layer:read', 'system:read'])).key;
  plainKey = (await p.platform.keys.create('dsj', 'plain')).key;
});
test.after.always(async () => {
  await p?.close();
});

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

test('anonymous /health gets the status only; system:read or the METRICS_TOKEN get the details', async (t) => {
  const anon = await p.http.get('/health');
  t.is(anon.status, 200);
  t.deepEqual(anon.body, { status: 'ok' });
  t.deepEqual((await p.http.get('/health').set(bearer(plainKey))).body, { status: 'ok' }, 'a key without system:read');
  for (const auth of [bearer(systemKey), bearer(TOKEN)]) {
    const res = await p.http.get('/health').set(auth);
    t.is(res.status, 200);
    t.is(res.body.database.status, 'up');
    t.is(typeof res.body.layers, 'number');
    t.truthy(res.body.tileCache);
  }
});

test('/metrics needs system:read or the METRICS_TOKEN (layer ids are its labels)', async (t) => {
  await p.http.get('/tiles/fx_secret/12/3401/1628.mvt');
  t.is((await p.http.get('/metrics')).status, 401);
  t.is((await p.http.get('/metrics').set(bearer(plainKey))).status, 403);
  t.is((await p.http.get('/metrics').set(bearer('not-the-token-0123456789'))).status, 401, 'a wrong token is an unknown key');
  for (const auth of [bearer(systemKey), bearer(TOKEN)]) {
    const res = await p.http.get('/metrics').set(auth);
    t.is(res.status, 200);
    t.regex(res.text, /citybase_http_requests_total/);
  }
});

test('X-Forwarded-Host/Proto/Prefix from a client are ignored unless it is a TRUST_PROXY address', async (t) => {
  const forged = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Prefix': '/x' };
  const res = await p.http.get(`/tiles/fx_points.json?key=${plainKey}`).set(forged);
  t.notRegex(res.body.tiles[0], /evil\.example|https:|\/x\//);
  const proxied = await startTestPlatform({ TRUST_PROXY: 'loopback' });
  try {
    const via = await proxied.http.get('/tiles/fx_points.json').set(forged);
    t.is(via.body.tiles[0], 'https://evil.example/x/tiles/fx_points/{z}/{x}/{y}.mvt');
  } finally {
    await proxied.close();
  }
  const other = await startTestPlatform({ TRUST_PROXY: '10.0.0.1' });
  try {
    t.notRegex((await other.http.get('/tiles/fx_points.json').set(forged)).body.tiles[0], /evil/);
  } finally {
    await other.close();
  }
});

test('TRUST_PROXY refuses what is not an address', (t) => {
  t.throws(() => loadConfig({ TRUST_PROXY: 'proxy.example' }), { message: /TRUST_PROXY/ });
  t.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.1' }).trustedProxies, ['10.0.0.1', '::ffff:10.0.0.1']);
  t.deepEqual(loadConfig({}).trustedProxies, []);
});

test('credentials are redacted from every log line: ?key=, bearer, cookies, API keys anywhere, URL passwords', (t) => {
  const key = `cb_${'A'.repeat(43)}`;
  const line = JSON.stringify({
    url: `/tiles/a/1/2/3.mvt?x=1&key=${key}&token=abc`,
    headers: { authorization: 'Bearer sekrit', cookie: 'citybase_session=s3cr3t; other=1' },
    msg: `lookup of ${key} failed`,
    err: { message: 'connect postgres://citybase:hunter2@127.0.0.1:5432/citybase failed' },
  });
  const out = redactCredentials(line);
  for (const secret of [key, 'sekrit', 's3cr3t', 'hunter2', 'token=abc']) t.false(out.includes(secret), secret);
  t.true(out.includes('x=1'), 'other parameters stay');
  t.notThrows(() => JSON.parse(out));
});

test('a request logged with its URL carries no ?key= (the server as deployed, LOG_LEVEL=debug)', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const db = await createDatabase();
  await loadFixtures(db.url);
  const config = loadConfig({ LOG_LEVEL: 'debug', LAYERS_DIR: path.join(fixturesDir, 'layers'), DB_POOL_MAX: '3' });
  const platform = await startPlatform(config, db.url, createLogger('debug', sink));
  try {
    const { key } = await platform.keys.create('rfb', 'logged');
    const http = supertest(platform.app.callback());
    await http.get(`/tiles/fx_points.json?key=${key}`);
    await http.get(`/collections/fx_points/items?filter=${encodeURIComponent("name LIKE 'x")}&key=${key}`);
    await eventually(async () => lines.some((l) => l.includes('fx_points.json')));
    t.true(lines.some((l) => l.includes('key=[redacted]')));
    t.false(lines.some((l) => l.includes(key)));
  } finally {
    await platform.close();
    await db.drop();
  }
});

test('an import into a layer the department may not see names neither its file nor its owner', async (t) => {
  const submit = (key: string, layer: string) =>
    p.http.post('/api/imports').set(bearer(key)).field('layer', layer).attach('file', Buffer.from('name,lon,lat\na,119,33.5\n'), 'a.csv');
  const job = async (key: string, layer: string) => {
    const res = await submit(key, layer);
    t.is(res.status, 202, res.text);
    return eventually(async () => {
      const r = await p.http.get(`/api/imports/${res.body.id}`).set(bearer(key));
      return r.body.status === 'failed' || r.body.status === 'succeeded' ? r.body : undefined;
    }, 30_000);
  };
  const dsj = (await p.platform.keys.create('dsj', 'importer', ['layer:read', 'layer:import'])).key;
  const rfb = (await p.platform.keys.create('rfb', 'owner', ['layer:read', 'layer:import'])).key;
  // fx_secret is restricted to rfb (and sthj): dsj learns only that the id is taken.
  const hidden = await job(dsj, 'fx_secret');
  t.is(hidden.status, 'failed');
  t.is(hidden.error, 'layer id "fx_secret" is taken; choose another --layer');
  // Its owner is told where it is defined; a public layer's file is no secret either.
  t.regex((await job(rfb, 'fx_secret')).error, /defined in layers\/fx_secret\.json/);
  t.regex((await job(dsj, 'fx_points')).error, /defined in layers\/fx_points\.json/);
});
