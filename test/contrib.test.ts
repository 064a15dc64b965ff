// Auto-publishing of schema `contrib`: a table created there by a department's GIS staff becomes a layer, without
// a definition file and without a restart; its changes, its shape and its removal are followed.
import test from 'ava';
import { binary, eventually, OPS, startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { decodeTile, tileOf, type DecodedFeature } from './helpers/mvt.ts';

let p: TestPlatform; // defaults: CONTRIB_ACCESS=internal, event triggers on
let pub: TestPlatform; // CONTRIB_ACCESS=public
let polled: TestPlatform; // no event triggers: only the CONTRIB_POLL_MS rescan publishes
let key: string; // a dsj (big data bureau) key on p

test.before(async () => {
  [p, pub, polled] = await Promise.all([
    startTestPlatform(),
    startTestPlatform({ CONTRIB_ACCESS: 'public' }),
    startTestPlatform({ CONTRIB_ACCESS: 'public', CONTRIB_POLL_MS: '300' }),
  ]);
  await polled.sql.query('DROP EVENT TRIGGER citybase_catalog_change; DROP EVENT TRIGGER citybase_catalog_drop');
  key = (await p.platform.keys.create('dsj', 'test')).key;
});

test.after.always(async () => {
  await Promise.all([p?.close(), pub?.close(), polled?.close()]);
});

type Point = { name: string; lon: number; lat: number };

/** Places in Huai'an, far enough apart to sit in different z14 tiles. */
const places: Point[] = [
  { name: '淮安站', lon: 119.0213, lat: 33.6047 },
  { name: '清江浦', lon: 119.0312, lat: 33.5536 },
  { name: '淮阴', lon: 118.9604, lat: 33.6329 },
];

/** The INSERT of points into contrib.<table>(name, geom); srid 0 leaves the values without an SRID. */
function insertSql(table: string, points: Point[], srid = 4326): [string, unknown[]] {
  const point = 'ST_MakePoint(u.lon, u.lat)';
  const geom = srid === 0 ? point : srid === 4326 ? `ST_SetSRID(${point}, 4326)` : `ST_Transform(ST_SetSRID(${point}, 4326), ${srid})`;
  return [
    `INSERT INTO contrib.${table} (name, geom)
     SELECT u.name, ${geom} FROM unnest($1::text[], $2::float8[], $3::float8[]) AS u(name, lon, lat)`,
    [points.map((q) => q.name), points.map((q) => q.lon), points.map((q) => q.lat)],
  ];
}

async function insertPoints(tp: TestPlatform, table: string, points: Point[], srid = 4326): Promise<void> {
  await tp.sql.query(...insertSql(table, points, srid));
}

function get(tp: TestPlatform, url: string, auth?: string) {
  const req = tp.http.get(url);
  return auth ? req.set('Authorization', `Bearer ${auth}`) : req;
}

async function status(tp: TestPlatform, url: string, auth?: string): Promise<number> {
  return (await get(tp, url, auth)).status;
}

/** The layer's features in the z14 tile holding a place (none for 204). Throws on anything but 200/204. */
async function featuresAt(tp: TestPlatform, id: string, q: Pick<Point, 'lon' | 'lat'>, auth?: string): Promise<DecodedFeature[]> {
  const { z, x, y } = tileOf(q.lon, q.lat, 14);
  const res = await get(tp, `/tiles/${id}/${z}/${x}/${y}.mvt`, auth).buffer(true).parse(binary);
  if (res.status === 204) return [];
  if (res.status !== 200) throw new Error(`tile ${id}/${z}/${x}/${y} answered ${res.status}`);
  return decodeTile(res.body as Buffer, z, x, y)[id] ?? [];
}

const published = (tp: TestPlatform, id: string, auth?: string) =>
  eventually(async () => (await status(tp, `/tiles/${id}.json`, auth)) === 200);

const withdrawn = (tp: TestPlatform, id: string, auth?: string) =>
  eventually(async () => (await status(tp, `/tiles/${id}.json`, auth)) === 404);

async function catalogIds(tp: TestPlatform, auth?: string): Promise<string[]> {
  const res = await get(tp, '/layers', auth);
  return (res.body.layers as Array<{ id: string }>).map((l) => l.id);
}

/** Every place is in its tile, as a point within ~1e-4° (≈ 10 m) of where it was inserted. */
async function assertPlaced(t: import('ava').ExecutionContext, tp: TestPlatform, id: string, points: Point[], auth?: string) {
  for (const q of points) {
    const f = (await featuresAt(tp, id, q, auth)).find((f) => f.properties.name === q.name);
    if (!f) {
      t.fail(`${q.name} missing from the tile of (${q.lon}, ${q.lat})`);
      continue;
    }
    t.is(f.geometry.type, 'Point');
    const [lon, lat] = f.geometry.coordinates as [number, number];
    t.true(Math.abs(lon - q.lon) < 1e-4 && Math.abs(lat - q.lat) < 1e-4, `${q.name}: drawn at (${lon}, ${lat}), inserted at (${q.lon}, ${q.lat})`);
  }
}

/** TileJSON bounds are the data's extent: they contain every point and exceed it by at most `tolerance` degrees. */
function assertBounds(t: import('ava').ExecutionContext, bounds: number[], points: Point[], tolerance = 1e-4) {
  const [w, s, e, n] = [
    Math.min(...points.map((q) => q.lon)),
    Math.min(...points.map((q) => q.lat)),
    Math.max(...points.map((q) => q.lon)),
    Math.max(...points.map((q) => q.lat)),
  ];
  const shown = `bounds ${JSON.stringify(bounds)} vs data ${JSON.stringify([w, s, e, n])}`;
  t.is(bounds.length, 4);
  const [bw, bs, be, bn] = bounds as [number, number, number, number];
  const eps = 1e-6; // TileJSON rounds to 6 decimals
  t.true(bw <= w + eps && bs <= s + eps && be >= e - eps && bn >= n - eps, `${shown}: every point inside`);
  t.true(w - bw <= tolerance && s - bs <= tolerance && be - e <= tolerance && bn - n <= tolerance, `${shown}: tight`);
}

// ---------------------------------------------------------------------------------------------------------------
// Publishing
// ---------------------------------------------------------------------------------------------------------------

test('a table created in contrib after start with a typed geometry(Point, 4326) column is published within 10 s, id = table name', async (t) => {
  await p.sql.query(`CREATE TABLE contrib.typed_points (id serial PRIMARY KEY, name text NOT NULL, height numeric, geom geometry(Point, 4326))`);
  await insertPoints(p, 'typed_points', places);
  await published(p, 'typed_points', key);

  const entry = (await get(p, '/layers', key)).body.layers.find((l: { id: string }) => l.id === 'typed_points');
  t.like(entry, { id: 'typed_points', theme: 'contrib', owner: 'dsj', access: 'internal', geometryType: 'POINT', minzoom: 0, maxzoom: 22 });
  t.deepEqual(entry.fields, { id: 'Number', name: 'String', height: 'Number' });

  const tj = await get(p, '/tiles/typed_points.json', key);
  t.is(tj.body.tilejson, '3.0.0');
  t.is(tj.body.vector_layers[0].id, 'typed_points');
  t.true((tj.body.tiles[0] as string).includes('/tiles/typed_points/{z}/{x}/{y}.mvt'));
  assertBounds(t, tj.body.bounds, places);
  await assertPlaced(t, p, 'typed_points', places, key);
});

test('an untyped geometry column holding SRID-0 values is published and drawn in place (taken as WGS84)', async (t) => {
  await p.sql.query(`CREATE TABLE contrib.untyped_srid0 (gid integer GENERATED ALWAYS AS IDENTITY, name text, geom geometry)`);
  await insertPoints(p, 'untyped_srid0', places, 0);
  const { rows } = await p.sql.query(`SELECT DISTINCT ST_SRID(geom) AS srid FROM contrib.untyped_srid0`);
  t.deepEqual(rows, [{ srid: 0 }]);
  await published(p, 'untyped_srid0', key);
  await assertPlaced(t, p, 'untyped_srid0', places, key);
  const tj = await get(p, '/tiles/untyped_srid0.json', key);
  assertBounds(t, tj.body.bounds, places);
  t.deepEqual(tj.body.vector_layers[0].fields, { gid: 'Number', name: 'String' });
});

test('TileJSON bounds hold every feature of a table without a spatial index, outliers included', async (t) => {
  // Without an index ST_EstimatedExtent reads the statistics, which leave out outliers: MapLibre would never ask
  // for the tiles of the far features. 5,000 points in the city, one in Xuyi and one in Lianshui.
  await p.sql.query(`CREATE TABLE contrib.unindexed (name text, geom geometry(Point, 4326))`);
  await p.sql.query(
    `INSERT INTO contrib.unindexed SELECT 'p' || i, ST_SetSRID(ST_MakePoint(119.0 + (i % 71) * 0.001, 33.58 + (i % 67) * 0.001), 4326) FROM generate_series(1, 5000) AS i`,
  );
  const far: Point[] = [
    { name: '盱眙', lon: 118.5446, lat: 32.9854 },
    { name: '涟水', lon: 119.2608, lat: 33.7808 },
  ];
  await insertPoints(p, 'unindexed', far);
  await p.sql.query('ANALYZE contrib.unindexed');
  const { rows } = await p.sql.query<{ w: number }>(`SELECT ST_XMin(ST_EstimatedExtent('contrib', 'unindexed', 'geom')) AS w`);
  t.true(rows[0]!.w > 118.9, `the statistics alone say west ${rows[0]!.w} (why the server does not trust them here)`);
  await published(p, 'unindexed', key);
  const tj = await get(p, '/tiles/unindexed.json', key);
  const [w, s, e, n] = tj.body.bounds as number[];
  t.true(w! <= 118.5446 && s! <= 32.9854 && e! >= 119.2608 && n! >= 33.7808, `bounds ${tj.body.bounds}`);
});

const projected = test.macro({
  exec: async (t, srid: number) => {
    const table = `untyped_${srid}`;
    // Created and filled in one transaction: the layer is first seen with its data.
    const client = await p.sql.connect();
    try {
      await client.query('BEGIN');
      await client.query(`CREATE TABLE contrib.${table} (name text, geom geometry)`);
      await client.query(...insertSql(table, places, srid));
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const { rows } = await p.sql.query(`SELECT DISTINCT ST_SRID(geom) AS srid FROM contrib.${table}`);
    t.deepEqual(rows, [{ srid }]);
    await published(p, table, key);
    await assertPlaced(t, p, table, places, key);
    // A projected box is not quite a lon/lat box: the grid's rotation (≈0.55° for EPSG:4549 here) widens it a little.
    assertBounds(t, (await get(p, `/tiles/${table}.json`, key)).body.bounds, places, 1e-3);
  },
  title: (_, srid) => `an untyped geometry column whose values carry SRID ${srid} is drawn in place`,
});

test(projected, 3857);
test(projected, 4549);

const projectedLater = test.macro({
  exec: async (t, srid: number) => {
    // The usual way data arrives: CREATE TABLE (published at once, still empty), then the rows.
    const table = `untyped_later_${srid}`;
    await p.sql.query(`CREATE TABLE contrib.${table} (name text, geom geometry)`);
    await published(p, table, key);
    await insertPoints(p, table, places, srid);
    await eventually(async () => (await featuresAt(p, table, places[0]!, key)).length > 0, 10_000).catch(() => undefined);
    await assertPlaced(t, p, table, places, key);
  },
  title: (_, srid) => `an untyped column published while empty and filled afterwards with SRID ${srid} values is drawn in place`,
});

test(projectedLater, 3857);
test(projectedLater, 4549);

// ---------------------------------------------------------------------------------------------------------------
// Access
// ---------------------------------------------------------------------------------------------------------------

test('by default (CONTRIB_ACCESS=internal) a contrib layer is hidden from anonymous callers and shown to any department key', async (t) => {
  await p.sql.query(`CREATE TABLE contrib.internal_points (id serial PRIMARY KEY, name text, geom geometry(Point, 4326))`);
  await insertPoints(p, 'internal_points', places);
  await published(p, 'internal_points', key);
  const { z, x, y } = tileOf(places[0]!.lon, places[0]!.lat, 14);
  const tileUrl = `/tiles/internal_points/${z}/${x}/${y}.mvt`;

  // Anonymous: exactly like a layer that does not exist.
  for (const url of [tileUrl, '/tiles/internal_points.json']) {
    const res = await p.http.get(url);
    t.is(res.status, 404, url);
    t.deepEqual(res.body, { error: 'unknown_layer', message: 'no layer "internal_points"' });
  }
  t.false((await catalogIds(p)).includes('internal_points'));

  // With the key, as ?key= and as a bearer token.
  t.is(await status(p, `${tileUrl}?key=${key}`), 200);
  t.is(await status(p, `/tiles/internal_points.json?key=${key}`), 200);
  t.is(await status(p, tileUrl, key), 200);
  t.is(await status(p, '/tiles/internal_points.json', key), 200);
  t.true((await catalogIds(p, key)).includes('internal_points'));
  const viaQuery = await p.http.get(`/layers?key=${key}`);
  t.true(viaQuery.body.layers.some((l: { id: string }) => l.id === 'internal_points'));
});

test('with CONTRIB_ACCESS=public an anonymous caller sees contrib layers', async (t) => {
  await pub.sql.query(`CREATE TABLE contrib.public_points (id serial PRIMARY KEY, name text, geom geometry(Point, 4326))`);
  await insertPoints(pub, 'public_points', places);
  await published(pub, 'public_points');
  const entry = (await pub.http.get('/layers')).body.layers.find((l: { id: string }) => l.id === 'public_points');
  t.like(entry, { access: 'public', theme: 'contrib' });
  await assertPlaced(t, pub, 'public_points', places);
});

// ---------------------------------------------------------------------------------------------------------------
// Following the table: DROP, ALTER, data changes
// ---------------------------------------------------------------------------------------------------------------

test('a dropped contrib table is withdrawn (404, gone from /layers); created again, it is served with its new data', async (t) => {
  await p.sql.query(`CREATE TABLE contrib.dropped (id serial PRIMARY KEY, name text, geom geometry(Point, 4326))`);
  await insertPoints(p, 'dropped', [places[0]!]);
  await published(p, 'dropped', key);
  t.is((await featuresAt(p, 'dropped', places[0]!, key)).length, 1); // also cached now

  await p.sql.query(`DROP TABLE contrib.dropped`);
  await withdrawn(p, 'dropped', key);
  const { z, x, y } = tileOf(places[0]!.lon, places[0]!.lat, 14);
  t.is(await status(p, `/tiles/dropped/${z}/${x}/${y}.mvt`, key), 404);
  t.false((await catalogIds(p, key)).includes('dropped'));

  await p.sql.query(`CREATE TABLE contrib.dropped (id serial PRIMARY KEY, name text, kind text, geom geometry(Point, 4326))`);
  await insertPoints(p, 'dropped', [places[1]!]);
  await published(p, 'dropped', key);
  t.deepEqual(await featuresAt(p, 'dropped', places[0]!, key), [], 'the old table’s tile is not served from memory');
  await assertPlaced(t, p, 'dropped', [places[1]!], key);
});

test('an ALTERed contrib table (new column) shows the new field in TileJSON and its values in tiles', async (t) => {
  await p.sql.query(`CREATE TABLE contrib.altered (id serial PRIMARY KEY, name text, geom geometry(Point, 4326))`);
  await insertPoints(p, 'altered', [places[0]!]);
  await published(p, 'altered', key);
  t.deepEqual((await get(p, '/tiles/altered.json', key)).body.vector_layers[0].fields, { id: 'Number', name: 'String' });
  t.is((await featuresAt(p, 'altered', places[0]!, key)).length, 1); // cached

  await p.sql.query(`ALTER TABLE contrib.altered ADD COLUMN floors integer NOT NULL DEFAULT 3`);
  const fields = await eventually(async () => {
    const f = (await get(p, '/tiles/altered.json', key)).body.vector_layers[0].fields as Record<string, string>;
    return 'floors' in f && f;
  });
  t.deepEqual(fields, { id: 'Number', name: 'String', floors: 'Number' });
  const [feature] = await featuresAt(p, 'altered', places[0]!, key);
  t.is(feature?.properties.floors, 3, 'the cached tile from before the ALTER is not served');

  await p.sql.query(`ALTER TABLE contrib.altered DROP COLUMN name`);
  await eventually(async () => !('name' in (await get(p, '/tiles/altered.json', key)).body.vector_layers[0].fields));
  const [after] = await featuresAt(p, 'altered', places[0]!, key);
  t.false('name' in (after?.properties ?? {}));
});

test('a tile asked for with a layer as it was before an ALTER, and made after it, is answered once and never cached', async (t) => {
  await p.sql.query(`CREATE TABLE contrib.redefined (id serial PRIMARY KEY, name text, geom geometry(Point, 4326))`);
  await insertPoints(p, 'redefined', [places[0]!]);
  await published(p, 'redefined', key);
  const before = p.platform.registry.get('redefined')!;
  await p.sql.query(`ALTER TABLE contrib.redefined ADD COLUMN floors integer NOT NULL DEFAULT 3`);
  await eventually(async () => p.platform.registry.get('redefined') !== before);
  // A request that looked the layer up before the ALTER was published and reached the cache after it.
  const { z, x, y } = tileOf(places[0]!.lon, places[0]!.lat, 14);
  const late = decodeTile((await p.platform.tiles.tile([before], { z, x, y }, () => new AbortController().signal)).raw, z, x, y);
  t.false('floors' in late.redefined![0]!.properties, 'it gets the layer it asked for');
  const [feature] = await featuresAt(p, 'redefined', places[0]!, key);
  t.is(feature?.properties.floors, 3, 'the next request gets the layer as it is now');
});

test('a renamed contrib table is served under its new name, the old name is withdrawn, and its changes still arrive', async (t) => {
  await p.sql.query(`CREATE TABLE contrib.before_rename (id serial PRIMARY KEY, name text, geom geometry(Point, 4326))`);
  await insertPoints(p, 'before_rename', [places[0]!]);
  await published(p, 'before_rename', key);
  await p.sql.query(`ALTER TABLE contrib.before_rename RENAME TO after_rename`);
  await published(p, 'after_rename', key);
  await withdrawn(p, 'before_rename', key);
  t.deepEqual((await featuresAt(p, 'after_rename', places[0]!, key)).map((f) => f.properties.name), [places[0]!.name]);
  await p.sql.query(`UPDATE contrib.after_rename SET name = 'renamed'`);
  t.deepEqual((await featuresAt(p, 'after_rename', places[0]!, key)).map((f) => f.properties.name), ['renamed']);
});

test('freshness applies to contrib tables: after an INSERT, UPDATE or DELETE the next fetch of the tile shows it', async (t) => {
  await p.sql.query(`CREATE TABLE contrib.fresh (id serial PRIMARY KEY, name text, geom geometry(Point, 4326))`);
  const here = places[0]!;
  await insertPoints(p, 'fresh', [here]);
  await published(p, 'fresh', key);
  const { z, x, y } = tileOf(here.lon, here.lat, 14);
  t.deepEqual((await featuresAt(p, 'fresh', here, key)).map((f) => f.properties.name), [here.name]);
  // Held in memory (a fetch racing the end of publishing is served but not kept, so ask until one is kept).
  await eventually(async () => (await featuresAt(p, 'fresh', here, key)) && p.platform.cache.get(`fresh/${z}/${x}/${y}`));

  const neighbour = { name: '新点', lon: here.lon + 0.001, lat: here.lat + 0.001 };
  await insertPoints(p, 'fresh', [neighbour]);
  t.deepEqual((await featuresAt(p, 'fresh', here, key)).map((f) => f.properties.name).sort(), [here.name, neighbour.name].sort());

  await p.sql.query(`UPDATE contrib.fresh SET name = '改名' WHERE name = $1`, [neighbour.name]);
  t.deepEqual((await featuresAt(p, 'fresh', here, key)).map((f) => f.properties.name).sort(), [here.name, '改名'].sort());

  await p.sql.query(`DELETE FROM contrib.fresh WHERE name = $1`, [here.name]);
  t.deepEqual((await featuresAt(p, 'fresh', here, key)).map((f) => f.properties.name), ['改名']);
});

// ---------------------------------------------------------------------------------------------------------------
// Names that cannot be layer ids
// ---------------------------------------------------------------------------------------------------------------

test('a contrib table whose name is not a plain identifier ("My Table") is left out and breaks nothing', async (t) => {
  await pub.sql.query(`CREATE TABLE contrib."My Table" (id serial PRIMARY KEY, name text, geom geometry(Point, 4326))`);
  await pub.sql.query(`INSERT INTO contrib."My Table" (name, geom) VALUES ('x', ST_SetSRID(ST_MakePoint(119.02, 33.6), 4326))`);
  await pub.sql.query(`CREATE TABLE contrib."a.b""c" (id serial PRIMARY KEY, geom geometry(Point, 4326))`);
  // A table created afterwards is still published: the scan goes on past the odd names.
  await pub.sql.query(`CREATE TABLE contrib.after_odd_names (id serial PRIMARY KEY, name text, geom geometry(Point, 4326))`);
  await insertPoints(pub, 'after_odd_names', places);
  await published(pub, 'after_odd_names');
  await assertPlaced(t, pub, 'after_odd_names', places);

  const ids = await catalogIds(pub);
  t.false(ids.some((id) => id.includes('My') || id.includes('"')), JSON.stringify(ids));
  t.is(await status(pub, `/tiles/${encodeURIComponent('My Table')}.json`), 404);
  t.is(await status(pub, `/tiles/${encodeURIComponent('My Table')}/14/13675/6524.mvt`), 404);
  // The defined layers are untouched.
  t.true(ids.includes('fx_points'));
  const { z, x, y } = tileOf(119.05, 33.6, 14);
  t.is(await status(pub, `/tiles/fx_points/${z}/${x}/${y}.mvt`), 200);
  const health = await pub.http.get('/health').set(OPS);
  t.is(health.status, 200);
  t.deepEqual(health.body.unavailableLayers, {});
});

test('a contrib table named like a defined layer does not replace that layer', async (t) => {
  const before = (await pub.http.get('/tiles/fx_points.json')).body;
  await pub.sql.query(`CREATE TABLE contrib.fx_points (id serial PRIMARY KEY, other text, geom geometry(Point, 4326))`);
  await pub.sql.query(`CREATE TABLE contrib.after_fx_points (id serial PRIMARY KEY, geom geometry(Point, 4326))`);
  await published(pub, 'after_fx_points'); // the scan that saw contrib.fx_points is over
  const after = (await pub.http.get('/tiles/fx_points.json')).body;
  t.deepEqual(after.vector_layers, before.vector_layers);
  t.is(after.name, '测试点');
  t.is((await catalogIds(pub)).filter((id) => id === 'fx_points').length, 1);
});

// ---------------------------------------------------------------------------------------------------------------
// Without event triggers
// ---------------------------------------------------------------------------------------------------------------

test('without the event trigger (no superuser), the CONTRIB_POLL_MS rescan alone publishes, follows and withdraws tables', async (t) => {
  const { rows } = await polled.sql.query(`SELECT evtname FROM pg_event_trigger WHERE evtname LIKE 'citybase%'`);
  t.deepEqual(rows, []);
  await polled.sql.query(`CREATE TABLE contrib.polled_points (id serial PRIMARY KEY, name text, geom geometry(Point, 4326))`);
  await insertPoints(polled, 'polled_points', places);
  const started = Date.now();
  await published(polled, 'polled_points');
  t.true(Date.now() - started < 10_000);
  await assertPlaced(t, polled, 'polled_points', places);

  await polled.sql.query(`ALTER TABLE contrib.polled_points ADD COLUMN note text`);
  await eventually(async () => 'note' in (await polled.http.get('/tiles/polled_points.json')).body.vector_layers[0].fields);

  await polled.sql.query(`DROP TABLE contrib.polled_points`);
  await withdrawn(polled, 'polled_points');
  t.false((await catalogIds(polled)).includes('polled_points'));
});
