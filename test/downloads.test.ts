// Downloads (GET /collections/{layer}/download) as GeoJSON, CSV, Shapefile and GeoPackage in WGS84, CGCS2000 and
// its GK zone, read back with independent readers (the shapefile package, sql.js) and through the platform's own
// importer; OGC API - Features Part 2 crs= and bbox-crs= on items. Fixture layers: fx_shelters (points stored in
// EPSG:4549), fx_parcels (GK squares), fx_secret (restricted to rfb and sthj).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { strFromU8, unzipSync } from 'fflate';
// @ts-expect-error: the shapefile package ships no types; only open() and read() are used here.
import * as shapefile from 'shapefile';
import initSqlJs from 'sql.js';
import { importFile } from '../import/index.ts';
import { binary, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let p: TestPlatform;
let tmp: string;
let rfb: string;

test.before(async () => {
  p = await startTestPlatform();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'citybase-downloads-'));
  rfb = (await p.platform.keys.create('rfb', 'downloads test', ['layer:read', 'layer:export'])).key;
});
test.after.always(async () => {
  await p?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const get = (url: string, key?: string) => {
  const req = p.http.get(url).buffer(true).parse(binary);
  return key ? req.set('Authorization', `Bearer ${key}`) : req;
};
const rows = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) => (await p.sql.query<T>(sql, values)).rows;

test('Shapefile: a zip of .shp .shx .dbf .prj .cpg in EPSG:4549, geometry and UTF-8 attributes as stored', async (t) => {
  const res = await get('/collections/fx_shelters/download?f=shp&crs=EPSG:4549');
  t.is(res.status, 200);
  t.is(res.headers['content-type'], 'application/zip');
  t.is(res.headers['content-disposition'], 'attachment; filename="fx_shelters_4549.zip"');
  t.is(res.headers['content-crs'], '<http://www.opengis.net/def/crs/EPSG/0/4549>');
  const files = unzipSync(new Uint8Array(res.body as Buffer));
  t.deepEqual(Object.keys(files).sort(), ['fx_shelters_4549.cpg', 'fx_shelters_4549.dbf', 'fx_shelters_4549.prj', 'fx_shelters_4549.shp', 'fx_shelters_4549.shx']);
  t.is(strFromU8(files['fx_shelters_4549.cpg']!), 'UTF-8');
  t.regex(strFromU8(files['fx_shelters_4549.prj']!), /Gauss-Kruger CM 120E.*AUTHORITY\["EPSG","4549"\]\]$/);

  const source = await shapefile.open(Buffer.from(files['fx_shelters_4549.shp']!), Buffer.from(files['fx_shelters_4549.dbf']!), { encoding: 'utf-8' });
  const read: Array<{ geometry: { coordinates: number[] }; properties: Record<string, unknown> }> = [];
  for (let r = await source.read(); !r.done; r = await source.read()) read.push(r.value as (typeof read)[0]);
  const expected = await rows<{ x: number; y: number; name: string; capacity: number; open: boolean; built: string; remark: string | null }>(
    `SELECT ST_X(geom) AS x, ST_Y(geom) AS y, name, capacity, open, to_char(built, 'YYYY-MM-DD') AS built, remark FROM fixtures.shelters ORDER BY id`,
  );
  t.is(read.length, expected.length);
  read.forEach((f, i) => {
    const e = expected[i]!;
    t.true(Math.abs(f.geometry.coordinates[0]! - e.x) < 0.001 && Math.abs(f.geometry.coordinates[1]! - e.y) < 0.001, `feature ${i}: easting first`);
    t.is(f.properties.name, e.name);
    t.is(f.properties.capacity, e.capacity);
    t.is(f.properties.open, e.open);
    t.is((f.properties.built as Date).toISOString().slice(0, 10), e.built);
    t.is(f.properties.remark ?? null, e.remark);
  });
});

