// Inputs that used to end in a 500 (issue 16 §5): each is a client error (4xx naming the problem) or a 503, and
// never an "internal error". Every case is sent as a client would send it, against a real PostGIS.
import fs from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import test from 'ava';
import { importFile, ImportError } from '../import/index.ts';
import { readShape, ShapeError } from '../import/formats/shp-geometry.ts';
import { createHttpServer } from '../tile-server/src/http-server.ts';
import { binary, fixturesDir, startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { tempDir } from './fixtures/import/helpers.ts';

let p: TestPlatform;
let importKey: string;
let dir: string;
test.before(async () => {
  p = await startTestPlatform({ IMPORT_MAX_MB: '1' });
  importKey = (await p.platform.keys.create('dsj', 'client errors test', ['read', 'import'])).key;
  dir = tempDir();
});
test.after.always(async () => {
  await p?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** GET as a client: the status and the JSON error. */
async function get(url: string): Promise<{ status: number; body: { error?: string; message?: string } }> {
  const res = await p.http.get(url).buffer(true).parse(binary);
  const text = (res.body as Buffer).toString('utf8');
  return { status: res.status, body: res.status >= 400 ? JSON.parse(text) : {} };
}

const enc = encodeURIComponent;
const TILE = (filter: string, lang = 'cql2-text') => `/tiles/fx_points/12/3401/1628.mvt?filter-lang=${lang}&filter=${enc(filter)}`;
const ITEMS = (filter: string, lang = 'cql2-text') => `/collections/fx_points/items?filter-lang=${lang}&filter=${enc(filter)}`;
const OGC_TILE = (filter: string, lang = 'cql2-text') => `/collections/fx_points/tiles/WebMercatorQuad/12/1628/3401?filter-lang=${lang}&filter=${enc(filter)}`;

test('a CQL2 LIKE pattern ending in a backslash is a 400 naming it (JSON and text, items and tiles)', async (t) => {
  const json = JSON.stringify({ op: 'like', args: [{ property: 'name' }, 'abc\\'] });
  for (const url of [ITEMS(json, 'cql2-json'), TILE(json, 'cql2-json'), OGC_TILE(json, 'cql2-json')]) {
    const res = await get(url);
    t.is(res.status, 400, url);
    t.regex(res.body.message!, /backslash/, url);
  }
  // In the text encoding \' is a quote, so a pattern cannot end in one backslash: an unterminated string.
  t.is((await get(ITEMS("name LIKE 'abc\\'"))).status, 400);
  // An escaped backslash at the end is a literal backslash: a valid pattern.
  t.is((await get(ITEMS(JSON.stringify({ op: 'like', args: [{ property: 'name' }, 'abc\\\\'] }), 'cql2-json'))).status, 200);
});

test('S_DWITHIN with an antipodal edge or a world BBOX is answered, not a 500 (items, tiles, OGC tiles)', async (t) => {
  const filters = [
    "S_DWITHIN(geom, LINESTRING(0 0, 180 0), 1000)",
    "S_DWITHIN(geom, LINESTRING(-90 0, 90 0), 1000)",
    'S_DWITHIN(geom, BBOX(-180,-90,180,90), 1000)',
    'S_DWITHIN(geom, POLYGON((-180 -90, 180 -90, 180 90, -180 90, -180 -90)), 10)',
  ];
  for (const f of filters)
    for (const url of [ITEMS(f), TILE(f), OGC_TILE(f)]) {
      const res = await get(url);
      t.true(res.status === 200 || res.status === 204 || res.status === 400, `${url}: ${res.status} ${JSON.stringify(res.body)}`);
      if (res.status === 400) t.regex(res.body.message!, /antipodal|S_DWITHIN|world|180/i);
    }
});

test('a world polygon in POST /query is answered with a count, or a 400 naming the problem', async (t) => {
  const world = { type: 'Polygon', coordinates: [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]] };
  const res = await p.http.post('/query').send({ geometry: world, layers: ['fx_points'], limit: 0 });
  t.true(res.status === 200 || res.status === 400 || res.status === 413, `${res.status} ${res.text}`);
  if (res.status !== 200) t.regex(res.body.message, /world|hemisphere|180|too large|area/i);
});

test('a POST /query that exceeds the statement timeout is a 503 like items and tiles', async (t) => {
  const slow = await startTestPlatform({ STATEMENT_TIMEOUT_MS: '1000' });
  const lock = await slow.sql.connect();
  try {
    // A department's long transaction holds the table: the query waits past its time limit.
    await lock.query('BEGIN; LOCK TABLE fixtures.points IN ACCESS EXCLUSIVE MODE');
    const res = await slow.http.post('/query').send({ geometry: { type: 'Point', coordinates: [119, 33.6] }, buffer: 100, layers: ['fx_points'], limit: 10 });
    t.is(res.status, 503, res.text);
    t.is(res.body.error, 'query_timeout');
    t.regex(res.body.message, /STATEMENT_TIMEOUT_MS\): narrow it/, 'the client is told what to do, not "service temporarily unavailable"');
  } finally {
    await lock.query('ROLLBACK');
    lock.release();
    await slow.close();
  }
});

test('a NUL byte in an import form field is a 400 naming the field', async (t) => {
  const res = await p.http
    .post('/api/imports')
    .set({ Authorization: `Bearer ${importKey}` })
    .field('layer', 'nul_title')
    .field('title', 'a\u0000b')
    .attach('file', Buffer.from('name,lon,lat\na,119,33.5\n'), 'a.csv');
  t.is(res.status, 400, res.text);
  t.regex(res.body.message, /title/);
  t.regex(res.body.message, /NUL/);
});

test('the water class refuses numbers no measurement has (400 digits, Infinity)', async (t) => {
  const res = await get(`/api/env/water/class?type=river&do=${'9'.repeat(400)}`);
  t.is(res.status, 400);
  t.regex(res.body.message!, /do/);
});

test('identify without layers= over many layers adds no MaxListenersExceededWarning', async (t) => {
  // Fourteen table layers visible at once: one abort listener each on the request's signal.
  const layers = tempDir('citybase-layers-');
  for (const f of fs.readdirSync(path.join(fixturesDir, 'layers'))) fs.copyFileSync(path.join(fixturesDir, 'layers', f), path.join(layers, f));
  const points = JSON.parse(fs.readFileSync(path.join(fixturesDir, 'layers', 'fx_points.json'), 'utf8'));
  for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(layers, `fx_points_${i}.json`), JSON.stringify({ ...points, id: `fx_points_${i}` }));
  const many = await startTestPlatform({}, { layersDir: layers });
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  const server = many.platform.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  try {
    const body = await new Promise<string>((resolve, reject) =>
      http
        .get({ host: '127.0.0.1', port, path: '/identify?lon=119.02&lat=33.59&zoom=16' }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => resolve(text));
        })
        .on('error', reject),
    );
    t.true(JSON.parse(body).layers.length > 10);
    await new Promise((r) => setTimeout(r, 50));
    t.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
  } finally {
    process.off('warning', onWarning);
    server.close();
    await many.close();
    fs.rmSync(layers, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Imports: property names and values PostgreSQL cannot take as given
// ---------------------------------------------------------------------------------------------------------------

function geojson(name: string, features: Array<{ properties: Record<string, unknown> }>): string {
  const file = path.join(dir, name);
  const fc = { type: 'FeatureCollection', features: features.map((f) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [119, 33.5] }, ...f })) };
  fs.writeFileSync(file, JSON.stringify(fc));
  return file;
}

