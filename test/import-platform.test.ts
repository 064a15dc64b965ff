import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { decodeTile, tileOf } from './helpers/mvt.ts';
import { binary, eventually, OPS, root, startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { DATA, layerChecksum, makeZip, tempDir } from './fixtures/import/helpers.ts';

/**
 * The import pipeline inside the platform: the HTTP API (keys, rights, 413, jobs), imported layers published at
 * once as registry layers with tiles, TileJSON and catalog entries, tile caches evicted by a replace, the CLI
 * (exit codes, --json) and imports killed or cut off mid-COPY leaving the layer exactly as it was.
 */
let p: TestPlatform;
let dir: string;
let importKey: string;
let readKey: string;
let otherKey: string;

const GK = path.join(DATA, 'shapefile-encodings', 'cgcs2000_gk_cm120e_gbk');
const GK_BASE = 'jiangsu_prefectures_cgcs2000_gk_cm120e';
const gkZip = () => makeZip(['shp', 'shx', 'dbf', 'prj'].map((e) => ({ name: `${GK_BASE}.${e}`, data: fs.readFileSync(path.join(GK, `${GK_BASE}.${e}`)) })));

test.before(async () => {
  p = await startTestPlatform({ IMPORT_MAX_MB: '1' });
  dir = tempDir();
  importKey = (await p.platform.keys.create('dsj', 'import test', ['read', 'import'])).key;
  readKey = (await p.platform.keys.create('dsj', 'read only')).key;
  otherKey = (await p.platform.keys.create('rfb', 'other department', ['read', 'import'])).key;
});
test.after.always(async () => {
  await p?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

async function submit(file: Buffer, name: string, fields: Record<string, string>, key = importKey) {
  let req = p.http.post('/api/imports').set(auth(key));
  for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
  return req.attach('file', file, name);
}

async function finished(id: number, key = importKey): Promise<Record<string, any>> {
  return eventually(async () => {
    const res = await p.http.get(`/api/imports/${id}`).set(auth(key));
    return res.body.status === 'succeeded' || res.body.status === 'failed' ? res.body : undefined;
  }, 30_000);
}

const tile = (layer: string, z: number, x: number, y: number, key = importKey) =>
  p.http.get(`/tiles/${layer}/${z}/${x}/${y}.mvt`).set({ ...auth(key), 'Accept-Encoding': 'identity' }).buffer(true).parse(binary);

test.serial('POST /api/imports needs a key with the import right, a file, known fields, and a size within IMPORT_MAX_MB', async (t) => {
  const csv = Buffer.from('name,lon,lat\na,119,33.5\n');
  const anonymous = await p.http.post('/api/imports').field('layer', 'x').attach('file', csv, 'a.csv');
  t.is(anonymous.status, 401);
  t.is(anonymous.body.error, 'unauthorized');
  const readOnly = await submit(csv, 'a.csv', { layer: 'x' }, readKey);
  t.is(readOnly.status, 403);
  t.regex(readOnly.body.message, /--rights layer:read,layer:import/);
  const noFile = await p.http.post('/api/imports').set(auth(importKey)).field('layer', 'x');
  t.is(noFile.status, 400);
  const unknown = await submit(csv, 'a.csv', { layer: 'x', colour: 'red' });
  t.is(unknown.status, 400);
  t.regex(unknown.body.message, /unknown fields: colour/);
  const badId = await submit(csv, 'a.csv', { layer: 'Bad Id' });
  t.is(badId.status, 400);
  const big = await submit(Buffer.alloc(Math.round(1.5 * 2 ** 20), 0x20), 'big.csv', { layer: 'big' });
  t.is(big.status, 413);
  t.deepEqual(big.body, { error: 'payload_too_large', message: 'the upload is larger than 1 MB (IMPORT_MAX_MB)' });
  const jobs = await p.sql.query(`SELECT count(*)::int AS n FROM citybase.import_jobs`);
  t.is(jobs.rows[0].n, 0, 'no job for a refused upload');
});

test.serial('an uploaded zipped shapefile becomes a layer owned by the department, with tiles and TileJSON, as soon as its job succeeds', async (t) => {
  const res = await submit(gkZip(), 'jiangsu.zip', { layer: 'jiangsu', title: '江苏省地级市', theme: 'planning' });
  t.is(res.status, 202);
  t.is(res.headers.location, `/api/imports/${res.body.id}`);
  const job = await finished(res.body.id);
  t.is(job.status, 'succeeded', job.error ?? '');
  t.is(job.summary.imported, 13);
  t.regex(job.summary.source_srs, /^EPSG:4549/);
  t.regex(job.summary.encoding, /^gbk \(detected, content: /);
  t.deepEqual(job.rejected, []);
  // Another department cannot read the job.
  t.is((await p.http.get(`/api/imports/${res.body.id}`).set(auth(otherKey))).status, 404);
  // Published at once: in the catalog for a department key (access internal), not for anonymous callers.
  const catalog = await p.http.get('/layers').set(auth(readKey));
  const entry = catalog.body.layers.find((l: { id: string }) => l.id === 'jiangsu');
  t.like(entry, { id: 'jiangsu', owner: 'dsj', access: 'internal', theme: 'planning', geometryType: 'MULTIPOLYGON', title: { zh: '江苏省地级市', en: '江苏省地级市' } });
  t.falsy((await p.http.get('/layers')).body.layers.find((l: { id: string }) => l.id === 'jiangsu'));
  const tj = await p.http.get('/tiles/jiangsu.json').set(auth(readKey));
  t.is(tj.status, 200);
  t.true(tj.body.bounds[0] > 116 && tj.body.bounds[2] < 122.1, 'bounds of Jiangsu');
  const { z, x, y } = tileOf(119.0, 33.5, 7);
  const mvt = await tile('jiangsu', z, x, y);
  t.is(mvt.status, 200);
  const names = decodeTile(mvt.body as Buffer, z, x, y).jiangsu!.map((f) => f.properties['地名']);
  t.true(names.includes('淮安市'));
  // And as OGC API - Features items.
  const items = await p.http.get('/collections/jiangsu/items?limit=20').set(auth(readKey));
  t.is(items.status, 200);
  t.is(items.body.features.length, 13);
  t.true(items.body.features.some((f: { properties: Record<string, unknown> }) => f.properties['地名'] === '淮安市'));
});

test.serial('replacing a layer evicts its cached tiles: the next tile shows the new data', async (t) => {
  const { z, x, y } = tileOf(119.0, 33.5, 7);
  const before = decodeTile((await tile('jiangsu', z, x, y)).body as Buffer, z, x, y).jiangsu!;
  t.true(before.length > 1);
  t.is((await tile('jiangsu', z, x, y)).status, 200, 'cached');
  const res = await submit(fs.readFileSync(path.join(DATA, 'boundaries', 'huaian_320800_prefecture_wgs84.geojson')), 'huaian.geojson', { layer: 'jiangsu' });
  const job = await finished(res.body.id);
  t.is(job.status, 'succeeded', job.error ?? '');
  const after = decodeTile((await tile('jiangsu', z, x, y)).body as Buffer, z, x, y).jiangsu!;
  t.deepEqual(after.map((f) => f.properties['地名']), ['淮安市']);
  const catalog = await p.http.get('/layers').set(auth(readKey));
  t.is(catalog.body.layers.find((l: { id: string }) => l.id === 'jiangsu').geometryType, 'POLYGON');
});

test.serial('another department cannot replace the layer: the job fails and says why', async (t) => {
  const res = await submit(gkZip(), 'jiangsu.zip', { layer: 'jiangsu' }, otherKey);
  const job = await finished(res.body.id, otherKey);
  t.is(job.status, 'failed');
  t.is(job.error, 'layer "jiangsu" belongs to department dsj; rfb cannot replace or append to it');
});

test.serial('a vehicle log over HTTP: the job reports cleaning, stops and trips', async (t) => {
  const res = await submit(fs.readFileSync(path.join(DATA, 'vehicles', 'shenzhen_taxi_traj2.csv')), 'traj2.csv', { vehicle: '粤B·T0002' });
  const job = await finished(res.body.id);
  t.is(job.status, 'succeeded', job.error ?? '');
  t.like(job.summary, { vehicle: '粤B·T0002', read: 14, imported: 14, invalid: 0, duplicates: 0, jumps: 0, trips: 1, timezone: 'Asia/Shanghai' });
});

// ---- the CLI, against the same database the platform serves ----

function cli(args: string[]): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; pid: number } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'import', 'cli.ts'), ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: p.url, LAYERS_DIR: path.join(root, 'test', 'fixtures', 'layers') },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return { pid: child.pid!, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))) };
}

