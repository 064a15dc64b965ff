import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import iconv from 'iconv-lite';
import { Column, columnName } from '../import/columns.ts';
import { parseWktTree } from '../import/crs/esri-wkt.ts';
import { proj4Params } from '../import/crs/prj.ts';
import { parseSrsOption, projectedHint } from '../import/crs/srs.ts';
import { detectEncoding, encodingOfLdid, normaliseEncoding } from '../import/encoding.ts';
import { sniffDelimiter } from '../import/formats/csv.ts';
import { CsvSplitter } from '../import/formats/csv-splitter.ts';
import { JsonScanner, type ScanEvent } from '../import/formats/json-scanner.ts';
import { cleanGeometry } from '../import/geometry/clean.ts';
import { toHexEwkb } from '../import/geometry/ewkb.ts';
import { readWkb } from '../import/geometry/wkb.ts';
import { parseWkt, WktError } from '../import/geometry/wkt.ts';
import { cleanFixes, haversine, type Fix } from '../import/vehicles/clean.ts';
import { detectStops, detectTrips } from '../import/vehicles/staypoints.ts';
import { readJt808Log } from '../import/vehicles/jt808.ts';
import { parseFixTime } from '../import/vehicles/time.ts';
import { DATA } from './fixtures/import/helpers.ts';

/** Pure parts of the import pipeline, no database: encodings, names, types, WKT/WKB, JSON streaming, times, fixes. */

test('encodings: valid UTF-8 is UTF-8; GBK and Big5 bytes are told apart; plain ASCII is UTF-8', (t) => {
  const dbf = (f: string) => {
    const b = fs.readFileSync(path.join(DATA, 'shapefile-encodings', 'mapshaper', f));
    return b.subarray(b.readUInt16LE(8) + 1, b.length - 1);
  };
  t.is(detectEncoding(dbf('gbk.dbf')).encoding, 'gbk');
  t.is(detectEncoding(dbf('big5.dbf')).encoding, 'big5');
  t.is(detectEncoding(Buffer.from('淮安市清江浦区', 'utf8')).encoding, 'utf-8');
  t.is(detectEncoding(iconv.encode('淮安市清江浦区人民政府', 'gbk')).encoding, 'gbk');
  t.is(detectEncoding(iconv.encode('臺北市政府', 'big5')).encoding, 'big5');
  t.deepEqual(detectEncoding(Buffer.from('Huaian')), { encoding: 'utf-8', ascii: true });
  // A sample cut inside a multi-byte character is still UTF-8.
  t.is(detectEncoding(Buffer.from('淮安', 'utf8').subarray(0, 5)).encoding, 'utf-8');
});

test('encoding names from .cpg files and options; DBF language driver ids', (t) => {
  t.is(normaliseEncoding('936', 'x.cpg'), 'gbk');
  t.is(normaliseEncoding(' Big-5 ', 'x.cpg'), 'big5');
  t.is(normaliseEncoding('UTF-8', 'x.cpg'), 'utf-8');
  t.is(normaliseEncoding('GB2312', 'x.cpg'), 'gbk');
  t.is(normaliseEncoding('88591', 'x.cpg'), 'iso-8859-1');
  t.throws(() => normaliseEncoding('klingon', 'x.cpg'), { message: /unknown encoding "klingon" \(x\.cpg\)/ });
  t.is(encodingOfLdid(0x7a), 'gbk');
  t.is(encodingOfLdid(0x4d), 'gbk');
  t.is(encodingOfLdid(0x78), 'big5');
  t.is(encodingOfLdid(0x57), 'windows-1252');
  t.is(encodingOfLdid(0), null);
});

test('column names: lower-case ASCII, Chinese kept, ours reserved, unique, at most 63 bytes', (t) => {
  const taken = new Set<string>();
  t.is(columnName('NAME', taken), 'name');
  t.is(columnName('name', taken), 'name_1');
  t.is(columnName('区划码', taken), '区划码');
  t.is(columnName('fid', taken), 'fid_1');
  t.is(columnName('geom', taken), 'geom_1');
  t.is(columnName('Pop. 2020 (人)', taken), 'pop_2020_人_');
  t.is(columnName('', taken), 'field');
  const long = columnName('很'.repeat(40), taken);
  t.true(Buffer.byteLength(long) <= 63);
  t.is(long, '很'.repeat(21));
});

