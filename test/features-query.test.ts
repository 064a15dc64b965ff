// Identify (features under a click), POST /query (counts, sums and features inside a drawn area) and filtered
// tiles (content, cache keys, eviction, TileJSON), each compared with what SQL says.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { binary, eventually, startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { decodeTile, tileOf } from './helpers/mvt.ts';

let p: TestPlatform;
let jtj: string;
test.before(async () => {
  // One test queries a 30° × 25° box (all of eastern China): beyond the default cost bound, allowed here.
  p = await startTestPlatform({ QUERY_MAX_AREA_KM2: '10000000' });
  jtj = (await p.platform.keys.create('jtj', 'features query test')).key;
});
test.after.always(async () => {
  await p?.close();
});

interface Hit {
  id: number;
  layer: string;
  title: { zh: string; en: string };
  distance: number;
  properties: Record<string, unknown>;
  geometry: { type: string };
}

async function identify(query: Record<string, string | number>): Promise<{ features: Hit[]; tolerance: { metres: number } }> {
  const res = await p.http.get('/identify').query(query);
  if (res.status !== 200) throw new Error(`identify: HTTP ${res.status} ${res.text}`);
  t0(res.headers['content-type']);
  return JSON.parse(res.text);
}
const t0 = (type: string | undefined) => {
  if (type !== 'application/geo+json') throw new Error(`identify answered ${type}`);
};

/** The tolerance the viewer gets: 5 px at MapLibre's zoom (512-px world at zoom 0), in metres at the click. */
const metresAt = (lat: number, zoom: number, px = 5) => (px * 40075016.686 * Math.cos((lat * Math.PI) / 180)) / (512 * 2 ** zoom);

/** What SQL finds within the tolerance of a click, nearest first: [id, distance]. */
async function nearSql(table: string, id: string, lon: number, lat: number, metres: number): Promise<Array<[number, number]>> {
  const { rows } = await p.sql.query<{ id: number; d: number }>(
    `SELECT ${id} AS id, ST_Distance(ST_Transform(geom, 4326)::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography) AS d
     FROM fixtures.${table}
     WHERE ST_DWithin(ST_Transform(geom, 4326)::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3)
     ORDER BY 2, 1`,
    [lon, lat, metres],
  );
  return rows.map((r) => [r.id, r.d]);
}

// ---------------------------------------------------------------------------------------------------------------
// Identify
// ---------------------------------------------------------------------------------------------------------------

test('identify on a point finds it at distance 0 and its neighbours within 5 px, nearest first', async (t) => {
  const { rows } = await p.sql.query<{ lon: number; lat: number }>('SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM fixtures.points WHERE id = 1234');
  const { lon, lat } = rows[0]!;
  for (const zoom of [9, 17]) {
    const res = await identify({ lon, lat, zoom, layers: 'fx_points', limit: 100 });
    const expected = await nearSql('points', 'id', lon, lat, metresAt(lat, zoom));
    t.deepEqual(res.features.map((f) => f.id), expected.map(([id]) => id), `zoom ${zoom}`);
    res.features.forEach((f, i) => t.true(Math.abs(f.distance - expected[i]![1]) < 0.01));
    t.is(res.features[0]!.id, 1234);
    t.is(res.features[0]!.distance, 0);
    t.true(Math.abs(res.tolerance.metres - metresAt(lat, zoom)) < 0.01);
  }
  const [far, near] = [await identify({ lon, lat, zoom: 9, layers: 'fx_points', limit: 100 }), await identify({ lon, lat, zoom: 17, layers: 'fx_points' })];
  t.true(far.features.length > near.features.length, 'the tolerance shrinks as the map zooms in');
  const { rows: props } = await p.sql.query(`SELECT name, kind, value::float8 AS value, flag, to_char(built, 'YYYY-MM-DD') AS built FROM fixtures.points WHERE id = 1234`);
  t.deepEqual(far.features[0]!.properties, props[0]);
});