test.serial('the CLI: --json summary on the last line, the running server publishes the layer, a bad file exits non-zero', async (t) => {
  const ok = await cli([path.join(DATA, 'kml', 'togeojson__addresses.kml'), '--layer', 'cli_history', '--geometry', 'mixed', '--json', '--report', path.join(dir, 'r.csv')]).done;
  t.is(ok.code, 0, ok.stderr);
  const summary = JSON.parse(ok.stdout.trim().split('\n').at(-1)!);
  for (const key of ['layer', 'table', 'read', 'imported', 'rejected', 'repaired', 'srid', 'bbox', 'encoding', 'source_srs', 'seconds']) t.true(key in summary, key);
  t.like(summary, { layer: 'cli_history', table: 'imports.cli_history', read: 15, imported: 7, rejected: 8, srid: 4326, report: path.join(dir, 'r.csv') });
  t.regex(fs.readFileSync(path.join(dir, 'r.csv'), 'utf8'), /^row,reason\n1,"the placemark has no coordinates"\n3,/);
  await eventually(async () => (await p.http.get('/layers').set(auth(readKey))).body.layers.some((l: { id: string }) => l.id === 'cli_history'));
  const bad = await cli([path.join(DATA, 'geopackage', 'countries_0.gpkg'), '--layer', 'cli_bad']).done;
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^import failed: countries_0\.gpkg has 5 feature tables/);
  const taken = await cli([path.join(DATA, 'kml', 'togeojson__styles.kml'), '--layer', 'fx_points']).done;
  t.is(taken.code, 1);
  t.regex(taken.stderr, /layer "fx_points" is defined in layers\/fx_points\.json/);
  const usage = await cli(['--layer', 'x']).done;
  t.is(usage.code, 2);
  t.regex(usage.stderr, /usage: npm run import/);
});