test('Shapefile and GeoPackage go back through the importer as the same geometries (polygons, EPSG:4549 and 4490)', async (t) => {
  for (const [f, crs, file] of [
    ['shp', 'EPSG:4549', 'parcels.zip'],
    ['gpkg', 'EPSG:4490', 'parcels.gpkg'],
  ] as const) {
    const res = await get(`/collections/fx_parcels/download?f=${f}&crs=${crs}&filter=${encodeURIComponent("code LIKE 'P1-%'")}`);
    t.is(res.status, 200, f);
    await writeFile(path.join(tmp, file), res.body as Buffer);
    const layer = `back_${f}`;
    const summary = await importFile({ pool: p.platform.pool, file: path.join(tmp, file), layer });
    t.is(summary.imported, 20, `${f}: the 20 parcels of row 1`);
    t.true(summary.source_srs.startsWith(crs), `${f}: the CRS is read from the file (${summary.source_srs})`);
    const [cmp] = await rows<{ n: number; worst: number; codes: number }>(`
      SELECT count(*)::int AS n, max(ST_HausdorffDistance(ST_Transform(o.geom, 4326), b.geom)) AS worst,
             count(*) FILTER (WHERE b.code = o.code)::int AS codes
      FROM imports.${layer} b JOIN fixtures.parcels o ON o.code = b.code`);
    t.is(cmp!.n, 20);
    t.is(cmp!.codes, 20);
    t.true(cmp!.worst < 1e-7, `${f}: shapes within 1 cm (${cmp!.worst}°)`);
  }
});

test('GeoPackage: the metadata tables, the CRS and typed columns (sql.js)', async (t) => {
  const res = await get('/collections/fx_shelters/download?f=gpkg&crs=http://www.opengis.net/def/crs/EPSG/0/4490');
  t.is(res.status, 200);
  const SQL = await initSqlJs();
  const db = new SQL.Database(new Uint8Array(res.body as Buffer));
  const one = (sql: string) => db.exec(sql)[0]!.values[0]!;
  t.deepEqual(one('PRAGMA application_id'), [1196444487]);
  t.deepEqual(one(`SELECT data_type, srs_id FROM gpkg_contents WHERE table_name = 'fx_shelters'`), ['features', 4490]);
  t.deepEqual(one(`SELECT geometry_type_name, srs_id FROM gpkg_geometry_columns`), ['POINT', 4490]);
  t.regex(String(one(`SELECT definition FROM gpkg_spatial_ref_sys WHERE srs_id = 4490`)[0]), /China Geodetic Coordinate System 2000/);
  t.deepEqual(one(`SELECT count(*), sum(capacity) FROM fx_shelters`), [120, (await rows<{ s: number }>(`SELECT sum(capacity)::int AS s FROM fixtures.shelters`))[0]!.s]);
  const [name, open] = one(`SELECT name, open FROM fx_shelters WHERE fid = 5`);
  t.deepEqual([name, open], ['人防工程5', 0]);
  db.close();
});

test('CSV: UTF-8 with a BOM, a header, quoted text, WKT in the CRS asked for', async (t) => {
  const res = await get('/collections/fx_shelters/download?f=csv&crs=EPSG:4549&properties=name,remark&filter=id%3C%3D7');
  t.is(res.status, 200);
  t.is(res.headers['content-type'], 'text/csv; charset=utf-8');
  const text = (res.body as Buffer).toString('utf8');
  t.true(text.startsWith('\uFEFFname,remark,WKT\r\n'));
  const lines = text.slice(1).trim().split('\r\n');
  t.is(lines.length, 8);
  t.is(lines[7], `人防工程7,,${(await rows<{ w: string }>(`SELECT ST_AsText(geom, 3) AS w FROM fixtures.shelters WHERE id = 7`))[0]!.w}`);
  t.is(lines[1], `人防工程1,备注 1,${(await rows<{ w: string }>(`SELECT ST_AsText(geom, 3) AS w FROM fixtures.shelters WHERE id = 1`))[0]!.w}`);
});