test('identify inside a polygon (stored in EPSG:4549) answers it at distance 0; lines by their distance', async (t) => {
  const inside = await identify({ lon: 119.02, lat: 33.59, zoom: 16, layers: 'fx_parcels' });
  const { rows } = await p.sql.query<{ gid: number }>(`SELECT gid FROM fixtures.parcels WHERE ST_Contains(ST_Transform(geom, 4326), 'SRID=4326;POINT(119.02 33.59)')`);
  t.deepEqual(inside.features.map((f) => [f.id, f.distance]), [[rows[0]!.gid, 0]]);
  t.is(inside.features[0]!.geometry.type, 'MultiPolygon');

  // Road 5 runs along 33.57 N; a click 0.0001° (≈ 11 m) north of it, at zoom 14 (≈ 20 m tolerance).
  const res = await identify({ lon: 119.0, lat: 33.5701, zoom: 14, layers: 'fx_roads', key: jtj });
  const expected = await nearSql('roads', 'id', 119.0, 33.5701, metresAt(33.5701, 14));
  t.deepEqual(res.features.map((f) => f.id), expected.map(([id]) => id));
  t.is(res.features[0]!.id, 5);
  t.true(Math.abs(res.features[0]!.distance - expected[0]![1]) < 0.01 && res.features[0]!.distance > 5);
});

test('identify across layers orders everything by distance and names each feature’s layer and title', async (t) => {
  const click = { lon: 119.015, lat: 33.52 }; // shelter 1 stands here, inside or beside parcels and points
  const res = await identify({ ...click, zoom: 13, layers: 'fx_shelters,fx_points,fx_parcels', limit: 100 });
  const perLayer = await Promise.all([
    nearSql('shelters', 'id', click.lon, click.lat, metresAt(click.lat, 13)).then((r) => r.map(([id, d]) => ({ layer: 'fx_shelters', id, d }))),
    nearSql('points', 'id', click.lon, click.lat, metresAt(click.lat, 13)).then((r) => r.map(([id, d]) => ({ layer: 'fx_points', id, d }))),
    nearSql('parcels', 'gid', click.lon, click.lat, metresAt(click.lat, 13)).then((r) => r.map(([id, d]) => ({ layer: 'fx_parcels', id, d }))),
  ]);
  const expected = perLayer.flat().sort((a, b) => a.d - b.d);
  t.deepEqual(res.features.map((f) => `${f.layer}:${f.id}`).sort(), expected.map((e) => `${e.layer}:${e.id}`).sort());
  for (let i = 1; i < res.features.length; i++) t.true(res.features[i - 1]!.distance <= res.features[i]!.distance);
  t.deepEqual(res.features.find((f) => f.layer === 'fx_shelters')!.title, { zh: '人防工程', en: 'Civil-defence shelters' });
  t.deepEqual(res.features[0]!, { ...res.features[0]!, layer: 'fx_shelters', id: 1, distance: 0 });
});

test('identify without layers asks every layer the caller may see that is drawn at that zoom', async (t) => {
  const anon = await p.http.get('/identify').query({ lon: 119.0, lat: 33.5701, zoom: 14 });
  t.false(JSON.parse(anon.text).layers.includes('fx_roads'));
  t.false(JSON.parse(anon.text).layers.includes('fx_secret'));
  t.false(JSON.parse(anon.text).layers.includes('fx_density'), 'function layers have no features to identify');
  const keyed = await identify({ lon: 119.0, lat: 33.5701, zoom: 14, key: jtj });
  t.true(keyed.features.some((f) => f.layer === 'fx_roads'));
  const low = JSON.parse((await p.http.get('/identify').query({ lon: 119.0, lat: 33.57, zoom: 9 })).text).layers as string[];
  t.false(low.includes('fx_buildings'), 'fx_buildings starts at zoom 10');
});