test('column types widen as values arrive and never lose data', (t) => {
  const kind = (values: unknown[], fromText = false) => {
    const c = new Column('x', 'x', fromText);
    for (const v of values) c.observe(v);
    return c.type;
  };
  t.is(kind(['12', '-3'], true), 'integer');
  t.is(kind(['12', '3000000000'], true), 'bigint');
  t.is(kind(['12', '1.5e3'], true), 'double precision');
  t.is(kind(['0517', '12'], true), 'text', 'a leading zero is data');
  t.is(kind(['12', 'abc'], true), 'text');
  t.is(kind(['12', ''], true), 'integer', 'empty CSV cells are NULL');
  t.is(kind([12, 'twelve']), 'text');
  t.is(kind(['12']), 'text', 'a JSON string stays a string');
  t.is(kind([true, false]), 'boolean');
  t.is(kind([{ a: 1 }, 'x']), 'jsonb');
  t.is(kind([null, undefined]), 'text');
  t.is(new Column('d', 'd', false, 'date').observe('2020-01-31'), '2020-01-31');
});

test('WKT: every type, Z/M/ZM, EMPTY, both MULTIPOINT forms, EWKT SRID; errors say where', (t) => {
  t.deepEqual(parseWkt('POINT (119 33.5)'), { geometry: { type: 'Point', coordinates: [119, 33.5] }, ordinates: { z: false, m: false }, srid: null });
  t.deepEqual(parseWkt('SRID=4549;POINT Z (408613 3720871 12)').srid, 4549);
  t.deepEqual(parseWkt('POINT Z (1 2 3)').ordinates, { z: true, m: false });
  t.deepEqual(parseWkt('POINTM(1 2 3)').ordinates, { z: false, m: true });
  t.deepEqual(parseWkt('LINESTRING ZM (1 2 3 4, 5 6 7 8)').ordinates, { z: true, m: true });
  t.deepEqual(parseWkt('MULTIPOINT ((1 2), (3 4))').geometry, parseWkt('MULTIPOINT (1 2, 3 4)').geometry);
  t.deepEqual(parseWkt('polygon EMPTY').geometry, { type: 'Polygon', coordinates: [] });
  t.deepEqual(parseWkt('GEOMETRYCOLLECTION (POINT (1 2), LINESTRING (0 0, 1 1))').geometry, {
    type: 'GeometryCollection',
    geometries: [
      { type: 'Point', coordinates: [1, 2] },
      { type: 'LineString', coordinates: [[0, 0], [1, 1]] },
    ],
  });
  t.throws(() => parseWkt('POINT (1 x)'), { instanceOf: WktError, message: /"x" is not a number/ });
  t.throws(() => parseWkt('CIRCLE (1 2)'), { message: /unknown WKT geometry type "CIRCLE"/ });
  t.throws(() => parseWkt('POINT (1 2'), { message: /ends too early/ });
});

test('EWKB out is what PostGIS writes; WKB in reads ISO and EWKB Z', (t) => {
  // SELECT ST_AsEWKB('SRID=4326;POINT(1 2)')
  t.is(toHexEwkb({ type: 'Point', coordinates: [1, 2] }, false, 4326), '0101000020e6100000000000000000f03f0000000000000040');
  const z = Buffer.from(toHexEwkb({ type: 'LineString', coordinates: [[1, 2, 3], [4, 5, 6]] }, true, 4326), 'hex');
  t.deepEqual(readWkb(z), { geometry: { type: 'LineString', coordinates: [[1, 2, 3], [4, 5, 6]] }, ordinates: { z: true, m: false } });
  // ISO WKB POINT Z (1 2 3): type 1001.
  const iso = Buffer.alloc(29);
  iso[0] = 1;
  iso.writeUInt32LE(1001, 1);
  [1, 2, 3].forEach((v, i) => iso.writeDoubleLE(v, 5 + i * 8));
  t.deepEqual(readWkb(iso), { geometry: { type: 'Point', coordinates: [1, 2, 3] }, ordinates: { z: true, m: false } });
  t.throws(() => readWkb(iso.subarray(0, 20)), { message: /truncated/ });
});

