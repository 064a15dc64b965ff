// No anonymous caller can starve the others (issue 16 §3): token buckets per address and per key with 429 and
// Retry-After, failed authentications refused once over their limit, a cost bound on POST /query before any
// SQL, and a bulkhead that keeps connections for tiles and /health while analyses wait.
import test from 'ava';
import { startTestPlatform, OPS, type TestPlatform } from './helpers/platform.ts';
import { tileOf } from './helpers/mvt.ts';

const LIMITED = { RATE_LIMIT_EXEMPT: 'none', RATE_LIMIT_EXPENSIVE_RPS: '0.25', RATE_LIMIT_AUTH_FAILURES_PER_MIN: '5', TRUST_PROXY: 'loopback' };
let p: TestPlatform;
test.before(async () => {
  p = await startTestPlatform(LIMITED);
});
test.after.always(async () => {
  await p?.close();
});

const from = (ip: string) => ({ 'X-Forwarded-For': ip });
const identify = '/identify?lon=119.02&lat=33.59&zoom=16&layers=fx_points';

test('expensive requests from one address: one token per 4 s (burst 1 at 0.25/s), then 429 with Retry-After; tiles are not limited', async (t) => {
  t.is((await p.http.get(identify).set(from('10.1.0.1'))).status, 200);
  const refused = await p.http.get(identify).set(from('10.1.0.1'));
  t.is(refused.status, 429);
  t.is(refused.body.error, 'too_many_requests');
  t.true(Number(refused.headers['retry-after']) >= 1 && Number(refused.headers['retry-after']) <= 4);
  // Another address has its own bucket; tiles and the catalog have none by default.
  t.is((await p.http.get(identify).set(from('10.1.0.2'))).status, 200);
  const { z, x, y } = tileOf(119.05, 33.6, 14);
  for (let i = 0; i < 30; i++) t.not((await p.http.get(`/tiles/fx_points/${z}/${x}/${y}.mvt`).set(from('10.1.0.1'))).status, 429);
  // Filtered items are expensive, plain ones are not.
  t.is((await p.http.get('/collections/fx_points/items?limit=1').set(from('10.1.0.1'))).status, 200);
  t.is((await p.http.get(`/collections/fx_points/items?limit=1&filter=${encodeURIComponent("name = 'x'")}`).set(from('10.1.0.1'))).status, 429);
});

test('a key has its own bucket: changing address does not escape it', async (t) => {
  const { key } = await p.platform.keys.create('dsj', 'rate limited key');
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await p.http.get(identify).set({ ...from(`10.2.0.${i + 1}`), Authorization: `Bearer ${key}` })).status);
  t.deepEqual(statuses, [200, 429, 429]);
});

test('failed authentications: after 5 a minute from an address, its requests are refused before any key lookup', async (t) => {
  const bogus = `cb_${'x'.repeat(43)}`;
  for (let i = 0; i < 5; i++) t.is((await p.http.get('/layers').set({ ...from('10.3.0.1'), Authorization: `Bearer ${bogus}${i}` })).status, 401);
  const refused = await p.http.get('/layers').set({ ...from('10.3.0.1'), Authorization: `Bearer ${bogus}` });
  t.is(refused.status, 429);
  t.regex(refused.body.message, /failed authentications/);
  t.true(Number(refused.headers['retry-after']) >= 1);
  t.is((await p.http.get('/layers').set(from('10.3.0.2'))).status, 200, 'other addresses are not affected');
});

test('POST /query refuses too many vertices or too large an area with 413 before any SQL', async (t) => {
  const ring = Array.from({ length: 20_001 }, (_, i) => [119 + 0.01 * Math.cos((i / 20_000) * 2 * Math.PI), 33.6 + 0.01 * Math.sin((i / 20_000) * 2 * Math.PI)]);
  ring[ring.length - 1] = ring[0]!;
  const many = await p.http.post('/query').set(from('10.4.0.1')).send({ geometry: { type: 'Polygon', coordinates: [ring] }, layers: ['fx_points'] });
  t.is(many.status, 413);
  t.regex(many.body.message, /20001 vertices/);
  const big = await p.http.post('/query').set(from('10.4.0.2')).send({ geometry: { type: 'Polygon', coordinates: [[[110, 30], [125, 30], [125, 40], [110, 40], [110, 30]]] }, layers: ['fx_points'] });
  t.is(big.status, 413);
  t.regex(big.body.message, /QUERY_MAX_AREA_KM2/);
  const buffered = await p.http.post('/query').set(from('10.4.0.3')).send({ geometry: { type: 'Point', coordinates: [119, 33.6] }, buffer: 50_000, layers: ['fx_points'] });
  t.is(buffered.status, 200, 'a 50 km buffer (~10,000 km²) is within the default bound');
});

test('bulkhead: while analyses wait for a locked table, tiles and /health still get connections', async (t) => {
  const b = await startTestPlatform({ DB_POOL_MAX: '3', ANALYSIS_MAX_CONNECTIONS: '1', STATEMENT_TIMEOUT_MS: '20000' });
  const lock = await b.sql.connect();
  try {
    await lock.query('BEGIN; LOCK TABLE fixtures.points IN ACCESS EXCLUSIVE MODE');
    const body = { geometry: { type: 'Point', coordinates: [119.05, 33.6] }, buffer: 500, layers: ['fx_points'], limit: 5 };
    const analyses = Array.from({ length: 4 }, () => b.http.post('/query').send(body).then((r) => r.status));
    // One analysis holds its one connection, waiting on the lock; the others wait in the bulkhead's line.
    const waiting = async () => (await b.sql.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%spatial query%'`)).rows[0].n;
    for (let i = 0; i < 100 && (await waiting()) < 1; i++) await new Promise((r) => setTimeout(r, 50));
    t.is(await waiting(), 1);
    t.is((await b.http.get('/health').set(OPS)).status, 200);
    const { z, x, y } = tileOf(119.02, 33.59, 16);
    t.not((await b.http.get(`/tiles/fx_parcels/${z}/${x}/${y}.mvt`)).status, 503);
    await lock.query('ROLLBACK');
    t.deepEqual(await Promise.all(analyses), [200, 200, 200, 200]);
  } finally {
    await lock.query('ROLLBACK').catch(() => {});
    lock.release();
    await b.close();
  }
});