test('identify refuses bad input with 400 and hidden or unknown layers with 404', async (t) => {
  const cases: Array<[Record<string, string | number>, number, RegExp]> = [
    [{ lat: 33.5, zoom: 12 }, 400, /^lon is required/],
    [{ lon: 119, lat: 95, zoom: 12 }, 400, /^lat must be a number from -85.06/],
    [{ lon: 'east', lat: 33, zoom: 12 }, 400, /^lon must be a number/],
    [{ lon: 119, lat: 33, zoom: 31 }, 400, /^zoom must be a number from 0 to 24/],
    [{ lon: 119, lat: 33, zoom: 12, tolerance: 500 }, 400, /^tolerance must be/],
    [{ lon: 119, lat: 33, zoom: 12, limit: 0 }, 400, /^limit must be/],
    [{ lon: 119, lat: 33, zoom: 12, radius: 5 }, 400, /^unknown parameter "radius"/],
    [{ lon: 119, lat: 33, zoom: 12, layers: 'fx_points,fx_points' }, 400, /named twice/],
    [{ lon: 119, lat: 33, zoom: 12, layers: 'fx_nowhere' }, 404, /no collection "fx_nowhere"/],
    [{ lon: 119, lat: 33, zoom: 12, layers: 'fx_points,fx_secret' }, 404, /no collection "fx_secret"/],
  ];
  for (const [query, status, message] of cases) {
    const res = await p.http.get('/identify').query(query);
    t.is(res.status, status, JSON.stringify(query));
    t.regex(res.body.message, message, JSON.stringify(query));
  }
});

// ---------------------------------------------------------------------------------------------------------------
// POST /query
// ---------------------------------------------------------------------------------------------------------------

const AREA = { type: 'Polygon', coordinates: [[[119.0, 33.5], [119.1, 33.5], [119.1, 33.6], [119.03, 33.62], [119.0, 33.6], [119.0, 33.5]]] };

test('a drawn polygon: per layer the count, the sum of each additive property, and the features (limited)', async (t) => {
  const res = await p.http.post('/query').send({ geometry: AREA, layers: ['fx_shelters', 'fx_cases'], limit: 5 });
  t.is(res.status, 200);
  const body = res.body as { areaM2: number; layers: Array<{ layer: string; count: number; sums: Record<string, number>; truncated: boolean; features: { features: Array<{ id: number }> } }> };
  const area = JSON.stringify(AREA);
  const { rows } = await p.sql.query<{ n: number; capacity: number; m2: number }>(
    `SELECT count(*)::int AS n, sum(capacity)::int AS capacity, (SELECT ST_Area(ST_GeomFromGeoJSON($1)::geography)) AS m2
     FROM fixtures.shelters WHERE ST_Intersects(ST_Transform(geom, 4326), ST_SetSRID(ST_GeomFromGeoJSON($1), 4326))`,
    [area],
  );
  const [shelters, cases] = body.layers as [(typeof body.layers)[0], (typeof body.layers)[0]];
  t.is(shelters.layer, 'fx_shelters');
  t.is(shelters.count, rows[0]!.n);
  t.true(shelters.count > 5);
  t.deepEqual(shelters.sums, { capacity: rows[0]!.capacity });
  t.true(shelters.truncated);
  const firstIds = (
    await p.sql.query<{ id: number }>(
      `SELECT id FROM fixtures.shelters WHERE ST_Intersects(ST_Transform(geom, 4326), ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)) ORDER BY id LIMIT 5`,
      [area],
    )
  ).rows.map((r) => r.id);
  t.deepEqual(shelters.features.features.map((f) => f.id), firstIds);
  t.true(Math.abs(body.areaM2 - rows[0]!.m2) < 1);
  const { rows: c } = await p.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM fixtures.cases WHERE ST_Intersects(geom, ST_SetSRID(ST_GeomFromGeoJSON($1), 4326))`, [area]);
  t.is(cases.count, c[0]!.n);
  t.deepEqual(cases.sums, {});
});

test('only properties the layer declares additive are summed: a numeric value without the flag is counted, not added', async (t) => {
  const everywhere = { type: 'Polygon', coordinates: [[[100, 20], [130, 20], [130, 45], [100, 45], [100, 20]]] };
  const res = await p.http.post('/query').send({ geometry: everywhere, layers: ['fx_points'], limit: 0 });
  t.is(res.status, 200);
  const { rows } = await p.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM fixtures.points WHERE ST_Intersects(geom, ST_SetSRID(ST_GeomFromGeoJSON($1), 4326))`, [
    JSON.stringify(everywhere),
  ]);
  t.true(rows[0]!.n > 0);
  t.is(res.body.layers[0].count, rows[0]!.n);
  t.deepEqual(res.body.layers[0].sums, {}, 'fx_points.value is numeric but not additive');
});