test('geometry cleaning: rings closed, degenerate holes dropped, rounding noise at 180° clamped, real excursions rejected', (t) => {
  const opts = { ordinates: 'auto' as const, geographic: true };
  const open = cleanGeometry({ type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1]], [[0.1, 0.1], [0.2, 0.1], [0.1, 0.1]]] }, opts);
  t.deepEqual(open, { ok: true, geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] }, hasZ: false, droppedM: false, fixed: true, bbox: [0, 0, 1, 1] });
  t.deepEqual(cleanGeometry({ type: 'Point', coordinates: [180.00000000000006, 10] }, opts), { ok: true, geometry: { type: 'Point', coordinates: [180, 10] }, hasZ: false, droppedM: false, fixed: false, bbox: [180, 10, 180, 10] });
  t.deepEqual(cleanGeometry({ type: 'Point', coordinates: [181, 10] }, opts), { ok: false, reason: 'longitude 181 is outside -180..180' });
  t.deepEqual(cleanGeometry({ type: 'LineString', coordinates: [[0, 0]] }, opts), { ok: false, reason: 'line has fewer than 2 positions' });
  t.deepEqual(cleanGeometry({ type: 'MultiPoint', coordinates: [] }, opts), { ok: false, reason: 'empty geometry' });
  t.deepEqual(cleanGeometry(null, opts), { ok: false, reason: 'no geometry' });
  const m = cleanGeometry({ type: 'Point', coordinates: [1, 2, 7] }, { ordinates: { z: false, m: true }, geographic: false });
  t.like(m, { ok: true, geometry: { type: 'Point', coordinates: [1, 2] }, droppedM: true });
});

test('the JSON scanner gives the same pieces wherever the text is cut into chunks', (t) => {
  const text = '\uFEFF{"type":"FeatureCollection","name":"a\\"b{[","features":[{"type":"Feature","properties":{"s":"}]\\\\"},"geometry":null}, null ,{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1,2]}}],"crs":{"x":[1]}}';
  const whole = new JsonScanner();
  const expected = whole.push(text);
  whole.end();
  t.deepEqual(expected.map((e) => e.kind), ['member', 'member', 'feature', 'feature', 'feature', 'member']);
  t.is((expected[2] as { text: string }).text, '{"type":"Feature","properties":{"s":"}]\\\\"},"geometry":null}');
  for (let cut = 1; cut < text.length; cut += 3) {
    const s = new JsonScanner();
    const got: ScanEvent[] = [...s.push(text.slice(0, cut)), ...s.push(text.slice(cut))];
    s.end();
    t.deepEqual(got.map((e) => ('text' in e ? e.text : '')), expected.map((e) => ('text' in e ? e.text : '')), `cut at ${cut}`);
  }
  const cutOff = new JsonScanner();
  cutOff.push(text.slice(0, 80));
  t.throws(() => cutOff.end(), { message: /ends in the middle of the features array/ });
});

test('CSV delimiters are found from the first lines', (t) => {
  t.is(sniffDelimiter('a,b,c\n1,2,3\n', false), ',');
  t.is(sniffDelimiter('a;b;c\n"1,5";2;3\n', false), ';');
  t.is(sniffDelimiter('a\tb\n1\t2\n', false), '\t');
  t.is(sniffDelimiter('a|b\n1|2\n', false), '|');
  t.is(sniffDelimiter('single\n1\n', true), '\t');
});

test('--srs and hints for coordinates that are not degrees', (t) => {
  t.like(parseSrsOption('EPSG:4549'), { srid: 4549, offset: null, label: 'EPSG:4549' });
  t.like(parseSrsOption('gcj02'), { srid: 4326, offset: 'gcj02', label: 'GCJ-02' });
  t.like(parseSrsOption('BD09'), { srid: 4326, offset: 'bd09', label: 'BD-09' });
  t.throws(() => parseSrsOption('EPSG:abc'), { message: /not understood/ });
  t.regex(projectedHint(408613, 3720871), /look like projected metres, not degrees; pass --srs EPSG:4549\?/);
  t.regex(projectedHint(40408613, 3720871), /pass --srs EPSG:4528\? \(CGCS2000 3-degree Gauss-Kruger zone 40\)/);
  t.regex(projectedHint(13247000, 3980000), /pass --srs EPSG:3857\?/);
  t.regex(projectedHint(33.6, 119.0), /latitude and longitude swapped/);
});