/** A CSV big enough that its COPY is still running a moment after it starts. */
function bigCsv(rows: number): string {
  const file = path.join(dir, `big-${rows}.csv`);
  const lines = ['name,lon,lat'];
  for (let i = 0; i < rows; i++) lines.push(`p${i},${(118.3 + (i % 1000) * 0.0012).toFixed(6)},${(32.8 + Math.floor(i / 1000) * 0.0012).toFixed(6)}`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function copyRunning(): Promise<number> {
  return eventually(async () => {
    const r = await p.sql.query(`SELECT pid FROM pg_stat_activity WHERE application_name = 'citybase-import' AND query LIKE 'COPY %'`);
    return r.rows[0]?.pid as number | undefined;
  }, 60_000, 20);
}

test.serial('an import killed mid-COPY, or whose database connection is cut, leaves the layer exactly as it was', async (t) => {
  const checksum = await layerChecksum(p.sql, 'imports.cli_history');
  const definition = (await p.sql.query(`SELECT definition, updated_at FROM citybase.layer_definitions WHERE id = 'cli_history'`)).rows[0];
  const file = bigCsv(400_000);
  const killed = cli([file, '--layer', 'cli_history']);
  await copyRunning();
  process.kill(killed.pid, 'SIGKILL');
  t.is((await killed.done).code, null);
  const gone = () => eventually(async () => (await p.sql.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'citybase-import'`)).rows[0].n === 0);
  await gone(); // the server notices the dead client and rolls its transaction back
  const cut = cli([file, '--layer', 'cli_history']);
  await p.sql.query(`SELECT pg_terminate_backend($1)`, [await copyRunning()]);
  const result = await cut.done;
  t.is(result.code, 1);
  t.regex(result.stderr, /^import failed: the database connection was lost during the import \(.*\); nothing was changed/);
  await gone();
  t.is(await layerChecksum(p.sql, 'imports.cli_history'), checksum);
  t.deepEqual((await p.sql.query(`SELECT definition, updated_at FROM citybase.layer_definitions WHERE id = 'cli_history'`)).rows[0], definition);
  t.deepEqual((await p.sql.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'imports' AND tablename LIKE '\\_new\\_%'`)).rows, []);
  const { z, x, y } = tileOf(100.55, 13.8, 12);
  t.is((await tile('cli_history', z, x, y)).status, 200, 'the layer is still served');
});

test.serial('a stored definition edited or removed in the database: the registry follows, a broken one is reported in /health', async (t) => {
  const listed = async (id: string) => (await p.http.get('/layers').set(auth(readKey))).body.layers.find((l: { id: string }) => l.id === id);
  await p.sql.query(
    `UPDATE citybase.layer_definitions SET definition = jsonb_set(definition, '{title}', '{"zh": "位置历史", "en": "Location history"}'), updated_at = now() WHERE id = 'cli_history';
     NOTIFY citybase_catalog, 'edit'`,
  );
  await eventually(async () => (await listed('cli_history'))?.title.en === 'Location history');
  await p.sql.query(`UPDATE citybase.layer_definitions SET definition = definition - 'theme', updated_at = now() WHERE id = 'cli_history'; NOTIFY citybase_catalog, 'edit'`);
  const health = await eventually(async () => {
    const h = await p.http.get('/health').set(OPS);
    return h.body.unavailableLayers.cli_history ? h.body : undefined;
  });
  t.regex(health.unavailableLayers.cli_history, /theme/);
  t.falsy(await listed('cli_history'));
  await p.sql.query(`DELETE FROM citybase.layer_definitions WHERE id = 'jiangsu'; NOTIFY citybase_catalog, 'drop'`);
  await eventually(async () => !(await listed('jiangsu')));
  t.is((await p.http.get('/tiles/jiangsu.json').set(auth(readKey))).status, 404);
});