test('a line buffered by the server (metres on the spheroid), sent as a Feature from a drawing tool', async (t) => {
  const line = { type: 'LineString', coordinates: [[119.0, 33.556], [119.17, 33.556]] };
  const res = await p.http.post('/query').send({ geometry: { type: 'Feature', properties: {}, geometry: line }, buffer: 600, layers: 'fx_shelters', limit: 0 });
  t.is(res.status, 200);
  const { rows } = await p.sql.query<{ n: number; capacity: number }>(
    `SELECT count(*)::int AS n, sum(capacity)::int AS capacity FROM fixtures.shelters
     WHERE ST_Intersects(ST_Transform(geom, 4326), ST_Buffer(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)::geography, 600)::geometry)`,
    [JSON.stringify(line)],
  );
  t.true(rows[0]!.n > 0);
  t.is(res.body.layers[0].count, rows[0]!.n);
  t.is(res.body.layers[0].sums.capacity, rows[0]!.capacity);
  t.is(res.body.layers[0].features.numberReturned, 0);
});

test('POST /query refuses what it cannot use: 400s naming the problem, 413, 415, 404', async (t) => {
  const post = (body: unknown, type = 'application/json') =>
    p.http.post('/query').set('Content-Type', type).send(typeof body === 'string' ? body : JSON.stringify(body));
  const square = (ring: number[][]) => ({ type: 'Polygon', coordinates: [ring] });
  const cases: Array<[unknown, number, RegExp]> = [
    ['{"geometry": ', 400, /^the body is not valid JSON/],
    ['', 400, /^the body is empty/],
    [[1, 2], 400, /^the body must be a JSON object/],
    [{ layers: ['fx_points'] }, 400, /^geometry is required/],
    [{ geometry: { type: 'Circle', coordinates: [119, 33] }, layers: ['fx_points'] }, 400, /^geometry\.type: must be Point/],
    [{ geometry: square([[119, 33], [119.1, 33], [119.1, 33.1], [119, 33.1]]), layers: ['fx_points'] }, 400, /geometry\.coordinates\[0\]: the ring is not closed/],
    [{ geometry: square([[119, 33], [119.1, 33], [119, 33]]), layers: ['fx_points'] }, 400, /needs at least 4 positions/],
    [{ geometry: { type: 'Point', coordinates: [119, 133] }, layers: ['fx_points'] }, 400, /latitude 133 is outside/],
    [{ geometry: square([[119, 33], [119.1, 33.1], [119.1, 33], [119, 33.1], [119, 33]]), layers: ['fx_points'] }, 400, /^geometry is not valid: Self-intersection/],
    [{ geometry: AREA, layers: 'fx_points', buffer: -1 }, 400, /^buffer must be a number of metres/],
    [{ geometry: AREA, layers: 'fx_points', limit: 1.5 }, 400, /^limit must be a whole number/],
    [{ geometry: AREA, layers: 'fx_points', colour: 'red' }, 400, /^unknown field "colour"/],
    [{ geometry: AREA, layers: 7 }, 400, /^layers must be a list of layer ids/],
    [{ geometry: AREA, layers: [] }, 400, /^layers: name at least one layer/],
    [{ geometry: AREA, layers: ['fx_nowhere'] }, 404, /no collection "fx_nowhere"/],
    [{ geometry: AREA, layers: ['fx_points', 'fx_roads'] }, 404, /no collection "fx_roads"/],
  ];
  for (const [body, status, message] of cases) {
    const res = await post(body);
    t.is(res.status, status, JSON.stringify(body).slice(0, 80));
    t.regex(res.body.message, message, JSON.stringify(body).slice(0, 80));
  }
  const form = await post({ geometry: AREA, layers: ['fx_points'] }, 'text/plain');
  t.is(form.status, 415);
  // 2 MiB is the limit: a body over it is refused before it is parsed.
  const huge = { geometry: { type: 'MultiPoint', coordinates: Array.from({ length: 200_000 }, (_, i) => [119 + (i % 1000) / 1e4, 33.5]) }, layers: ['fx_points'] };
  const big = await post(huge);
  t.is(big.status, 413);
  t.is(big.body.error, 'body_too_large');
});

