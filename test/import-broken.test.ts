import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { ImportError, importFile } from '../import/index.ts';
import { buildCorpus, type BrokenCase } from './fixtures/import/corpus.ts';
import { DATA, importDatabase, layerChecksum, tempDir, type ImportDb } from './fixtures/import/helpers.ts';

/**
 * The broken-input corpus: each file gives a clear error naming the problem, and changes nothing — the layer it
 * was meant to replace keeps its rows, its definition and its history; no table is left behind.
 */
let db: ImportDb;
let dir: string;
let corpus: BrokenCase[];
let before: { checksum: string | null; definition: unknown; log: number; tables: string[] };

async function state() {
  const q = (sql: string) => db.pool.query(sql).then((r) => r.rows);
  return {
    checksum: await layerChecksum(db.pool, 'imports.target'),
    definition: (await q(`SELECT definition, updated_at FROM citybase.layer_definitions WHERE id = 'target'`))[0],
    log: (await q(`SELECT count(*)::int AS n FROM citybase.import_log`))[0].n as number,
    tables: (await q(`SELECT tablename FROM pg_tables WHERE schemaname = 'imports' ORDER BY 1`)).map((r) => r.tablename as string),
  };
}

test.before(async () => {
  db = await importDatabase();
  dir = tempDir();
  // The layer every broken file tries to replace: Jiangsu's prefectures, from the real GBK shapefile.
  await importFile({ pool: db.pool, layer: 'target', file: path.join(DATA, 'shapefile-encodings', 'cgcs2000_gk_cm120e_gbk', 'jiangsu_prefectures_cgcs2000_gk_cm120e.shp') });
  before = await state();
  corpus = buildCorpus(dir);
});
test.after.always(async () => {
  await db?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the corpus has at least 25 broken inputs', (t) => {
  t.true(corpus.length >= 25, `${corpus.length} cases`);
});

test.serial('every broken input is refused with a clear message, and the layer stays exactly as it was', async (t) => {
  t.is(before.checksum !== null, true);
  for (const c of corpus) {
    const err = await t.throwsAsync(importFile({ pool: db.pool, layer: 'target', file: c.file, ...c.options }), undefined, c.name);
    t.true(err instanceof ImportError, `${c.name}: an ImportError, not ${err?.constructor.name}: ${err?.message}`);
    t.regex(err!.message, c.expect, c.name);
    t.deepEqual(await state(), before, `${c.name}: nothing changed`);
  }
  t.false(fs.existsSync(path.join(dir, '..', 'escaped.csv')), 'nothing was written outside the unzip directory');
});

test.serial('a department cannot replace or append to another department\'s layer', async (t) => {
  const file = path.join(DATA, 'boundaries', 'huaian_320800_prefecture_wgs84.geojson');
  for (const mode of ['replace', 'append'] as const) {
    const err = await t.throwsAsync(importFile({ pool: db.pool, layer: 'target', file, owner: 'rfb', mode }));
    t.regex(err!.message, /layer "target" belongs to department dsj/);
  }
  t.deepEqual(await state(), before);
});

test.serial('a layers/ id cannot be taken by an import', async (t) => {
  const layersDir = tempDir();
  fs.writeFileSync(path.join(layersDir, 'roads.json'), '{}');
  const err = await t.throwsAsync(
    importFile({ pool: db.pool, layer: 'roads', layersDir, file: path.join(DATA, 'boundaries', 'huaian_320800_prefecture_wgs84.geojson') }),
  );
  t.regex(err!.message, /layer "roads" is defined in .*roads\.json; choose another --layer/);
  fs.rmSync(layersDir, { recursive: true });
});

test.serial('appending a file whose types do not fit the layer fails whole: no row of it is kept', async (t) => {
  const file = path.join(dir, 'points.csv');
  fs.writeFileSync(file, 'name,lon,lat\na,119,33.5\n');
  const err = await t.throwsAsync(importFile({ pool: db.pool, layer: 'target', file, mode: 'append' }));
  t.regex(err!.message, /layer "target" holds MULTIPOLYGON geometries; this file has POINT: use --mode replace/);
  const text = path.join(dir, 'text-into-number.geojson');
  fs.writeFileSync(text, JSON.stringify({ type: 'Feature', properties: { id: 'not a number' }, geometry: { type: 'Polygon', coordinates: [[[119, 33], [119.1, 33], [119.1, 33.1], [119, 33]]] } }));
  await importFile({ pool: db.pool, layer: 'typed', file: path.join(DATA, 'boundaries', 'huaian_320800_prefecture_wgs84.geojson') });
  const typed = await layerChecksum(db.pool, 'imports.typed');
  await db.pool.query(`ALTER TABLE imports.typed ALTER COLUMN id TYPE integer USING id::integer`);
  const typedNow = await layerChecksum(db.pool, 'imports.typed');
  const err2 = await t.throwsAsync(importFile({ pool: db.pool, layer: 'typed', file: text, mode: 'append' }));
  t.regex(err2!.message, /do not fit layer "typed"'s columns/);
  t.is(await layerChecksum(db.pool, 'imports.typed'), typedNow);
  t.not(typed, null);
  t.deepEqual(await state(), { ...before, log: before.log + 1, tables: [...before.tables, 'typed'].sort() });
});
