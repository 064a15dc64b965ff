import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import iconv from 'iconv-lite';
import { importFile } from '../import/index.ts';
import { DATA, importDatabase, layerChecksum, makeZip, tempDir, writeShapefile, type ImportDb } from './fixtures/import/helpers.ts';

/**
 * The shapes department files come in, made from the real data: Excel CSVs in GBK with 经度/纬度, UTF-16 TSV,
 * WKT columns with invalid and mixed geometries, GeoJSON text sequences with a BOM, KMZ, zipped shapefiles, Z and
 * M shapes, appends and re-runs.
 */
let db: ImportDb;
let dir: string;
type Place = { name: string; zh: string; lon: number; lat: number; pop: number };
let places: Place[];

test.before(async () => {
  db = await importDatabase();
  dir = tempDir();
  // Natural Earth's populated places in and around Huai'an, with their Chinese names.
  const all = JSON.parse(fs.readFileSync(path.join(DATA, 'natural-earth', 'ne_10m_populated_places.json'), 'utf8')) as {
    features: Array<{ properties: Record<string, unknown>; geometry: { coordinates: [number, number] } }>;
  };
  places = all.features
    .filter((f) => f.properties.NAME_ZH && f.geometry.coordinates[0] > 117.5 && f.geometry.coordinates[0] < 120.5 && f.geometry.coordinates[1] > 32 && f.geometry.coordinates[1] < 35)
    .map((f) => ({ name: String(f.properties.NAME), zh: String(f.properties.NAME_ZH), lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1], pop: Number(f.properties.POP_MAX) }));
});
test.after.always(async () => {
  await db?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const run = (file: string, layer: string, extra: Record<string, unknown> = {}) => importFile({ pool: db.pool, file, layer, ...extra });
const q = async <T = Record<string, unknown>>(sql: string, values: unknown[] = []) => (await db.pool.query(sql, values)).rows as T[];
const write = (name: string, data: string | Buffer) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
};

test.serial('an Excel CSV in GBK with 经度/纬度 columns: detected, decoded, typed and placed', async (t) => {
  t.true(places.length >= 3, 'places around Huai\'an in Natural Earth');
  const csv = `名称,英文名,经度,纬度,人口\r\n${places.map((p) => `${p.zh},${p.name},${p.lon},${p.lat},${p.pop}`).join('\r\n')}\r\n`;
  const s = await run(write('places-gbk.csv', iconv.encode(csv, 'gbk')), 'places_gbk');
  t.is(s.encoding, 'gbk (detected)');
  t.is(s.imported, places.length);
  t.deepEqual(
    s.columns.map((c) => [c.name, c.type]),
    [['名称', 'text'], ['英文名', 'text'], ['经度', 'double precision'], ['纬度', 'double precision'], ['人口', 'integer']],
  );
  const rows = await q<{ zh: string; pop: number; x: number; y: number }>(`SELECT "名称" AS zh, "人口" AS pop, ST_X(geom) AS x, ST_Y(geom) AS y FROM imports.places_gbk ORDER BY fid`);
  t.deepEqual(rows, places.map((p) => ({ zh: p.zh, pop: p.pop, x: p.lon, y: p.lat })));
});

test.serial('the same table as Excel "Unicode text" (UTF-16LE TSV with BOM) gives the same rows', async (t) => {
  const tsv = `名称\t英文名\t经度\t纬度\t人口\r\n${places.map((p) => `${p.zh}\t${p.name}\t${p.lon}\t${p.lat}\t${p.pop}`).join('\r\n')}\r\n`;
  const s = await run(write('places.txt', Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(tsv, 'utf-16le')])), 'places_utf16');
  t.is(s.encoding, 'utf-16le (byte order mark)');
  t.is(s.format, 'tsv');
  t.is(await layerChecksum(db.pool, 'imports.places_utf16'), await layerChecksum(db.pool, 'imports.places_gbk'));
});

test.serial('a CSV row whose longitude is text is rejected with its spreadsheet row number; the rest import', async (t) => {
  const csv = `name,lon,lat\n${places.map((p, i) => `${p.name},${i === 1 ? 'n/a' : p.lon},${p.lat}`).join('\n')}\n`;
  const s = await run(write('one-bad.csv', csv), 'one_bad');
  t.is(s.imported, places.length - 1);
  t.deepEqual(s.rejected_rows, [{ row: 3, reason: 'longitude "n/a" in column "lon" is not a number' }]);
});

test.serial('a headerless CSV with --lon/--lat given by column number', async (t) => {
  const csv = places.map((p) => `${p.name};${p.lon};${p.lat}`).join('\n');
  const s = await run(write('bare.csv', csv), 'bare', { lon: '2', lat: '3' });
  t.is(s.imported, places.length);
  t.deepEqual(s.columns.map((c) => c.name), ['field_1', 'field_2', 'field_3']);
});