test('a body streamed without Content-Length is cut off at the limit, and the 413 still arrives', async (t) => {
  const server = http.createServer(p.platform.app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/query', headers: { 'Content-Type': 'application/json' } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, ' ');
      let sent = 0;
      const pump = () => {
        // Keep sending until the server has answered or 4 MiB went out.
        while (sent < 4 * 1024 * 1024 && req.write(chunk)) sent += chunk.length;
        if (sent >= 4 * 1024 * 1024) req.end();
        else req.once('drain', () => ((sent += chunk.length), pump()));
      };
      req.write('{"geometry": ');
      pump();
    });
    t.is(answer.status, 413);
    t.is(JSON.parse(answer.body).error, 'body_too_large');
  } finally {
    server.close();
    server.closeAllConnections();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Filtered tiles
// ---------------------------------------------------------------------------------------------------------------

const MARGIN = 64 / 4096;
const tile = tileOf(119.05, 33.56, 12);
const tileUrl = `/tiles/fx_shelters/${tile.z}/${tile.x}/${tile.y}.mvt`;

async function tileIds(query: Record<string, string> = {}): Promise<number[]> {
  const res = await p.http.get(tileUrl).query(query).set('Accept-Encoding', 'identity').buffer(true).parse(binary);
  if (res.status === 204) return [];
  if (res.status !== 200) throw new Error(`${tileUrl}: ${res.status} ${String(res.body)}`);
  return (decodeTile(res.body as Buffer, tile.z, tile.x, tile.y).fx_shelters ?? []).map((f) => f.id!);
}

async function sqlTileIds(where: string): Promise<number[]> {
  const { rows } = await p.sql.query<{ id: number }>(
    `SELECT id FROM fixtures.shelters
     WHERE ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3, margin => $4)) AND ${where} ORDER BY id`,
    [tile.z, tile.x, tile.y, MARGIN],
  );
  return rows.map((r) => r.id);
}

test.serial('a filtered tile holds exactly the features of the tile that pass the filter; it is cached under its own key', async (t) => {
  const all = await tileIds();
  const filtered = await tileIds({ filter: 'capacity > 1000' });
  t.deepEqual(all, await sqlTileIds('TRUE'));
  t.deepEqual(filtered, await sqlTileIds('capacity > 1000'));
  t.true(filtered.length > 0 && filtered.length < all.length);
  const spatial = "capacity > 1000 AND S_WITHIN(geometry, BBOX(119.0, 33.5, 119.06, 33.6)) AND district <> '淮安区'";
  t.deepEqual(await tileIds({ filter: spatial }), await sqlTileIds(`capacity > 1000 AND ST_Within(ST_Transform(geom, 4326), ST_MakeEnvelope(119.0, 33.5, 119.06, 33.6, 4326)) AND district <> '淮安区'`));

  const cache = p.platform.cache;
  const before = { hits: cache.hits, size: cache.size };
  t.deepEqual(await tileIds({ filter: 'capacity>1000' }), filtered, 'the same filter written differently');
  t.is(cache.size, before.size, 'served from the entry of its canonical text');
  t.is(cache.hits, before.hits + 1);
});

test.serial('a change evicts the filtered variants of the tiles it touches, so the next filtered tile shows it', async (t) => {
  const filter = { filter: 'capacity > 1000' };
  const { rows } = await p.sql.query<{ id: number }>(
    `SELECT id FROM fixtures.shelters WHERE capacity <= 1000 AND ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3)) ORDER BY id LIMIT 1`,
    [tile.z, tile.x, tile.y],
  );
  const id = rows[0]!.id;
  t.false((await tileIds(filter)).includes(id)); // now cached
  await p.sql.query('UPDATE fixtures.shelters SET capacity = 5000 WHERE id = $1', [id]);
  t.true((await tileIds(filter)).includes(id));
  await p.sql.query('UPDATE fixtures.shelters SET capacity = 0 WHERE id = $1', [id]);
  t.false((await tileIds(filter)).includes(id));
});

test('TileJSON with a filter carries it (and the key) in the tile URL; the URL it gives serves the filtered tile', async (t) => {
  const res = await p.http.get('/tiles/fx_shelters.json').query({ filter: "level = '核5级'", key: jtj });
  t.is(res.status, 200);
  const url = new URL((res.body.tiles as string[])[0]!.replace('{z}', String(tile.z)).replace('{x}', String(tile.x)).replace('{y}', String(tile.y)));
  t.is(url.searchParams.get('filter'), "level = '核5级'");
  t.is(url.searchParams.get('key'), jtj);
  const served = await p.http.get(url.pathname + url.search).set('Accept-Encoding', 'identity').buffer(true).parse(binary);
  t.deepEqual((decodeTile(served.body as Buffer, tile.z, tile.x, tile.y).fx_shelters ?? []).map((f) => f.id), await sqlTileIds(`level = '核5级'`));
  t.is((await p.http.get('/tiles/fx_shelters.json').query({ filter: 'level = 5' })).status, 400);
});

test('filters on tiles: one table layer only; a hidden layer stays a 404 whatever the filter says', async (t) => {
  const composite = await p.http.get(`/tiles/fx_shelters,fx_points/${tile.z}/${tile.x}/${tile.y}.mvt`).query({ filter: 'capacity > 1' });
  t.is(composite.status, 400);
  t.regex(composite.body.message, /filter applies to one layer/);
  const fn = await p.http.get(`/tiles/fx_density/${tile.z}/${tile.x}/${tile.y}.mvt`).query({ filter: 'n > 1' });
  t.is(fn.status, 400);
  t.regex(fn.body.message, /made by a SQL function/);
  const hidden = await p.http.get(`/tiles/fx_secret/${tile.z}/${tile.x}/${tile.y}.mvt`).query({ filter: 'no_such = 1' });
  t.is(hidden.status, 404);
  const wrong = await p.http.get(tileUrl).query({ filter: 'capacity > ' });
  t.is(wrong.status, 400);
  t.regex(wrong.body.message, /^filter: expected a property or value, got the end of the filter at character 12$/);
});

// ---------------------------------------------------------------------------------------------------------------
// POST /query: what lies inside the area, clipped (the part of each polygon inside, the length of lines inside)
// ---------------------------------------------------------------------------------------------------------------

/** A GK (EPSG:4549) rectangle as a WGS84 GeoJSON polygon, made by PostGIS. */
async function gkRectangle(x0: number, y0: number, x1: number, y1: number): Promise<object> {
  const { rows } = await p.sql.query<{ g: string }>(`SELECT ST_AsGeoJSON(ST_Transform(ST_MakeEnvelope($1, $2, $3, $4, 4549), 4326), 12) AS g`, [x0, y0, x1, y1]);
  return JSON.parse(rows[0]!.g) as object;
}

test('polygons count by the part inside the area: half of a 160 m parcel, a whole one and another half make 320 × 160 m²', async (t) => {
  // fx_parcels are 160 m squares of the GK plane every 200 m from (407000, 3716000), stored in EPSG:4549.
  const area = await gkRectangle(407080, 3716000, 407480, 3716160);
  const res = await p.http.post('/query').send({ geometry: area, layers: ['fx_parcels'], limit: 0 });
  t.is(res.status, 200);
  const parcels = res.body.layers[0];
  t.is(parcels.count, 3);
  const { rows } = await p.sql.query<{ spheroid: number; plane: number; whole: number }>(
    `WITH a AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g)
     SELECT sum(ST_Area(ST_Intersection(ST_Transform(p.geom, 4326), a.g)::geography)) AS spheroid,
            sum(ST_Area(ST_Intersection(p.geom, ST_Transform(a.g, 4549)))) AS plane, sum(ST_Area(p.geom)) AS whole
     FROM fixtures.parcels p, a WHERE ST_Intersects(p.geom, ST_Transform(a.g, 4549))`,
    [JSON.stringify(area)],
  );
  const r = rows[0]!;
  t.true(Math.abs(parcels.clippedAreaM2 - r.spheroid) < 0.5, `${parcels.clippedAreaM2} vs PostGIS ${r.spheroid}`);
  // The GK plane at 93 km from its central meridian scales areas by ~1.0002: the same figure within 0.1 %.
  t.true(Math.abs(parcels.clippedAreaM2 / (320 * 160) - 1) < 0.001, `${parcels.clippedAreaM2} vs 51200`);
  t.true(Math.abs(parcels.clippedAreaM2 / r.plane - 1) < 0.001);
  t.is(r.whole, 3 * 160 * 160, 'the whole parcels would be half as much again');
  t.is(parcels.clippedLengthM, undefined, 'polygons have no length figure');
  t.is(parcels.classes, undefined, 'fx_parcels has no class property');
  t.true(Math.abs(res.body.areaM2 - 400 * 160) / (400 * 160) < 0.001, 'the drawn area is given too');
});

test('lines count by their length inside the area (internal roads stored in web mercator, with a key)', async (t) => {
  // fx_roads run along latitudes 33.52 + i·0.01 from 118.95 to 119.15: this box holds 0.05° of road 0 only.
  const area = { type: 'Polygon', coordinates: [[[119.0, 33.515], [119.05, 33.515], [119.05, 33.525], [119.0, 33.525], [119.0, 33.515]]] };
  const res = await p.http.post('/query').set('Authorization', `Bearer ${jtj}`).send({ geometry: area, layers: ['fx_roads'], limit: 0 });
  t.is(res.status, 200);
  const roads = res.body.layers[0];
  t.is(roads.count, 1);
  const { rows } = await p.sql.query<{ metres: number }>(
    `SELECT ST_Distance('SRID=4326;POINT(119.0 33.52)'::geography, 'SRID=4326;POINT(119.05 33.52)'::geography) AS metres`,
  );
  t.true(Math.abs(roads.clippedLengthM - rows[0]!.metres) < 1, `${roads.clippedLengthM} m vs ${rows[0]!.metres} m`);
  t.is(roads.clippedAreaM2, undefined);
});

test('a layer with a class property is broken down by class: name, colour, count and clipped area, largest first', async (t) => {
  await p.sql.query(`CREATE TABLE contrib.zoning_test (id integer PRIMARY KEY, class_code text, class_name text, color text, geom geometry(Polygon, 4549))`);
  // Three 100 m squares side by side: two of 0701 (城镇住宅用地), one of 1001 (工业用地).
  await p.sql.query(`INSERT INTO contrib.zoning_test VALUES
    (1, '0701', '城镇住宅用地', '#FFFF2D', ST_MakeEnvelope(450000, 3720000, 450100, 3720100, 4549)),
    (2, '0701', '城镇住宅用地', '#FFFF2D', ST_MakeEnvelope(450100, 3720000, 450200, 3720100, 4549)),
    (3, '1001', '工业用地', '#BB9674', ST_MakeEnvelope(450200, 3720000, 450300, 3720100, 4549))`);
  await eventually(async () => (await p.http.get('/collections/zoning_test').set('Authorization', `Bearer ${jtj}`)).status === 200);
  // The area takes the whole of square 1, half of square 2 and a quarter of square 3.
  const area = await gkRectangle(450000, 3720000, 450225, 3720100);
  const res = await p.http.post('/query').set('Authorization', `Bearer ${jtj}`).send({ geometry: area, layers: ['zoning_test'], limit: 0 });
  t.is(res.status, 200);
  const classes = res.body.layers[0].classes as Array<{ code: string; name: string; color: string; count: number; areaM2: number }>;
  t.deepEqual(
    classes.map((c) => ({ ...c, areaM2: Math.round(c.areaM2 / 10) * 10 })),
    [
      { code: '0701', name: '城镇住宅用地', color: '#FFFF2D', count: 2, areaM2: 20000 },
      { code: '1001', name: '工业用地', color: '#BB9674', count: 1, areaM2: 2500 },
    ],
  );
  const total = classes.reduce((s, c) => s + c.areaM2, 0);
  t.true(Math.abs(total - res.body.layers[0].clippedAreaM2) < 0.5, 'the classes add up to the clipped area');
});
