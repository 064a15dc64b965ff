import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import initSqlJs from 'sql.js';
import { importFile } from '../import/index.ts';
import { Dbf } from '../import/formats/dbf.ts';
import { DATA, importDatabase, type ImportDb } from './fixtures/import/helpers.ts';

/**
 * Every file in test/fixtures/data (real files, some trimmed from the team's shared data) imports with the expected counts, coordinates and decoded Chinese attributes.
 * Expected values come from the data's README, from the files themselves read another way (JSON.parse, sql.js,
 * the .shx size, the XML text), or from PostGIS.
 */
let db: ImportDb;
test.before(async () => {
  db = await importDatabase();
});
test.after.always(async () => {
  await db?.close();
});

const run = (file: string, layer: string, extra: Record<string, unknown> = {}) => importFile({ pool: db.pool, file, layer, ...extra });
const q = async <T = Record<string, unknown>>(sql: string, values: unknown[] = []) => (await db.pool.query(sql, values)).rows as T[];

const naturalEarth = [
  ['ne_10m_populated_places.json', 314],
  ['ne_10m_admin_1_label_points.json', 600],
  ['ne_10m_lakes.json', 91],
  ['ne_10m_rivers_lake_centerlines.json', 71],
  ['ne_50m_admin_0_countries.json', 26],
] as const;

