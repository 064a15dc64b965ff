import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { importFile, importVehicleFile } from '../import/index.ts';
import { DATA, importDatabase, makeZip, tempDir, type ImportDb } from './fixtures/import/helpers.ts';

/**
 * Tracks and mixed geometry as real devices and map tools write them (issue 15 §4, §5): a GPX track with a
 * segment of a single fix (the real run track of test/fixtures/data with one such segment added), a train ride at
 * 150-240 km/h with one real spike, a KML gx:MultiTrack with its name in indented CDATA, a KMZ of MultiGeometry
 * polygons and a KML mixing points, lines and polygons. Fixtures are written here; oracles are what was written.
 */
let db: ImportDb;
let dir: string;
test.before(async () => {
  db = await importDatabase();
  dir = tempDir();
});
test.after.always(async () => {
  await db?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const run = (file: string, extra: Record<string, unknown>) => importFile({ pool: db.pool, file, ...extra });
const vehicle = (file: string, id: string) => importVehicleFile({ pool: db.pool, file, vehicle: id });
const q = async <T = Record<string, unknown>>(sql: string, values: unknown[] = []) => (await db.pool.query(sql, values)).rows as T[];
const write = (name: string, data: string | Buffer) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
};

test.serial('a GPX track with a one-point segment keeps the track and drops only that segment, with a warning', async (t) => {
  const text = fs.readFileSync(path.join(DATA, 'gpx', 'togeojson__run.gpx'), 'utf8');
  const points = (text.match(/<trkpt /g) ?? []).length;
  const lone = '<trkseg><trkpt lat="37.77" lon="-122.45"><time>2014-01-01T00:00:00Z</time></trkpt></trkseg>';
  const file = write('run-lone.gpx', text.replace('</trk>', `${lone}</trk>`));
  const s = await run(file, { layer: 'run_track', sublayer: 'tracks' });
  t.is(s.imported, 1);
  t.deepEqual(s.rejected_rows, []);
  t.true(s.warnings.some((w) => new RegExp(`segment 2 held a single point and was dropped; the track keeps ${points} points in 1 segment`).test(w)), s.warnings.join('\n'));
  const [row] = await q<{ n: number; type: string }>(`SELECT ST_NPoints(geom) AS n, GeometryType(geom) AS type FROM imports.run_track`);
  t.deepEqual(row, { n: points, type: 'MULTILINESTRING' });
});

/** A train leaving Huai'an eastwards: 10 s fixes at 30 km/h, then 150 → 240 km/h, one spike 4 km off the line. */
function trainRide(): { csv: string; spikeRow: number; rows: number } {
  const start = Date.parse('2026-03-02T08:00:00+08:00');
  const speeds = [...Array(6).fill(30), 150, 170, 190, 210, 230, ...Array(30).fill(240), 220, 200, 180, 160, 150];
  let [lon, lat] = [119.03, 33.6];
  const lines = ['time,lon,lat,speed'];
  let spikeRow = 0;
  speeds.forEach((v, i) => {
    lon += (v / 3.6) * 10 / (111_320 * Math.cos((lat * Math.PI) / 180));
    const spike = i === 25;
    if (spike) spikeRow = i + 2; // spreadsheet rows: the header is row 1
    const time = new Date(start + i * 10_000).toISOString();
    lines.push(`${time},${lon.toFixed(6)},${(spike ? lat + 0.036 : lat).toFixed(6)},${v}`);
  });
  return { csv: `${lines.join('\n')}\n`, spikeRow, rows: speeds.length };
}

test.serial('a train at 150-240 km/h keeps every fix; only the isolated spike out and back is a jump, reported per track', async (t) => {
  const { csv, spikeRow, rows } = trainRide();
  const s = await vehicle(write('train.csv', csv), '高铁-G1234');
  t.is(s.read, rows);
  t.is(s.jumps, 1);
  t.deepEqual(s.rejected_rows.map((r) => r.row), [spikeRow]);
  t.is(s.imported, rows - 1, 'every fix of the sustained fast motion is kept');
  t.is(s.tracks.length, 1);
  t.like(s.tracks[0], { track: 'train.csv', fixes: rows, kept: rows - 1, invalid: 0, duplicates: 0, jumps: 1 });
  t.regex(s.tracks[0]!.dropped[0]!, new RegExp(`^row ${spikeRow}: jump: implies \\d+ km/h \\(more than 180\\)$`));
});

test.serial('a GPX log of two tracks reports per track what was dropped and why', async (t) => {
  const pt = (lon: number, time: string) => `<trkpt lat="33.6" lon="${lon}"><time>${time}</time></trkpt>`;
  const gpx = `<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <trk><name>早班</name><trkseg>${pt(119.0, '2026-03-02T00:00:00Z')}${pt(119.001, '2026-03-02T00:00:30Z')}${pt(119.5, '2026-03-02T00:01:00Z')}${pt(119.002, '2026-03-02T00:01:30Z')}</trkseg></trk>
  <trk><name>晚班</name><trkseg>${pt(119.1, '2026-03-02T10:00:00Z')}${pt(119.1, '2026-03-02T10:00:00Z')}${pt(119.101, '2026-03-02T10:00:30Z')}</trkseg></trk></gpx>`;
  const s = await vehicle(write('shifts.gpx', gpx), '苏H·T0001');
  t.deepEqual(
    s.tracks.map((r) => [r.track, r.fixes, r.kept, r.jumps, r.duplicates]),
    [
      ['早班', 4, 3, 1, 0],
      ['晚班', 3, 2, 0, 1],
    ],
  );
  t.regex(s.tracks[0]!.dropped[0]!, /^row 3: jump/);
  t.regex(s.tracks[1]!.dropped[0]!, /^row 6: duplicate: same instant as row 5$/);
});

test.serial('a KML gx:MultiTrack is a MULTILINESTRING with the time of each vertex; a CDATA name is trimmed', async (t) => {
  const track = (times: string[], coords: string[]) => `<gx:Track>${times.map((w) => `<when>${w}</when>`).join('')}${coords.map((c) => `<gx:coord>${c}</gx:coord>`).join('')}</gx:Track>`;
  const kml = `<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2"><Document>
  <Placemark>
    <name><![CDATA[
        苏H12345 早班
    ]]></name>
    <gx:MultiTrack>
      ${track(['2026-03-02T00:00:00Z', '2026-03-02T00:00:10Z', '2026-03-02T00:00:20Z'], ['119.01 33.60 10', '119.02 33.61 10', '119.03 33.62 11'])}
      ${track(['2026-03-02T01:00:00Z', '2026-03-02T01:00:10Z'], ['119.05 33.60 9', '119.06 33.61 9'])}
    </gx:MultiTrack>
  </Placemark>
  <Placemark><name>  单条轨迹  </name>${track(['2026-03-02T02:00:00Z', '2026-03-02T02:00:10Z'], ['119.07 33.60', '119.08 33.61'])}</Placemark>
</Document></kml>`;
  const s = await run(write('tracks.kml', kml), { layer: 'kml_tracks' });
  t.is(s.imported, 2);
  t.is(s.geometry_type, 'MULTILINESTRINGZ');
  const rows = await q<{ name: string; parts: number; times: unknown }>(`SELECT name, ST_NumGeometries(geom) AS parts, times FROM imports.kml_tracks ORDER BY fid`);
  t.deepEqual(rows.map((r) => [r.name, r.parts]), [['苏H12345 早班', 2], ['单条轨迹', 1]]);
  t.deepEqual(rows[0]!.times, [['2026-03-02T00:00:00Z', '2026-03-02T00:00:10Z', '2026-03-02T00:00:20Z'], ['2026-03-02T01:00:00Z', '2026-03-02T01:00:10Z']]);
  t.deepEqual(rows[1]!.times, ['2026-03-02T02:00:00Z', '2026-03-02T02:00:10Z']);
});

const square = (x: number, y: number, d = 0.01) => `${x},${y} ${x + d},${y} ${x + d},${y + d} ${x},${y + d} ${x},${y}`;
const polygon = (x: number, y: number) => `<Polygon><outerBoundaryIs><LinearRing><coordinates>${square(x, y)}</coordinates></LinearRing></outerBoundaryIs></Polygon>`;
const placemark = (name: string, geometry: string) => `<Placemark><name>${name}</name>${geometry}</Placemark>`;
const kmlDoc = (body: string) => `<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>${body}</Document></kml>`;

test.serial('a KMZ of MultiGeometry polygons is a MULTIPOLYGON layer (a single polygon promoted), not GeometryCollections', async (t) => {
  const body = [
    placemark('清河片区', `<MultiGeometry>${polygon(119.0, 33.6)}${polygon(119.02, 33.6)}</MultiGeometry>`),
    placemark('清浦片区', `<MultiGeometry>${polygon(119.04, 33.6)}</MultiGeometry>`),
    placemark('淮阴片区', polygon(119.06, 33.6)),
  ].join('');
  const kmz = write('areas.kmz', makeZip([{ name: 'doc.kml', data: Buffer.from(kmlDoc(body)) }]));
  const s = await run(kmz, { layer: 'kmz_areas' });
  t.is(s.imported, 3);
  t.is(s.geometry_type, 'MULTIPOLYGON');
  t.is(s.layers, undefined, 'one kind: one layer');
  const rows = await q<{ name: string; parts: number; type: string }>(`SELECT name, ST_NumGeometries(geom) AS parts, GeometryType(geom) AS type FROM imports.kmz_areas ORDER BY fid`);
  t.deepEqual(rows, [
    { name: '清河片区', parts: 2, type: 'MULTIPOLYGON' },
    { name: '清浦片区', parts: 1, type: 'MULTIPOLYGON' },
    { name: '淮阴片区', parts: 1, type: 'MULTIPOLYGON' },
  ]);
});

test.serial('a truly mixed KML is split into one layer per geometry kind, saying so; --geometry mixed keeps one layer', async (t) => {
  const body = [
    placemark('站点', '<Point><coordinates>119.01,33.6</coordinates></Point>'),
    placemark('线路', '<LineString><coordinates>119.0,33.6 119.1,33.7</coordinates></LineString>'),
    placemark('片区', polygon(119.06, 33.6)),
    placemark('站点二', '<MultiGeometry><Point><coordinates>119.02,33.6</coordinates></Point><Point><coordinates>119.03,33.6</coordinates></Point></MultiGeometry>'),
  ].join('');
  const file = write('mixed.kml', kmlDoc(body));
  const s = await run(file, { layer: 'mixed' });
  t.deepEqual(s.layers?.map((l) => [l.layer, l.imported, l.geometry_type]), [
    ['mixed_points', 2, 'MULTIPOINT'],
    ['mixed_lines', 1, 'LINESTRING'],
    ['mixed_polygons', 1, 'POLYGON'],
  ]);
  t.true(s.warnings.some((w) => /mixes geometry kinds: split into one layer per kind .*--geometry mixed keeps one layer/.test(w)), s.warnings.join('\n'));
  const one = await run(file, { layer: 'mixed_one', geometry: 'mixed' });
  t.is(one.geometry_type, 'GEOMETRY');
  t.is(one.imported, 4);
});
