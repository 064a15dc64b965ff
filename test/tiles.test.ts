import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import test from 'ava';
import { loadConfig } from '../tile-server/src/config.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { startPlatform } from '../tile-server/src/platform.ts';
import { binary, eventually, fixturesDir, onTheWire, startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { decodeTile, tileOf } from './helpers/mvt.ts';
import path from 'node:path';
import supertest from 'supertest';

/** The tile contract: what a tile contains, how it is encoded and validated, and how bad requests are answered. */

let p: TestPlatform;
let roadsKey: string;
test.before(async () => {
  p = await startTestPlatform();
  roadsKey = (await p.platform.keys.create('jtj', 'tiles test')).key;
});
test.after.always(async () => {
  await p?.close();
});

const MARGIN = 64 / 4096;
/** GET a tile as raw bytes. supertest asks for gzip and inflates it unless told otherwise, so encodings are explicit. */
const getTile = (url: string, headers: Record<string, string> = {}) =>
  p.http.get(url).set({ 'Accept-Encoding': 'identity', ...headers }).buffer(true).parse(binary);

/** Ids SQL says belong in a tile: features meeting the tile widened by the buffer, as the server draws them. */
async function idsInTile(table: string, idColumn: string, z: number, x: number, y: number): Promise<number[]> {
  const { rows } = await p.sql.query<{ id: number }>(
    `SELECT ${idColumn} AS id FROM ${table}
     WHERE ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3, margin => $4)) ORDER BY 1`,
    [z, x, y, MARGIN],
  );
  return rows.map((r) => r.id);
}

test('a point tile holds exactly the points SQL puts in the tile and its buffer, at their positions', async (t) => {
  for (const z of [10, 14, 16]) {
    const { x, y } = tileOf(119.05, 33.6, z);
    const res = await getTile(`/tiles/fx_points/${z}/${x}/${y}.mvt`);
    t.is(res.status, 200);
    t.is(res.headers['content-type'], 'application/vnd.mapbox-vector-tile');
    const features = decodeTile(res.body as Buffer, z, x, y).fx_points!;
    t.deepEqual(features.map((f) => f.id), await idsInTile('fixtures.points', 'id', z, x, y), `ids at z${z}`);
    // Positions: within one tile unit of the stored coordinates.
    const tolerance = 360 / 2 ** z / 4096;
    const { rows } = await p.sql.query<{ id: number; lon: number; lat: number }>(
      `SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM fixtures.points WHERE id = ANY($1)`,
      [features.map((f) => f.id)],
    );
    const stored = new Map(rows.map((r) => [r.id, r]));
    for (const f of features) {
      const [lon, lat] = f.geometry.coordinates as [number, number];
      t.true(Math.abs(lon - stored.get(f.id!)!.lon) <= tolerance && Math.abs(lat - stored.get(f.id!)!.lat) <= tolerance, `feature ${f.id}`);
    }
  }
});

test('properties arrive with their types: numeric as number, boolean as boolean, date as ISO text', async (t) => {
  const { z, x, y } = tileOf(118.95, 33.5, 14);
  const res = await getTile(`/tiles/fx_points/${z}/${x}/${y}.mvt`);
  const f = decodeTile(res.body as Buffer, z, x, y).fx_points!.find((f) => f.id === 0)!;
  t.deepEqual(f.properties, { name: 'P0', kind: 'a', value: 0, flag: true, built: '2020-01-01' });
  const g = decodeTile(res.body as Buffer, z, x, y).fx_points!.find((f) => f.id === 1)!;
  t.deepEqual(g.properties, { name: 'P1', kind: 'b', value: 1.25, flag: false, built: '2020-01-02' });
});

test('polygons stored in CGCS2000 Gauss-Kruger (EPSG:4549) are found by the index and drawn in place', async (t) => {
  const z = 15;
  const { x, y } = tileOf(119.02, 33.59, z);
  const res = await getTile(`/tiles/fx_parcels/${z}/${x}/${y}.mvt`);
  const features = decodeTile(res.body as Buffer, z, x, y).fx_parcels!;
  t.deepEqual(features.map((f) => f.id), await idsInTile('fixtures.parcels', 'gid', z, x, y));
  // A parcel wholly inside the tile is drawn unclipped: its corners where SQL puts them.
  const { rows: [whole] } = await p.sql.query<{ gid: number; code: string; w: number; s: number; e: number; n: number }>(
    `SELECT gid, code, ST_XMin(b) AS w, ST_YMin(b) AS s, ST_XMax(b) AS e, ST_YMax(b) AS n
     FROM (SELECT gid, code, ST_Transform(geom, 4326) AS b FROM fixtures.parcels
           WHERE ST_Within(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3)) ORDER BY gid LIMIT 1) q`,
    [z, x, y],
  );
  t.truthy(whole, 'the tile holds a whole parcel');
  const parcel = features.find((f) => f.id === whole!.gid)!;
  t.is(parcel.properties.code, whole!.code);
  const ring = (parcel.geometry.coordinates as number[][][])[0]!;
  t.is(ring.length, 5);
  const tol = (2 * 360) / 2 ** z / 4096;
  const lons = ring.map((c) => c[0]!);
  const lats = ring.map((c) => c[1]!);
  t.true(Math.abs(Math.min(...lons) - whole!.w) < tol && Math.abs(Math.max(...lons) - whole!.e) < tol);
  t.true(Math.abs(Math.min(...lats) - whole!.s) < tol && Math.abs(Math.max(...lats) - whole!.n) < tol);
});

test('lines stored in web mercator are served, to a key that may see the internal layer', async (t) => {
  const { x, y } = tileOf(119.05, 33.6, 12);
  const res = await getTile(`/tiles/fx_roads/12/${x}/${y}.mvt?key=${roadsKey}`);
  t.is(res.status, 200);
  const features = decodeTile(res.body as Buffer, 12, x, y).fx_roads!;
  t.deepEqual(features.map((f) => f.id), await idsInTile('fixtures.roads', 'id', 12, x, y));
  t.is(features[0]!.geometry.type, 'LineString');
});

test('views and function layers are served like tables', async (t) => {
  const { z, x, y } = tileOf(119.05, 33.6, 14);
  const view = decodeTile((await getTile(`/tiles/fx_view/${z}/${x}/${y}.mvt`)).body as Buffer, z, x, y).fx_view!;
  const { rows } = await p.sql.query<{ id: number }>(
    `SELECT id FROM fixtures.points_a WHERE ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3, margin => $4)) ORDER BY id`,
    [z, x, y, MARGIN],
  );
  t.deepEqual(view.map((f) => f.id), rows.map((r) => r.id));
  const d = tileOf(119.05, 33.6, 10);
  const density = decodeTile((await getTile(`/tiles/fx_density/10/${d.x}/${d.y}.mvt`)).body as Buffer, 10, d.x, d.y).fx_density!;
  t.true(density.length > 0);
  t.true(density.every((f) => typeof f.properties.n === 'number' && (f.properties.n as number) > 0));
});

test('a composite tile carries every layer, each as in its own tile, and is their concatenation', async (t) => {
  const { z, x, y } = tileOf(119.02, 33.59, 14);
  const single = async (id: string) => (await getTile(`/tiles/${id}/${z}/${x}/${y}.mvt`)).body as Buffer;
  const res = await getTile(`/tiles/fx_points,fx_parcels/${z}/${x}/${y}.pbf`);
  t.is(res.status, 200);
  const layers = decodeTile(res.body as Buffer, z, x, y);
  t.deepEqual(Object.keys(layers).sort(), ['fx_parcels', 'fx_points']);
  t.deepEqual(res.body, Buffer.concat([await single('fx_points'), await single('fx_parcels')]));
});

test('in a composite, layers outside their zooms are left out; a zoom where none draws is a 400', async (t) => {
  const { x, y } = tileOf(119.05, 33.6, 6);
  // fx_parcels starts at z8, fx_points at z5.
  const res = await getTile(`/tiles/fx_points,fx_parcels/6/${x}/${y}.mvt`);
  t.deepEqual(Object.keys(decodeTile(res.body as Buffer, 6, x, y)), ['fx_points']);
  const none = await p.http.get(`/tiles/fx_points,fx_parcels/3/6/3.mvt`);
  t.is(none.status, 400);
  t.is(none.body.error, 'zoom_out_of_range');
});

test('an empty tile is 204 with no body, and still has a validator', async (t) => {
  const res = await getTile('/tiles/fx_points/14/8000/7000.mvt');
  t.is(res.status, 204);
  t.is((res.body as Buffer).length, 0);
  t.truthy(res.headers.etag);
});

test('gzip and brotli follow Accept-Encoding and decompress to the same tile', async (t) => {
  const { z, x, y } = tileOf(119.05, 33.6, 14);
  const url = `/tiles/fx_points/${z}/${x}/${y}.mvt`;
  const wire = (accept: string) => onTheWire(p, url, { 'Accept-Encoding': accept });
  const identity = await wire('identity');
  const gz = await wire('gzip');
  const br = await wire('gzip, deflate, br');
  t.is(identity.headers['content-encoding'], undefined);
  t.is(gz.headers['content-encoding'], 'gzip');
  t.is(br.headers['content-encoding'], 'br');
  t.regex(String(br.headers.vary), /Accept-Encoding/);
  t.deepEqual(zlib.gunzipSync(gz.body), identity.body);
  t.deepEqual(zlib.brotliDecompressSync(br.body), identity.body);
  t.true(br.body.length < identity.body.length);
  t.not(gz.headers.etag, identity.headers.etag, 'each representation has its own strong ETag');
});

test('a strong ETag answers If-None-Match with 304; another tile has another ETag', async (t) => {
  const { z, x, y } = tileOf(119.05, 33.6, 14);
  const url = `/tiles/fx_points/${z}/${x}/${y}.mvt`;
  const first = await getTile(url, { 'Accept-Encoding': 'gzip' });
  t.regex(first.headers.etag!, /^"[^"]+"$/, 'strong (no W/)');
  const again = await getTile(url, { 'Accept-Encoding': 'gzip', 'If-None-Match': first.headers.etag! });
  t.is(again.status, 304);
  t.is((again.body as Buffer).length, 0);
  const other = await getTile(`/tiles/fx_points/${z}/${x + 1}/${y}.mvt`, { 'Accept-Encoding': 'gzip' });
  t.not(other.headers.etag, first.headers.etag);
  t.is(first.headers['cache-control'], 'public, max-age=0, must-revalidate');
});

test('tiles are deterministic: the same data gives the same bytes and ETag, cached or not', async (t) => {
  const config = loadConfig({ LOG_LEVEL: 'silent', TILE_CACHE_MB: '0', LAYERS_DIR: path.join(fixturesDir, 'layers'), DB_POOL_MAX: '4' });
  const uncached = await startPlatform(config, p.url, createLogger('silent'));
  try {
    const http = supertest(uncached.app.callback());
    for (const [layer, lon, lat, z] of [['fx_points', 119.05, 33.6, 12], ['fx_parcels', 119.0, 33.6, 13]] as const) {
      const { x, y } = tileOf(lon, lat, z);
      const url = `/tiles/${layer}/${z}/${x}/${y}.mvt`;
      const cached = [await getTile(url), await getTile(url)];
      const raw = () => http.get(url).set('Accept-Encoding', 'identity').buffer(true).parse(binary);
      const fresh = [await raw(), await raw()];
      for (const r of [...cached, ...fresh]) {
        t.deepEqual(r.body, cached[0]!.body);
        t.is(r.headers.etag, cached[0]!.headers.etag);
      }
    }
  } finally {
    await uncached.close();
  }
});

const badRequests: Array<[string, number, string]> = [
  ['/tiles/fx_points/a/1/1.mvt', 400, 'invalid_tile'],
  ['/tiles/fx_points/10/1.5/1.mvt', 400, 'invalid_tile'],
  ['/tiles/fx_points/10/1/-1.mvt', 400, 'invalid_tile'],
  ['/tiles/fx_points/010/1/1.mvt', 400, 'invalid_tile'],
  ['/tiles/fx_points/31/1/1.mvt', 400, 'invalid_tile'],
  ['/tiles/fx_points/99999999999/1/1.mvt', 400, 'invalid_tile'],
  ['/tiles/fx_points/10/1024/1.mvt', 400, 'invalid_tile'],
  ['/tiles/fx_points/10/1/1024.mvt', 400, 'invalid_tile'],
  ['/tiles/fx_points/10/1/1.png', 400, 'invalid_tile'],
  ['/tiles/fx_points/10/1/1', 400, 'invalid_tile'],
  ['/tiles/fx_points/4/1/1.mvt', 400, 'zoom_out_of_range'],
  ['/tiles/fx_points/21/1/1.mvt', 400, 'zoom_out_of_range'],
  ['/tiles/nope/10/1/1.mvt', 404, 'unknown_layer'],
  ['/tiles/fx_points,nope/10/1/1.mvt', 404, 'unknown_layer'],
  ['/tiles/fx_points,fx_points/10/1/1.mvt', 400, 'duplicate_layer'],
  ['/tiles/nope.json', 404, 'unknown_layer'],
  ['/tiles/fx_roads/10/1/1.mvt', 404, 'unknown_layer'], // internal: invisible without a key
  ['/tiles/fx_secret.json', 404, 'unknown_layer'],
  ['/nothing/here', 404, 'not_found'],
];
for (const [url, status, code] of badRequests) {
  test(`GET ${url} → ${status} ${code}`, async (t) => {
    const res = await p.http.get(url);
    t.is(res.status, status);
    t.is(res.type, 'application/json');
    t.is(res.body.error, code);
    t.is(typeof res.body.message, 'string');
  });
}

test('the zoom error names the layer and its range', async (t) => {
  const res = await p.http.get('/tiles/fx_parcels/3/1/1.mvt');
  t.is(res.body.message, 'zoom 3 is outside the supported range: fx_parcels supports zoom 8-20');
});

const hostile = [
  "fx_points'; DROP TABLE fixtures.points; --",
  'fx_points;DROP TABLE fixtures.points',
  '1 OR 1=1',
  "1' OR pg_sleep(3) IS NULL --",
  '1);SELECT pg_sleep(3);--',
  '$1',
  '%27%3B%20DROP%20TABLE%20fixtures.points%3B--',
  '"fixtures"."points"',
  'fixtures.points',
  '../../etc/passwd',
  'fx_points\u0000',
  '1e1',
  '0x10',
  ' 1',
];

test('no request text becomes SQL: hostile text in every path segment and parameter is a 4xx and harms nothing', async (t) => {
  const { z, x, y } = tileOf(119.05, 33.6, 14);
  const started = Date.now();
  for (const h of hostile) {
    const e = encodeURIComponent(h);
    const urls = [
      `/tiles/${e}/${z}/${x}/${y}.mvt`,
      `/tiles/fx_points/${e}/${x}/${y}.mvt`,
      `/tiles/fx_points/${z}/${e}/${y}.mvt`,
      `/tiles/fx_points/${z}/${x}/${e}.mvt`,
      `/tiles/fx_points/${z}/${x}/${y}.${e}`,
      `/tiles/${e}.json`,
      `/tiles/fx_points/${z}/${x}/${y}.mvt?key=${e}`,
      `/layers?key=${e}`,
    ];
    for (const url of urls) {
      const res = await p.http.get(url);
      t.true(res.status >= 400 && res.status < 500, `${url} → ${res.status}`);
      t.is(typeof res.body.error, 'string');
    }
    // Unknown query parameters are ignored, never interpreted.
    const extra = await p.http.get(`/tiles/fx_points/${z}/${x}/${y}.mvt?z=${e}&filter=${e}&layer=${e}`);
    t.true(extra.status === 200 || extra.status === 400, `extra params → ${extra.status}`);
  }
  t.true(Date.now() - started < 20_000, 'no pg_sleep ran');
  const { rows } = await p.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM fixtures.points');
  t.is(rows[0]!.n, 2500);
});

test('TileJSON 3.0.0 describes the layer: tile URL, zooms, bounds from the data, fields and types', async (t) => {
  const res = await p.http.get('/tiles/fx_points.json');
  t.is(res.status, 200);
  const tj = res.body;
  t.is(tj.tilejson, '3.0.0');
  t.regex(tj.tiles[0], /^http:\/\/127\.0\.0\.1:\d+\/tiles\/fx_points\/\{z\}\/\{x\}\/\{y\}\.mvt$/);
  t.is(tj.minzoom, 5);
  t.is(tj.maxzoom, 20);
  const [w, s, e, n] = tj.bounds as number[];
  t.true(w! >= 118.94 && w! <= 118.96 && e! >= 119.14 && e! <= 119.16, `lon ${w}..${e}`);
  t.true(s! >= 33.49 && s! <= 33.51 && n! >= 33.69 && n! <= 33.71, `lat ${s}..${n}`);
  t.deepEqual(tj.vector_layers, [
    { id: 'fx_points', fields: { name: 'String', kind: 'String', value: 'Number', flag: 'Boolean', built: 'String' }, minzoom: 5, maxzoom: 20, description: 'Test points' },
  ]);
  const composite = await p.http.get('/tiles/fx_points,fx_parcels.json');
  t.deepEqual(composite.body.vector_layers.map((l: { id: string }) => l.id), ['fx_points', 'fx_parcels']);
  t.is(composite.body.minzoom, 5);
});

test('TileJSON tile URLs are right behind a reverse proxy (TRUST_PROXY) and with a configured public URL; a key is carried along', async (t) => {
  const behind = await startTestPlatform({ TRUST_PROXY: 'loopback' });
  const proxied = await behind.http
    .get('/tiles/fx_points.json')
    .set('X-Forwarded-Proto', 'https')
    .set('X-Forwarded-Host', 'gis.huaian.gov.cn')
    .set('X-Forwarded-Prefix', '/citybase');
  t.is(proxied.body.tiles[0], 'https://gis.huaian.gov.cn/citybase/tiles/fx_points/{z}/{x}/{y}.mvt');
  await behind.close();
  const withKey = await p.http.get(`/tiles/fx_roads.json?key=${roadsKey}`);
  t.is(withKey.body.tiles[0].split('?')[1], `key=${roadsKey}`);
  const q = await startTestPlatform({ PUBLIC_URL: 'https://maps.example.cn/base/' });
  try {
    const res = await q.http.get('/tiles/fx_points.json').set('X-Forwarded-Host', 'evil.example');
    t.is(res.body.tiles[0], 'https://maps.example.cn/base/tiles/fx_points/{z}/{x}/{y}.mvt');
  } finally {
    await q.close();
  }
});

test('a client that goes away cancels its query in the database', async (t) => {
  const server = p.platform.app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const controller = new AbortController();
    const pending = fetch(`http://127.0.0.1:${port}/tiles/fx_slow/1/0/0.mvt`, { signal: controller.signal }).catch(() => 'aborted');
    const running = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%slow_tile%' AND state = 'active' AND pid <> pg_backend_pid()`;
    await eventually(async () => (await p.sql.query<{ n: number }>(running)).rows[0]!.n === 1, 3_000, 50);
    controller.abort();
    t.is(await pending, 'aborted');
    const after = await eventually(async () => {
      const n = (await p.sql.query<{ n: number }>(running)).rows[0]!.n;
      return n === 0 ? { n } : undefined;
    }, 2_000, 50).catch(async () => ({ n: (await p.sql.query<{ n: number }>(running)).rows[0]!.n }));
    t.is(after.n, 0, 'the slow query is no longer running');
  } finally {
    server.close();
  }
});

test('statement_timeout bounds a slow tile: 503 with a JSON error, details only in the log', async (t) => {
  const q = await startTestPlatform({ STATEMENT_TIMEOUT_MS: '300' });
  try {
    const started = Date.now();
    const res = await q.http.get('/tiles/fx_slow/1/0/0.mvt');
    t.is(res.status, 503);
    t.deepEqual(res.body, { error: 'tile_timeout', message: 'service temporarily unavailable' });
    t.true(Date.now() - started < 3_000);
  } finally {
    await q.close();
  }
});