for (const [file, count] of naturalEarth) {
  test.serial(`GeoJSON ${file}: all ${count} features, null geometries rejected by row, coordinates and attributes exact`, async (t) => {
    const text = fs.readFileSync(path.join(DATA, 'natural-earth', file), 'utf8');
    const features = (JSON.parse(text) as { features: Array<{ geometry: { type: string; coordinates: unknown } | null; properties: Record<string, unknown> }> }).features;
    t.is(features.length, count, 'the fixture README count');
    const layer = `ne_${file.replace(/\W.*$/, '').slice(6)}`.replace(/[^a-z0-9_]/g, '_');
    const s = await run(path.join(DATA, 'natural-earth', file), layer);
    const nulls = features.map((f, i) => (f.geometry ? 0 : i + 1)).filter(Boolean);
    t.is(s.read, count);
    t.is(s.imported, count - nulls.length);
    t.deepEqual(s.rejected_rows.map((r) => r.row), nulls);
    t.true(s.rejected_rows.every((r) => r.reason === 'no geometry'));
    t.is(s.encoding, 'utf-8 (detected)');
    const [counted] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM imports.${layer}`);
    t.is(counted!.n, s.imported);
    // The first feature with a geometry: its first position and its NAME (or name) attribute, as stored.
    const i = features.findIndex((f) => f.geometry);
    const first = features[i]!;
    let pos: unknown = first.geometry!.coordinates;
    while (Array.isArray(pos) && Array.isArray(pos[0])) pos = pos[0];
    const [x, y] = pos as [number, number];
    const [stored] = await q<{ x: number; y: number }>(
      `SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (SELECT ST_PointN(ST_Boundary(ST_GeometryN(geom, 1)), 1) AS line, ST_GeometryN(geom, 1) AS g FROM imports.${layer} WHERE fid = $1) s,
       LATERAL (SELECT CASE WHEN GeometryType(g) = 'POINT' THEN g WHEN GeometryType(g) = 'LINESTRING' THEN ST_StartPoint(g) ELSE ST_StartPoint(ST_ExteriorRing(g)) END AS p) AS pt`,
      [i + 1],
    );
    t.true(Math.abs(stored!.x - x) < 1e-9 && Math.abs(stored!.y - y) < 1e-9, `position of feature ${i + 1}`);
    const nameKey = Object.keys(first.properties).find((k) => k.toLowerCase() === 'name');
    if (nameKey) {
      const [row] = await q<{ name: string }>(`SELECT name FROM imports.${layer} WHERE fid = $1`, [i + 1]);
      t.is(row!.name, first.properties[nameKey] as string);
    }
  });
}

test.serial('GeoJSON with Chinese property names: Huai\'an\'s outline keeps 地名 and 区划码 as columns and values', async (t) => {
  const s = await run(path.join(DATA, 'boundaries', 'huaian_320800_prefecture_wgs84.geojson'), 'huaian_outline');
  t.is(s.imported, 1);
  t.deepEqual(
    s.columns.map((c) => c.name),
    ['id', '地名', '区划码', 'name'],
  );
  const [row] = await q<Record<string, string>>(`SELECT "地名", "区划码", name FROM imports.huaian_outline`);
  t.deepEqual(row, { 地名: '淮安市', 区划码: '320800', name: 'Huaian' });
  t.is(s.warnings.length, 0, 'a Huai\'an layer wholly in Huai\'an raises no region warning');
});

test.serial('prefectures of China (47 kept of 372: Jiangsu, Anhui and the first 20) import (invalid polygons repaired with ST_MakeValid and counted)', async (t) => {
  const s = await run(path.join(DATA, 'boundaries', 'china_prefectures_wgs84.geojson'), 'china_prefectures');
  t.is(s.read, 47);
  t.is(s.imported, 47);
  t.is(s.geometry_type, 'MULTIPOLYGON');
  const [v] = await q<{ invalid: number }>(`SELECT count(*) FILTER (WHERE NOT ST_IsValid(geom))::int AS invalid FROM imports.china_prefectures`);
  t.is(v!.invalid, 0);
  const [p] = await q<{ invalid: number }>(
    `SELECT count(*)::int AS invalid FROM json_array_elements($1::json->'features') f WHERE NOT ST_IsValid(ST_GeomFromGeoJSON(f->'geometry'))`,
    [fs.readFileSync(path.join(DATA, 'boundaries', 'china_prefectures_wgs84.geojson'), 'utf8')],
  );
  t.is(s.repaired, p!.invalid, 'repaired = the features PostGIS finds invalid in the file');
});

test.serial('CGCS2000 Gauss-Kruger shapefile with a GBK DBF and no .cpg: EPSG:4549 from the ESRI .prj, within 1 m of the WGS84 original, names decoded', async (t) => {
  const s = await run(path.join(DATA, 'shapefile-encodings', 'cgcs2000_gk_cm120e_gbk', 'jiangsu_prefectures_cgcs2000_gk_cm120e.shp'), 'jiangsu_gk');
  t.is(s.imported, 13);
  t.regex(s.source_srs, /^EPSG:4549 \(.*CGCS2000.*matched by name\)$/);
  t.regex(s.encoding!, /^gbk \(detected, content: utf-8 invalid, gbk 100%/);
  await run(path.join(DATA, 'boundaries', 'china_prefectures_wgs84.geojson'), 'cn_pref_for_gk');
  // The same 13 prefectures, by code and name, as the WGS84 original says.
  const names = await q<{ code: string; gk: string; wgs: string }>(
    `SELECT g."区划码" AS code, g."地名" AS gk, w."地名" AS wgs FROM imports.jiangsu_gk g JOIN imports.cn_pref_for_gk w ON w."区划码" = g."区划码" ORDER BY 1`,
  );
  t.is(names.length, 13);
  t.true(names.every((r) => r.gk === r.wgs));
  t.true(names.some((r) => r.gk === '淮安市'));
  // Every vertex within 1 m of the original (Hausdorff distance measured in metres, in EPSG:4549).
  const [d] = await q<{ worst: number }>(
    `SELECT max(ST_HausdorffDistance(ST_Transform(g.geom, 4549), ST_Transform(w.geom, 4549))) AS worst
     FROM imports.jiangsu_gk g JOIN imports.cn_pref_for_gk w ON w."区划码" = g."区划码"`,
  );
  t.true(d!.worst < 1, `worst distance ${d!.worst} m`);
});

test.serial('GCJ-02 district shapefile (UTF-8 DBF, no .cpg, LDID 0): --srs gcj02 moves Huai\'an by the GCJ offset onto the WGS84 outline', async (t) => {
  const file = path.join(DATA, 'boundaries', 'jiangsu_districts_gcj02', 'jiangsu_district.shp');
  const raw = await run(file, 'districts_raw');
  const s = await run(file, 'districts_wgs', { srs: 'gcj02' });
  t.is(raw.imported, 97);
  t.is(s.imported, 97);
  t.regex(s.encoding!, /^utf-8 \(detected, content: utf-8 100%/);
  t.is(s.source_srs, 'GCJ-02 (--srs)');
  const names = await q<{ adcode: string; name: string }>(`SELECT adcode, name FROM imports.districts_wgs WHERE adcode LIKE '3208%' ORDER BY adcode`);
  t.deepEqual(
    names.map((r) => r.adcode),
    ['320803', '320804', '320812', '320813', '320826', '320830', '320831'],
  );
  t.true(names.some((r) => r.name === '清江浦区'));
  await run(path.join(DATA, 'boundaries', 'huaian_320800_prefecture_wgs84.geojson'), 'huaian_for_gcj');
  const [m] = await q<{ shift: number; raw: number; wgs: number }>(
    `WITH r AS (SELECT ST_Union(geom) AS g FROM imports.districts_raw WHERE adcode LIKE '3208%'),
          c AS (SELECT ST_Union(geom) AS g FROM imports.districts_wgs WHERE adcode LIKE '3208%'),
          h AS (SELECT geom AS g FROM imports.huaian_for_gcj)
     SELECT ST_Distance(ST_Centroid(r.g)::geography, ST_Centroid(c.g)::geography) AS shift,
            ST_Distance(ST_Centroid(r.g)::geography, ST_Centroid(h.g)::geography) AS raw,
            ST_Distance(ST_Centroid(c.g)::geography, ST_Centroid(h.g)::geography) AS wgs
     FROM r, c, h`,
  );
  t.true(m!.shift > 300 && m!.shift < 600, `GCJ-02 offset is 300-600 m (README); moved ${m!.shift} m`);
  t.true(m!.wgs < m!.raw, `closer to the WGS84 outline after conversion (${m!.wgs} m vs ${m!.raw} m)`);
});

test.serial('Natural Earth shapefiles: every record, .prj matched to EPSG:4326, Windows-1252 from the language driver byte', async (t) => {
  const dir = path.join(DATA, 'natural-earth', 'shapefile_110m');
  for (const shp of fs.readdirSync(dir).filter((f) => f.endsWith('.shp'))) {
    const records = (fs.statSync(path.join(dir, shp.replace(/\.shp$/, '.shx'))).size - 100) / 8;
    const s = await run(path.join(dir, shp), `ne110_${shp.replace(/^ne_110m_|\.shp$/g, '').slice(0, 40)}`);
    t.is(s.read, records, shp);
    t.is(s.imported, records, shp);
    t.regex(s.source_srs, /^EPSG:4326 /);
    // 0x57 is the writer's "ANSI" code page: the content confirms Windows-1252 (or is plain ASCII).
    t.regex(s.encoding!, /^windows-1252 \(DBF language driver 0x57 \(the writer's "ANSI" code page\)( confirmed by the content: .*windows-1252 100%.*)?\)$/);
  }
});

test.serial('mapshaper encoding cases: Big5 from .cpg, GBK from LDID 0x7A, GBK and Big5 told apart by their bytes', async (t) => {
  const dir = path.join(DATA, 'shapefile-encodings', 'mapshaper');
  // Their coordinates are not degrees (mapshaper test geometry): the importer says so instead of guessing.
  const refused = await t.throwsAsync(run(path.join(dir, 'cpg__big5.shp'), 'big5_cpg'));
  t.regex(refused!.message, /not degrees/);
  const big5 = await run(path.join(dir, 'cpg__big5.shp'), 'big5_cpg', { srs: 'EPSG:3857' });
  t.is(big5.encoding, 'big5 (cpg__big5.cpg)');
  t.deepEqual(await q(`SELECT name FROM imports.big5_cpg`), [{ name: '國語' }]);
  const ldid = await run(path.join(dir, 'ldid__chinese.shp'), 'gbk_ldid', { srs: 'EPSG:3857' });
  t.is(ldid.encoding, 'gbk (DBF language driver 0x7A)');
  t.deepEqual(await q(`SELECT name FROM imports.gbk_ldid`), [{ name: '简体' }]);
  for (const [file, text, encoding] of [
    ['gbk.dbf', '简体国语', 'gbk'],
    ['big5.dbf', '繁體國語', 'big5'],
  ] as const) {
    const dbf = await Dbf.open(path.join(dir, file), file, {});
    t.is(dbf.info.encoding, encoding, file);
    const rows = [];
    for await (const r of dbf.records()) rows.push(r.values[0]);
    await dbf.close();
    t.deepEqual(rows, [text], file);
  }
});

test.serial('GeoPackage: each feature table of countries_0 by --sublayer, counts from SQLite itself', async (t) => {
  const file = path.join(DATA, 'geopackage', 'countries_0.gpkg');
  const err = await t.throwsAsync(run(file, 'gpkg_any'));
  t.regex(err!.message, /5 feature tables: country \(506 features\).*choose one with --sublayer/);
  const SQL = await initSqlJs();
  const sqlite = new SQL.Database(fs.readFileSync(file));
  for (const table of ['state', 'country', 'land-border-country', 'geo-lines', 'country-name']) {
    const total = Number(sqlite.exec(`SELECT count(*) FROM "${table}"`)[0]!.values[0]![0]);
    const s = await run(file, `gpkg_${table.replace(/-/g, '_')}`, { sublayer: table });
    t.is(s.read, total, table);
    t.is(s.imported + s.rejected, total, table);
    // What is rejected is degenerate (e.g. Aruba's three identical points), each with its row and reason.
    t.true(s.rejected_rows.every((r) => /fewer than 4 positions|empty once repaired|empty geometry|no geometry/.test(r.reason)), table);
    t.is(s.sublayer, table);
  }
  sqlite.close();
});

test.serial('GeoPackage in EPSG:3857 (rivers.gpkg): transformed by PostGIS, the same lines in WGS84', async (t) => {
  const file = path.join(DATA, 'geopackage', 'rivers.gpkg');
  const s = await run(file, 'gpkg_rivers');
  t.is(s.imported, 357);
  t.regex(s.source_srs, /^EPSG:3857 /);
  // Compare with PostGIS reading the first blob's WKB itself (after the GeoPackage header).
  const SQL = await initSqlJs();
  const sqlite = new SQL.Database(fs.readFileSync(file));
  const blob = sqlite.exec(`SELECT geom FROM FEATURESriversds ORDER BY rowid LIMIT 1`)[0]!.values[0]![0] as Uint8Array;
  sqlite.close();
  const envelope = [0, 32, 48, 48, 64][(blob[3]! >> 1) & 7]!;
  const [d] = await q<{ d: number }>(
    `SELECT ST_HausdorffDistance(geom, ST_Transform(ST_GeomFromWKB($1, 3857), 4326)) AS d FROM imports.gpkg_rivers WHERE fid = 1`,
    [Buffer.from(blob.subarray(8 + envelope))],
  );
  t.true(d!.d < 1e-9);
});

test.serial('KML location history: placemarks without coordinates rejected by number, the others with ExtendedData and time spans', async (t) => {
  const file = path.join(DATA, 'kml', 'togeojson__addresses.kml');
  const placemarks = fs.readFileSync(file, 'utf8').split('<Placemark>').slice(1);
  const withCoords = placemarks.map((p, i) => (/<gx:coord>|<coordinates>[^<]+</.test(p) ? 0 : i + 1));
  const s = await run(file, 'kml_history', { geometry: 'mixed' }); // points and gx:Tracks in one layer
  t.is(s.read, placemarks.length);
  t.deepEqual(s.rejected_rows.map((r) => r.row), withCoords.filter(Boolean));
  t.is(s.imported, withCoords.filter((x) => x === 0).length);
  const rows = await q<{ category: string; begin: string }>(`SELECT category, begin FROM imports.kml_history ORDER BY fid`);
  t.true(rows.every((r) => r.category && /^2015-0[78]-\d\dT/.test(r.begin)));
  const styled = await run(path.join(DATA, 'kml', 'togeojson__styles.kml'), 'kml_styles');
  t.is(styled.imported, 2);
  t.false(styled.columns.some((c) => /^(stroke|fill|icon|styleurl)/.test(c.name)), 'styles are display, not data');
});

test.serial('GPX: tracks, routes and waypoints; every track point with its time', async (t) => {
  for (const [file, points] of [
    ['gpxpy__around-visnjan-with-car.gpx', 104],
    ['gpxpy__korita-zbevnica.gpx', 871],
    ['togeojson__run.gpx', 206],
  ] as const) {
    const text = fs.readFileSync(path.join(DATA, 'gpx', file), 'utf8');
    t.is((text.match(/<trkpt /g) ?? []).length, points, 'the fixture README count');
    const id = file.replace(/\W.*$/, '').replace(/^gpxpy__|^togeojson__/, '').slice(0, 20).replace(/-/g, '_');
    const s = await run(path.join(DATA, 'gpx', file), `gpx_${id}_pts`, { sublayer: 'track_points' });
    t.is(s.imported, points, file);
    const times = text.split('<trkpt ').slice(1).map((p) => /<time>([^<]+)<\/time>/.exec(p.split('</trkpt>')[0]!)?.[1] ?? null);
    const stored = await q<{ time: string }>(`SELECT time FROM imports.gpx_${id}_pts ORDER BY fid`);
    t.deepEqual(stored.map((r) => r.time), times, `${file} times`);
    const all = await run(path.join(DATA, 'gpx', file), `gpx_${id}`);
    t.is(all.read, (text.match(/<wpt /g) ?? []).length + (text.match(/<rte>/g) ?? []).length + (text.match(/<trk>/g) ?? []).length);
  }
});
