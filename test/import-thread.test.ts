import test from 'ava';
import { eventually, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

/**
 * Imports run in a thread of their own with a capped heap (issue 16 §2): a file that needs more memory than an
 * import may use fails its job with a plain message, and the server, its memory and its other requests are untouched.
 */
let p: TestPlatform;
let key: string;
test.before(async () => {
  p = await startTestPlatform({ IMPORT_HEAP_MB: '128' });
  key = (await p.platform.keys.create('dsj', 'thread test', ['layer:read', 'layer:import'])).key;
});
test.after.always(async () => {
  await p?.close();
});

test('a file that needs more memory than an import may use fails its job; the server goes on serving', async (t) => {
  // One feature of 1.5 million vertices: ~40 MB of text, far more once parsed.
  const coords = Array.from({ length: 1_500_000 }, (_, i) => `[${119 + (i % 1000) / 1e4},${33 + Math.floor(i / 1000) / 1e4}]`).join(',');
  const file = Buffer.from(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"big"},"geometry":{"type":"LineString","coordinates":[${coords}]}}]}`);
  const rssBefore = process.memoryUsage().rss;
  const res = await p.http.post('/api/imports').set({ Authorization: `Bearer ${key}` }).field('layer', 'too_big').attach('file', file, 'big.geojson');
  t.is(res.status, 202);
  const job = await eventually(async () => {
    const r = await p.http.get(`/api/imports/${res.body.id}`).set({ Authorization: `Bearer ${key}` });
    return r.body.status === 'failed' || r.body.status === 'succeeded' ? r.body : undefined;
  }, 60_000);
  t.is(job.status, 'failed');
  t.regex(job.error, /needs more memory than an import may use \(128 MB\)/);
  t.is((await p.http.get('/health')).status, 200);
  t.is((await p.sql.query(`SELECT to_regclass('imports.too_big') AS t`)).rows[0].t, null, 'nothing was written');
  t.true(process.memoryUsage().rss - rssBefore < 600 * 2 ** 20, 'the server process did not take the parse on its own heap');
});

test('an import that fits runs in its thread and lands as before', async (t) => {
  const res = await p.http
    .post('/api/imports')
    .set({ Authorization: `Bearer ${key}` })
    .field('layer', 'small_one')
    .attach('file', Buffer.from('name,lon,lat\n淮安站,119.03,33.61\n'), 'small.csv');
  const job = await eventually(async () => {
    const r = await p.http.get(`/api/imports/${res.body.id}`).set({ Authorization: `Bearer ${key}` });
    return r.body.status === 'failed' || r.body.status === 'succeeded' ? r.body : undefined;
  }, 30_000);
  t.is(job.status, 'succeeded', JSON.stringify(job));
  t.is(job.summary.imported, 1);
  t.not((await p.sql.query(`SELECT to_regclass('imports.small_one') AS t`)).rows[0].t, null);
});