test('ESRI WKT is read as a tree; proj4 text as parameters (UTM as transverse Mercator)', (t) => {
  const tree = parseWktTree(fs.readFileSync(path.join(DATA, 'shapefile-encodings', 'cgcs2000_gk_cm120e_gbk', 'jiangsu_prefectures_cgcs2000_gk_cm120e.prj'), 'utf8'));
  t.is(tree.keyword, 'PROJCS');
  t.is(tree.values[0], 'CGCS2000_3_Degree_GK_CM_120E');
  t.like(proj4Params('+proj=utm +zone=50 +datum=WGS84 +units=m +no_defs'), { proj: 'tmerc', lon_0: 117, k: 0.9996, x_0: 500000, y_0: 0, a: 6378137 });
  t.like(proj4Params('+proj=tmerc +lat_0=0 +lon_0=120 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs'), { lon_0: 120, rf: 298.257222101 });
  t.throws(() => parseWktTree('PROJCS["x",'), { message: /unexpected end/ });
});

test('fix times: naive times in the configured zone, ISO with zones and epochs as they are', (t) => {
  t.is(parseFixTime('2014-10-22 23:39:17', 'Asia/Shanghai'), Date.parse('2014-10-22T15:39:17Z'));
  t.is(parseFixTime('2014/10/22 23:39:17.5', 'Asia/Shanghai'), Date.parse('2014-10-22T15:39:17.500Z'));
  t.is(parseFixTime('2020-12-18T06:15:50Z', 'Asia/Shanghai'), Date.parse('2020-12-18T06:15:50Z'));
  t.is(parseFixTime('2020-12-18 14:15:50+0800', 'UTC'), Date.parse('2020-12-18T06:15:50Z'));
  t.is(parseFixTime('1414000000', 'UTC'), 1414000000000);
  t.is(parseFixTime('1414000000123', 'UTC'), 1414000000123);
  // A zone with daylight saving: the wall clock is read in the offset of its own date.
  t.is(parseFixTime('2020-07-01 12:00:00', 'Europe/Berlin'), Date.parse('2020-07-01T10:00:00Z'));
  t.is(parseFixTime('2020-01-01 12:00:00', 'Europe/Berlin'), Date.parse('2020-01-01T11:00:00Z'));
  t.is(parseFixTime('2020-13-01 12:00:00', 'UTC'), null);
  t.is(parseFixTime('yesterday', 'UTC'), null);
});

const fix = (row: number, seconds: number, lon: number, lat: number): Fix => ({ row, time: Date.UTC(2024, 0, 1) + seconds * 1000, lon, lat });

test('jump filter: a spike out and back is dropped, a relocation after a gap is kept, a bad first fix does not sink the rest', (t) => {
  const raw = (fixes: Fix[]) => fixes.map((f) => ({ ...f }));
  const spike = cleanFixes(raw([fix(1, 0, 119, 33.5), fix(2, 30, 119.5, 33.5), fix(3, 60, 119.001, 33.5)]), { maxSpeedKmh: 180 });
  t.deepEqual(spike.fixes.map((f) => f.row), [1, 3]);
  t.deepEqual(spike.jumps.map((j) => j.row), [2]);
  const moved = cleanFixes(raw([fix(1, 0, 119, 33.5), fix(2, 30, 119.001, 33.5), fix(3, 60, 119.5, 33.5), fix(4, 90, 119.501, 33.5)]), { maxSpeedKmh: 180 });
  t.deepEqual(moved.fixes.map((f) => f.row), [1, 2, 3, 4], 'consistent after the jump: the vehicle was carried, or fixes were missing');
  const first = cleanFixes(raw([fix(1, 0, 121, 33.5), fix(2, 30, 119, 33.5), fix(3, 60, 119.001, 33.5), fix(4, 90, 119.002, 33.5)]), { maxSpeedKmh: 180 });
  t.deepEqual(first.fixes.map((f) => f.row), [2, 3, 4]);
});