test('properties named like system columns (ctid, xmin) are imported under other names, not an internal error', async (t) => {
  const file = geojson('system.geojson', [{ properties: { ctid: 'a', xmin: 1, name: 'x' } }]);
  const summary = await importFile({ pool: p.sql, file, layer: 'system_names', owner: 'dsj' });
  t.is(summary.imported, 1);
  const { rows } = await p.sql.query(`SELECT * FROM ${summary.table}`);
  const columns = Object.keys(rows[0]!);
  t.false(columns.includes('ctid'));
  t.true(columns.some((c) => /ctid/.test(c)), columns.join(','));
});

test('a property name with NUL is refused or renamed with a clear message, never an internal error', async (t) => {
  const file = geojson('nulname.geojson', [{ properties: { 'na\u0000me': 'a' } }]);
  try {
    const summary = await importFile({ pool: p.sql, file, layer: 'nul_name', owner: 'dsj' });
    t.is(summary.imported, 1);
  } catch (err) {
    t.true(err instanceof ImportError, String(err));
    t.regex((err as Error).message, /NUL/);
  }
});

test('NUL characters in values are removed and counted in the summary', async (t) => {
  const file = geojson('nulvalue.geojson', [{ properties: { name: 'a\u0000b' } }, { properties: { name: 'c' } }]);
  const summary = await importFile({ pool: p.sql, file, layer: 'nul_value', owner: 'dsj' });
  t.is(summary.imported, 2);
  t.regex(JSON.stringify(summary), /NUL/);
});

test('a MultiPoint shape record with a negative point count is a damaged record, not an internal error', (t) => {
  const rec = Buffer.alloc(40);
  rec.writeInt32LE(8, 0); // MultiPoint
  rec.writeInt32LE(-1, 36);
  const err = t.throws(() => readShape(rec, 8));
  t.true(err instanceof ShapeError);
  t.regex(err!.message, /-1 points/);
});

test('Expect: 100-continue with an oversized Content-Length is answered 413 before 100, the body never sent', async (t) => {
  const server = createHttpServer(p.platform.app, { IMPORT_MAX_MB: 1 });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const answer = (length: number) =>
      new Promise<{ status: number; continued: boolean; body: string }>((resolve, reject) => {
        let continued = false;
        const req = http.request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/imports',
          headers: { Authorization: `Bearer ${importKey}`, 'Content-Type': 'multipart/form-data; boundary=x', 'Content-Length': length, Expect: '100-continue' },
        });
        req.on('continue', () => {
          continued = true;
          req.end('--x--\r\n'.padEnd(length, ' ').slice(0, length));
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, continued, body }));
        });
        req.on('error', reject);
        req.flushHeaders();
      });
    const big = await answer(50 * 2 ** 20);
    t.is(big.status, 413);
    t.false(big.continued);
    t.is(JSON.parse(big.body).error, 'payload_too_large');
    const small = await answer(64);
    t.true(small.continued, 'a body within the limit is asked for');
    t.is(small.status, 400);
  } finally {
    server.close();
  }
});