test('GeoJSON of a filtered selection in WGS84: the features the filter keeps, all of them, not a page', async (t) => {
  const filter = "district = '清江浦区' AND capacity > 500";
  const res = await get(`/collections/fx_shelters/download?f=geojson&filter=${encodeURIComponent(filter)}`);
  t.is(res.status, 200);
  const body = JSON.parse((res.body as Buffer).toString('utf8'));
  const ids = (await rows<{ id: number }>(`SELECT id FROM fixtures.shelters WHERE district = '清江浦区' AND capacity > 500 ORDER BY id`)).map((r) => r.id);
  t.deepEqual(body.features.map((f: { id: number }) => f.id), ids);
  t.is(body.crs, undefined, 'WGS84 needs no crs member');
  t.is(res.headers['x-feature-count'], String(ids.length));
});

test('downloads go through the same access check: a restricted layer is 404 without its key, a file with it', async (t) => {
  t.is((await get('/collections/fx_secret/download?f=shp')).status, 404);
  t.is((await get('/collections/fx_roads/download?f=csv')).status, 404);
  const res = await get('/collections/fx_secret/download?f=shp', rfb);
  t.is(res.status, 200);
  const other = (await p.platform.keys.create('jtj', 'downloads test', ['layer:read', 'layer:export'])).key;
  t.is((await get('/collections/fx_secret/download?f=gpkg', other)).status, 404);
});

test('public layers are open data; an internal or restricted one needs layer:export, and never an embed key', async (t) => {
  t.is((await get('/collections/fx_shelters/download?f=csv')).status, 200, 'public: anyone');
  const reader = (await p.platform.keys.create('rfb', 'reads only')).key;
  t.is((await get('/collections/fx_secret/items?limit=1', reader)).status, 200, 'the reader sees the layer');
  const refused = await get('/collections/fx_secret/download?f=csv', reader);
  t.is(refused.status, 403);
  const problem = JSON.parse(refused.body.toString());
  t.like(problem, { error: 'forbidden' });
  t.regex(problem.message, /layer:export/);
  const layers = async (key: string) =>
    Object.fromEntries((JSON.parse((await get('/layers', key)).body.toString()).layers as Array<{ id: string; downloadable: boolean }>).map((l) => [l.id, l.downloadable]));
  t.like(await layers(reader), { fx_secret: false, fx_shelters: true }, 'the catalog tells the viewer what it may offer');
  t.like(await layers(rfb), { fx_secret: true });
  // An embed key of the owner, on its own site: the widget may show the layer, never hand it out whole.
  const site = 'https://rfb.example.gov.cn';
  const { key: embed } = await p.platform.keys.createEmbed('rfb', { origins: [site], layers: ['fx_secret'] });
  t.is((await p.http.get(`/collections/fx_secret/items?limit=1&key=${embed}`).set('Origin', site)).status, 200);
  const fromWidget = await p.http.get(`/collections/fx_secret/download?f=csv&key=${embed}`).set('Origin', site);
  t.is(fromWidget.status, 403);
  t.regex(fromWidget.body.message, /embed key/);
  const records = await p.sql.query(`SELECT count(*)::int AS n FROM citybase.audit_log WHERE action = 'data.export' AND target = 'fx_secret'`);
  t.true(records.rows[0].n >= 1, 'the export that happened is audited');
});