test('stay points: within 200 m for 180 s is a stop; trips between stops, split at long gaps, at least 200 m long', (t) => {
  // 10 minutes parked, 10 minutes driving east at ~36 km/h, 10 minutes parked.
  const fixes: Fix[] = [];
  let row = 0;
  for (let s = 0; s <= 600; s += 60) fixes.push(fix(++row, s, 119, 33.5 + (s % 120 === 0 ? 0 : 0.0002)));
  for (let s = 660; s <= 1200; s += 60) fixes.push(fix(++row, s, 119 + (s - 600) * 0.0001, 33.5));
  for (let s = 1260; s <= 1800; s += 60) fixes.push(fix(++row, s, 119.06, 33.5));
  const opts = { radiusM: 200, minSeconds: 180 };
  const stops = detectStops(fixes, opts);
  t.deepEqual(stops.map((s) => [(s.arrive - fixes[0]!.time) / 1000, (s.leave - fixes[0]!.time) / 1000]), [
    [0, 600],
    [1200, 1800],
  ]);
  const trips = detectTrips(fixes, stops, opts);
  t.is(trips.length, 1);
  t.is((trips[0]!.start - fixes[0]!.time) / 1000, 600);
  t.is((trips[0]!.end - fixes[0]!.time) / 1000, 1200);
  t.true(Math.abs(trips[0]!.distanceM - haversine({ lon: 119, lat: 33.5 }, { lon: 119.06, lat: 33.5 })) < 1);
  // A two-hour hole in a drive splits it into two trips.
  const gap = [fix(1, 0, 119, 33.5), fix(2, 60, 119.01, 33.5), fix(3, 7260, 119.03, 33.5), fix(4, 7320, 119.04, 33.5)];
  t.is(detectTrips(gap, [], opts).length, 2);
});

test('CSV records: quotes, doubled quotes, delimiters and line breaks inside quotes, CRLF, wherever the chunks are cut', (t) => {
  const text = 'a,b,c\r\n1,"x, ""y""",3\r\n\r\n2,"two\nlines",4\n5,plain "q" mid,6';
  const expected = [
    ['a', 'b', 'c'],
    ['1', 'x, "y"', '3'],
    ['2', 'two\nlines', '4'],
    ['5', 'plain "q" mid', '6'],
  ];
  for (let cut = 0; cut <= text.length; cut++) {
    const s = new CsvSplitter(',');
    t.deepEqual([...s.push(text.slice(0, cut)), ...s.push(text.slice(cut)), ...s.end()], expected, `cut at ${cut}`);
  }
  const open = new CsvSplitter(',');
  open.push('a,b\n1,"never closed\n');
  t.throws(() => open.end(), { message: /never closed \(Quote Not Closed\)/ });
});

test('JT/T 808 frames: escaping undone, checksums checked, hemispheres from the status bits', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jt808-'));
  const good = '7E0200002F01357888888800B60000000000000003015972B406CBF6B802230000000116061317571301040000000003020000EB0700050001016708B37E';
  const flipped = good.replace('015972B4', '015972B5');
  // The same report with status bits 2 and 3 set (south, west): checksum recomputed.
  const bytes = Buffer.from(good.slice(2, -2), 'hex');
  bytes[12 + 7] = 0x0f;
  bytes[bytes.length - 1] = bytes.subarray(0, -1).reduce((x, b) => x ^ b, 0);
  const escaped = [...bytes].flatMap((b) => (b === 0x7d ? [0x7d, 0x01] : b === 0x7e ? [0x7d, 0x02] : [b]));
  const southWest = `7e${Buffer.from(escaped).toString('hex')}7e`;
  const file = path.join(dir, 'log.txt');
  fs.writeFileSync(file, `${good}\n${flipped}\n${southWest}\n`);
  const log = readJt808Log({ path: file, name: 'log.txt' }, { timezone: 'Asia/Shanghai' });
  t.like(log.fixes[0], { row: 1, lat: 22.639284, lon: 114.030264, time: Date.parse('2016-06-13T09:57:13Z'), speedKmh: 0, course: 1, altitudeM: 547, problem: undefined });
  t.regex(log.fixes[1]!.problem!, /checksum .* does not match/);
  t.like(log.fixes[2], { lat: -22.639284, lon: -114.030264 });
  fs.rmSync(dir, { recursive: true });
});