test.serial('WKT column: an invalid polygon is repaired and counted, an empty cell rejected, mixed types kept or split', async (t) => {
  const csv = [
    'name;wkt',
    'square;POLYGON((119 33.5, 119.01 33.5, 119.01 33.51, 119 33.51, 119 33.5))',
    // A bow tie: self-intersecting, repaired by ST_MakeValid into two triangles.
    'bowtie;POLYGON((119.1 33.5, 119.11 33.51, 119.11 33.5, 119.1 33.51, 119.1 33.5))',
    'nothing;',
    'point;POINT(119.2 33.6)',
  ].join('\n');
  const file = write('wkt.csv', csv);
  const s = await run(file, 'wkt_mixed', { geometry: 'mixed' });
  t.is(s.imported, 3);
  t.is(s.repaired, 1);
  t.deepEqual(s.rejected_rows, [{ row: 4, reason: 'no geometry (the WKT cell is empty)' }]);
  t.is(s.geometry_type, 'GEOMETRY');
  const [bowtie] = await q<{ valid: boolean; type: string; area: number }>(`SELECT ST_IsValid(geom) AS valid, GeometryType(geom) AS type, ST_Area(geom) AS area FROM imports.wkt_mixed WHERE name = 'bowtie'`);
  t.deepEqual({ valid: bowtie!.valid, type: bowtie!.type }, { valid: true, type: 'MULTIPOLYGON' });
  t.true(Math.abs(bowtie!.area - 0.00005) < 1e-9, 'two triangles of half the square each');
  const split = await run(file, 'wkt', { geometry: 'split' });
  t.deepEqual(split.layers?.map((l) => [l.layer, l.imported, l.geometry_type]), [
    ['wkt_polygons', 2, 'MULTIPOLYGON'],
    ['wkt_points', 1, 'POINT'],
  ]);
});

test.serial('GeoJSON text sequences (RS-separated, with a UTF-8 BOM) and newline-delimited features equal the FeatureCollection', async (t) => {
  const fc = JSON.parse(fs.readFileSync(path.join(DATA, 'natural-earth', 'ne_10m_admin_1_label_points.json'), 'utf8')) as { features: unknown[] };
  const some = fc.features.slice(0, 500);
  await run(write('fc.geojson', JSON.stringify({ type: 'FeatureCollection', features: some })), 'seq_fc');
  const seq = await run(write('seq.geojsons', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(some.map((f) => `\x1e${JSON.stringify(f)}\n`).join(''))])), 'seq_rs');
  const nd = await run(write('seq.ndjson', some.map((f) => JSON.stringify(f)).join('\n')), 'seq_nd');
  t.is(seq.imported, 500);
  t.is(nd.imported, 500);
  const expected = await layerChecksum(db.pool, 'imports.seq_fc');
  t.is(await layerChecksum(db.pool, 'imports.seq_rs'), expected);
  t.is(await layerChecksum(db.pool, 'imports.seq_nd'), expected);
});

test.serial('a zipped shapefile and a KMZ read like the files inside them', async (t) => {
  const gk = path.join(DATA, 'shapefile-encodings', 'cgcs2000_gk_cm120e_gbk');
  const base = 'jiangsu_prefectures_cgcs2000_gk_cm120e';
  const zip = write('jiangsu.zip', makeZip(['shp', 'shx', 'dbf', 'prj'].map((e) => ({ name: `shape/${base}.${e}`, data: fs.readFileSync(path.join(gk, `${base}.${e}`)) }))));
  await run(path.join(gk, `${base}.shp`), 'gk_direct');
  const zipped = await run(zip, 'gk_zipped');
  t.regex(zipped.source_srs, /^EPSG:4549 /);
  t.is(await layerChecksum(db.pool, 'imports.gk_zipped'), await layerChecksum(db.pool, 'imports.gk_direct'));
  const kml = path.join(DATA, 'kml', 'togeojson__styles.kml');
  await run(kml, 'kml_direct', { geometry: 'mixed' });
  await run(write('styles.kmz', makeZip([{ name: 'doc.kml', data: fs.readFileSync(kml) }, { name: 'files/icon.png', data: Buffer.from([137, 80]) }])), 'kml_zipped', { geometry: 'mixed' });
  t.truthy(await layerChecksum(db.pool, 'imports.kml_direct'));
  t.is(await layerChecksum(db.pool, 'imports.kml_zipped'), await layerChecksum(db.pool, 'imports.kml_direct'));
});

test.serial('KML declaring encoding="gb2312" is decoded from GB2312', async (t) => {
  const text = fs.readFileSync(path.join(DATA, 'kml', 'togeojson__styles.kml'), 'utf8').replace('encoding="UTF-8"', 'encoding="gb2312"').replace('<name>Untitled Placemark</name>', '<name>淮安市政府</name>');
  const s = await run(write('gb.kml', iconv.encode(text, 'gb2312')), 'kml_gb', { geometry: 'mixed' });
  t.is(s.encoding, 'gbk (XML declaration)');
  t.deepEqual(await q(`SELECT name FROM imports.kml_gb WHERE name LIKE '淮安%'`), [{ name: '淮安市政府' }]);
});