test('bad download requests are 400 naming the parameter', async (t) => {
  for (const [q, word] of [
    ['f=kml', 'f'],
    ['f=shp&crs=EPSG:3857', 'crs'],
    ['f=csv&limit=5', 'limit'],
    ['f=csv&properties=nope', 'properties'],
    ['f=csv&filter=nope%20%3D%201', 'nope'],
  ] as const) {
    const res = await p.http.get(`/collections/fx_shelters/download?${q}`);
    t.is(res.status, 400, q);
    t.true(String(res.body.message).includes(word), `${q}: ${res.body.message}`);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// OGC API - Features Part 2 on /items
// ---------------------------------------------------------------------------------------------------------------

test('items in EPSG:4549 are northing, easting (the CRS axis order), in EPSG:4326 latitude, longitude; Content-Crs says which', async (t) => {
  const [e] = await rows<{ x: number; y: number; lon: number; lat: number }>(
    `SELECT ST_X(geom) AS x, ST_Y(geom) AS y, ST_X(ST_Transform(geom, 4326)) AS lon, ST_Y(ST_Transform(geom, 4326)) AS lat FROM fixtures.shelters WHERE id = 1`,
  );
  const gk = await p.http.get('/collections/fx_shelters/items/1').query({ crs: 'http://www.opengis.net/def/crs/EPSG/0/4549' });
  t.is(gk.headers['content-crs'], '<http://www.opengis.net/def/crs/EPSG/0/4549>');
  const [n, east] = JSON.parse(gk.text).geometry.coordinates;
  t.true(Math.abs(n - e!.y) < 0.001 && Math.abs(east - e!.x) < 0.001);

  const ll = await p.http.get('/collections/fx_shelters/items').query({ crs: 'http://www.opengis.net/def/crs/EPSG/0/4326', limit: 1 });
  t.is(ll.headers['content-crs'], '<http://www.opengis.net/def/crs/EPSG/0/4326>');
  const [lat, lon] = JSON.parse(ll.text).features[0].geometry.coordinates;
  t.true(Math.abs(lat - e!.lat) < 1e-8 && Math.abs(lon - e!.lon) < 1e-8);

  const plain = await p.http.get('/collections/fx_shelters/items').query({ limit: 1 });
  t.is(plain.headers['content-crs'], '<http://www.opengis.net/def/crs/OGC/1.3/CRS84>');
});

test('bbox-crs: a GK box (northing, easting) selects what the same box in WGS84 selects', async (t) => {
  const [box] = await rows<{ s: number; w: number; n: number; e: number }>(`
    SELECT ST_YMin(b) AS s, ST_XMin(b) AS w, ST_YMax(b) AS n, ST_XMax(b) AS e
    FROM (SELECT ST_Extent(geom)::geometry AS b FROM fixtures.shelters WHERE id BETWEEN 20 AND 40) x`);
  const ids = (await rows<{ id: number }>(`SELECT id FROM fixtures.shelters WHERE geom && ST_MakeEnvelope($1, $2, $3, $4, 4549) ORDER BY id`, [box!.w, box!.s, box!.e, box!.n])).map((r) => r.id);
  const res = await p.http.get('/collections/fx_shelters/items').query({
    'bbox-crs': 'http://www.opengis.net/def/crs/EPSG/0/4549',
    bbox: [box!.s - 0.001, box!.w - 0.001, box!.n + 0.001, box!.e + 0.001].join(','),
    limit: 1000,
  });
  t.is(res.status, 200);
  t.deepEqual(JSON.parse(res.text).features.map((f: { id: number }) => f.id), ids);
  t.true(ids.length >= 21);
  const wrong = await p.http.get('/collections/fx_shelters/items').query({ 'bbox-crs': 'EPSG:4549', bbox: `${box!.w},${box!.s},${box!.e},${box!.n}` });
  t.is(wrong.status, 400, 'easting first is a box upside down');
});

test('Part 2 is declared: the conformance class, and every collection lists the CRSs it offers', async (t) => {
  const conf = await p.http.get('/conformance');
  t.true(conf.body.conformsTo.includes('http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs'));
  const c = await p.http.get('/collections/fx_shelters');
  t.deepEqual(c.body.crs, [
    'http://www.opengis.net/def/crs/OGC/1.3/CRS84',
    'http://www.opengis.net/def/crs/EPSG/0/4326',
    'http://www.opengis.net/def/crs/EPSG/0/4490',
    'http://www.opengis.net/def/crs/EPSG/0/4549',
  ]);
  t.is(c.body.storageCrs, 'http://www.opengis.net/def/crs/EPSG/0/4549');
  const bad = await p.http.get('/collections/fx_shelters/items').query({ crs: 'EPSG:3857' });
  t.is(bad.status, 400);
  t.regex(bad.body.message, /^crs:/);
});
