import fs from 'node:fs';
import test from 'ava';
import { importFile } from '../import/index.ts';
import { likelyCrs } from '../import/crs/check.ts';
import { importDatabase, tempDir, writeShapes, type ImportDb } from './fixtures/import/helpers.ts';

/**
 * A .prj that does not match the coordinates (issue 15 §3). The fixture is a township file as a district sends it:
 * 73 polygons around Huai'an in CGCS2000 / 3-degree Gauss-Kruger CM 120E metres (made by PostGIS from a lon/lat
 * grid), with a .prj claiming geographic Xian 1980, and variants with the zone prefix and in degrees. The oracle
 * is where the grid was made: Huai'an.
 */
let db: ImportDb;
let dir: string;
const XIAN_1980 =
  'GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]';
const GK_CM_120E =
  'PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]';
/** 73 squares of 0.02° west to east, north to south from (118.9, 33.7), as [lon, lat] rings. */
const squares = Array.from({ length: 73 }, (_v, i) => {
  const [x, y] = [118.9 + (i % 10) * 0.02, 33.7 - Math.floor(i / 10) * 0.02];
  return [[x, y], [x, y + 0.02], [x + 0.02, y + 0.02], [x + 0.02, y], [x, y]];
});
const names = squares.map((_s, i) => `第${i + 1}村`);
let gk: number[][][]; // the same squares in EPSG:4549 metres

test.before(async () => {
  db = await importDatabase();
  dir = tempDir();
  const { rows } = await db.pool.query<{ ring: number[][] }>(
    `SELECT (SELECT array_agg(ARRAY[ST_X(p.geom), ST_Y(p.geom)] ORDER BY p.path) FROM ST_DumpPoints(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(r), 4326), 4549)) AS p) AS ring
     FROM unnest($1::text[]) WITH ORDINALITY AS u(r, i) ORDER BY i`,
    [squares.map((ring) => JSON.stringify({ type: 'LineString', coordinates: ring }))],
  );
  gk = rows.map((r) => r.ring);
});
test.after.always(async () => {
  await db?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const run = (file: string, layer: string, extra: Record<string, unknown> = {}) => importFile({ pool: db.pool, file, layer, ...extra });
const townships = (name: string, rings: number[][][], prj: string) =>
  writeShapes(dir, name, { type: 5, shapes: rings.map((r) => [r]), fields: [{ name: '名称', values: names }], encoding: 'gbk', ldid: 0x4d, prj });
const exists = async (table: string) => (await db.pool.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [table])).rows[0].e as boolean;

test.serial('a .prj saying Xian 1980 degrees over projected metres is refused, naming the likely CRS and --srs; nothing is written', async (t) => {
  const file = townships('xian_lie', gk, XIAN_1980);
  const err = await t.throwsAsync(run(file, 'townships'));
  t.regex(err!.message, /Xian 1980|EPSG:4610/);
  t.regex(err!.message, /projected metres/);
  t.regex(err!.message, /--srs EPSG:4549/);
  t.false(await exists('imports.townships'));
  // Told the CRS, the same file lands where it was made.
  const s = await run(file, 'townships', { srs: 'EPSG:4549' });
  t.is(s.imported, 73);
  const [box] = (await db.pool.query(`SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n FROM (SELECT ST_Extent(geom)::geometry AS e FROM imports.townships) x`)).rows;
  t.true(Math.abs(box.w - 118.9) < 1e-6 && Math.abs(box.n - 33.72) < 1e-6, JSON.stringify(box));
});

test.serial('Gauss-Kruger metres with the zone prefix under a .prj without it (CM 120E) are refused: outside the zone, named as zone 40', async (t) => {
  const prefixed = gk.map((ring) => ring.map(([x, y]) => [x! + 40_000_000, y!]));
  const err = await t.throwsAsync(run(townships('prefixed', prefixed, GK_CM_120E), 'prefixed'));
  t.regex(err!.message, /EPSG:4549/);
  t.regex(err!.message, /zone 40/);
  t.regex(err!.message, /--srs EPSG:4528/);
  t.false(await exists('imports.prefixed'));
});

test.serial('degrees under a projected .prj are refused with the hint that they are degrees', async (t) => {
  const err = await t.throwsAsync(run(townships('degrees', squares, GK_CM_120E), 'degrees'));
  t.regex(err!.message, /degrees/);
  t.regex(err!.message, /--srs EPSG:4326/);
  t.false(await exists('imports.degrees'));
});

test.serial('the matching .prj passes the check and places the file in Huai\'an', async (t) => {
  const s = await run(townships('honest', gk, GK_CM_120E), 'honest');
  t.is(s.imported, 73);
  t.regex(s.source_srs, /^EPSG:4549/);
  t.deepEqual(s.warnings, []);
});

test('likely CRS from the magnitudes of coordinates', (t) => {
  t.regex(likelyCrs(408613, 3720871), /EPSG:4549/);
  t.regex(likelyCrs(40408613, 3720871), /EPSG:4528.*zone 40/);
  t.regex(likelyCrs(20408613, 3720871), /EPSG:4498.*zone 20/);
  t.regex(likelyCrs(13250000, 3990000), /EPSG:3857/);
  t.regex(likelyCrs(119.02, 33.6), /degrees.*EPSG:4326/);
});