test.serial('Z is kept (PointZ), M is dropped with a warning (PolyLineM)', async (t) => {
  const z = await run(writeShapefile(dir, 'wells', 11, [[[[119.01, 33.51, 12.5]]], [[[119.02, 33.52, -3.25]]]], ['w1', 'w2']), 'wells');
  t.is(z.geometry_type, 'POINTZ');
  t.deepEqual(await q(`SELECT name, ST_Z(geom) AS z FROM imports.wells ORDER BY fid`), [
    { name: 'w1', z: 12.5 },
    { name: 'w2', z: -3.25 },
  ]);
  const m = await run(writeShapefile(dir, 'routes', 23, [[[[119, 33.5, 0], [119.01, 33.5, 10], [119.01, 33.51, 20]]]], ['r1']), 'routes_m');
  t.is(m.geometry_type, 'LINESTRING');
  t.true(m.warnings.some((w) => /M \(measure\) values were dropped/.test(w)));
  t.deepEqual(await q(`SELECT ST_AsText(geom) AS wkt FROM imports.routes_m`), [{ wkt: 'LINESTRING(119 33.5,119.01 33.5,119.01 33.51)' }]);
});

test.serial('BD-09 coordinates are converted to WGS84: a Baidu point moves by the BD-09 offset (~1 km)', async (t) => {
  const file = write('baidu.csv', 'name,lng,lat\n淮安站,119.0330,33.6101\n');
  await run(file, 'bd_raw');
  const s = await run(file, 'bd_wgs', { srs: 'bd09' });
  t.is(s.source_srs, 'BD-09 (--srs)');
  const [d] = await q<{ m: number }>(`SELECT ST_Distance(r.geom::geography, w.geom::geography) AS m FROM imports.bd_raw r, imports.bd_wgs w`);
  t.true(d!.m > 800 && d!.m < 1500, `moved ${d!.m} m`);
});

test.serial('re-running a replace gives the same layer; an append adds after the last fid and is done once per file', async (t) => {
  const file = path.join(DATA, 'boundaries', 'huaian_320800_prefecture_wgs84.geojson');
  await run(file, 'again');
  const first = await layerChecksum(db.pool, 'imports.again');
  await run(file, 'again');
  t.is(await layerChecksum(db.pool, 'imports.again'), first);
  const more = write('more.geojson', JSON.stringify({ type: 'Feature', properties: { 地名: '洪泽湖', 面积: 2069 }, geometry: { type: 'Polygon', coordinates: [[[118.5, 33.2], [118.7, 33.2], [118.7, 33.4], [118.5, 33.2]]] } }));
  const appended = await run(more, 'again', { mode: 'append' });
  t.is(appended.imported, 1);
  t.deepEqual(await q(`SELECT fid, "地名", "面积" FROM imports.again ORDER BY fid`), [
    { fid: 1, 地名: '淮安市', 面积: null },
    { fid: 2, 地名: '洪泽湖', 面积: 2069 },
  ]);
  const twice = await run(more, 'again', { mode: 'append' });
  t.true(twice.unchanged);
  t.is((await q(`SELECT count(*)::int AS n FROM imports.again`))[0]!.n, 2);
});

test.serial('points in WGS84 load straight into the new table; a row that does not fit the first 10,000 restarts the load staged, same result', async (t) => {
  const lines = ['name,code,lon,lat'];
  for (let i = 1; i <= 12_000; i++) lines.push(`p${i},${i === 11_000 ? 'A-11000' : i},${(118.5 + (i % 100) * 0.01).toFixed(4)},${(33 + Math.floor(i / 100) * 0.005).toFixed(4)}`);
  const file = write('late-text.csv', `${lines.join('\n')}\n`);
  const direct = await run(file, 'late_direct');
  t.deepEqual(direct.columns.map((c) => [c.name, c.type]), [['name', 'text'], ['code', 'text'], ['lon', 'double precision'], ['lat', 'double precision']]);
  // An append to a layer that does not exist yet creates it through the staging table: the same rows.
  await run(file, 'late_staged', { mode: 'append' });
  t.is(await layerChecksum(db.pool, 'imports.late_direct'), await layerChecksum(db.pool, 'imports.late_staged'));
  t.deepEqual(await q(`SELECT code FROM imports.late_direct WHERE fid = 11000`), [{ code: 'A-11000' }]);
  const clean = write('clean.csv', `${lines.filter((_, i) => i !== 11_000).join('\n')}\n`);
  const typed = await run(clean, 'clean_direct');
  t.is(typed.columns.find((c) => c.name === 'code')!.type, 'integer');
  const features = Array.from({ length: 10_500 }, (_, i) => ({ type: 'Feature', properties: i === 10_400 ? { n: i, late: '新属性' } : { n: i }, geometry: { type: 'Point', coordinates: [119 + i * 1e-5, 33.5] } }));
  const gj = await run(write('late-key.geojson', JSON.stringify({ type: 'FeatureCollection', features })), 'late_key');
  t.deepEqual(gj.columns.map((c) => c.name), ['n', 'late']);
  t.deepEqual(await q(`SELECT late FROM imports.late_key WHERE late IS NOT NULL`), [{ late: '新属性' }]);
});
