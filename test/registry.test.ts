// Layer definitions: validation of layers/*.json, resolution against the database, and who sees which layer.
import test from 'ava';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadSamplesOnce } from '../data-samples/load.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { loadDefinitions, RegistryError } from '../tile-server/src/registry/load.ts';
import { binary, fixturesDir, OPS, root, startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { tileOf } from './helpers/mvt.ts';

const layersDir = path.join(root, 'layers');
const tmpDirs: string[] = [];
let real: TestPlatform; // the real layers/ on a fresh database with the data samples
let fx: TestPlatform; // the fixture layers plus definitions whose sources do not exist
const keys: Record<string, { id: number; key: string }> = {};

/** Definitions whose sources are missing from the database: the server must start without them. */
const missing = {
  fx_missing_table: {
    source: { type: 'table', schema: 'fixtures', table: 'no_such_table' },
    cause: /fixtures\.no_such_table does not exist/,
  },
  fx_missing_column: {
    source: { type: 'table', schema: 'fixtures', table: 'points' },
    properties: { no_such_column: { label: { zh: '无', en: 'None' } } },
    cause: /property "no_such_column" is not a column/,
  },
  fx_missing_function: {
    source: { type: 'function', schema: 'fixtures', function: 'no_such_function' },
    cause: /"fixtures"\."no_such_function"\(integer, integer, integer\) returning bytea not found/,
  },
} as const;

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tmpDirs.push(dir);
  return dir;
}

test.before(async () => {
  const dir = await tempDir('citybase-layers-');
  await cp(path.join(fixturesDir, 'layers'), dir, { recursive: true });
  for (const [id, { source, cause: _cause, ...rest }] of Object.entries(missing))
    await writeFile(
      path.join(dir, `${id}.json`),
      JSON.stringify({ id, title: { zh: id, en: id }, theme: 'urban', owner: 'cgj', access: 'public', source, ...rest }),
    );
  [real, fx] = await Promise.all([
    startTestPlatform({}, { layersDir, fixtures: false }),
    startTestPlatform({}, { layersDir: dir }),
  ]);
  await loadSamplesOnce(real.platform.pool, createLogger('silent'));
  for (const d of ['jtj', 'rfb', 'sthj', 'dsj']) keys[d] = await fx.platform.keys.create(d, `registry test ${d}`);
});

test.after.always(async () => {
  await Promise.all([real?.close(), fx?.close()]);
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// The real layers/ directory
// ---------------------------------------------------------------------------------------------------------------

test('every definition in layers/ validates and is named after its file', async (t) => {
  const defs = await loadDefinitions(layersDir);
  const files = (await readdir(layersDir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length));
  t.deepEqual(defs.map((d) => d.id).sort(), files.sort());
  t.true(files.includes('basemap_prefecture') && files.includes('basemap_places'));
});

test('on a fresh database with migrations and data samples, every layers/ definition resolves to a source', async (t) => {
  const defs = await loadDefinitions(layersDir);
  t.deepEqual(Object.fromEntries(real.platform.registry.unavailable), {});
  const served = new Set(real.platform.registry.list().map((s) => s.meta.id));
  for (const d of defs) t.true(served.has(d.id), `${d.id} is served`);
  const health = await real.http.get('/health').set(OPS);
  t.is(health.status, 200);
  t.deepEqual(health.body.unavailableLayers, {});
});

test('every layers/ definition serves TileJSON; basemap_prefecture’s bounds are Huai’an’s', async (t) => {
  for (const d of await loadDefinitions(layersDir)) {
    // A layer that is not public is asked for with its owner's key.
    const key = d.access === 'public' ? '' : `?key=${(await real.platform.keys.create(d.owner, 'registry test')).key}`;
    const res = await real.http.get(`/tiles/${d.id}.json${key}`);
    t.is(res.status, 200, d.id);
    t.is(res.body.tilejson, '3.0.0');
    t.is(res.body.vector_layers[0].id, d.id);
    t.is(res.body.minzoom, d.minzoom);
    t.is(res.body.maxzoom, d.maxzoom);
  }
  const { body } = await real.http.get('/tiles/basemap_prefecture.json');
  const [w, s, e, n] = body.bounds as number[];
  const [W, S, E, N] = [118.0, 32.5, 119.8, 34.3];
  t.true(w! >= W && s! >= S && e! <= E && n! <= N, `bounds ${JSON.stringify(body.bounds)} inside [${W}, ${S}, ${E}, ${N}]`);
  // The data's own extent (118.206, 32.718, 119.641, 34.094), not the world.
  t.true(e! - w! > 1 && e! - w! < 1.6 && n! - s! > 1 && n! - s! < 1.6, JSON.stringify(body.bounds));
});

test('a basemap_prefecture tile over Huai’an holds the city outline', async (t) => {
  const { z, x, y } = tileOf(119.0, 33.5, 8);
  const res = await real.http.get(`/tiles/basemap_prefecture/${z}/${x}/${y}.mvt`).buffer(true).parse(binary);
  t.is(res.status, 200);
  t.true((res.body as Buffer).length > 100);
});

// ---------------------------------------------------------------------------------------------------------------
// Invalid definitions
// ---------------------------------------------------------------------------------------------------------------

test('invalid definitions are rejected at once, every problem named as `file: path: message`', async (t) => {
  const dir = await tempDir('citybase-bad-layers-');
  const rel = (file: string) => `${path.basename(dir)}/${file}`;
  const base = {
    title: { zh: '测试', en: 'Test' },
    theme: 'urban',
    owner: 'cgj',
    access: 'public',
    source: { type: 'table', schema: 'fixtures', table: 'points' },
  };
  const files: Record<string, unknown> = {
    'ok.json': { id: 'ok', ...base },
    'wrong_types.json': {
      ...base,
      id: 'wrong_types',
      title: 'Test',
      minzoom: '5',
      maxFeatures: -1,
      properties: { name: { label: 'Name' } },
    },
    'zoom_order.json': { id: 'zoom_order', ...base, minzoom: 12, maxzoom: 8 },
    'unknown_key.json': { id: 'unknown_key', ...base, colour: '#ffffff' },
    'bad_legend.json': { id: 'bad_legend', ...base, legend: [{ label: { zh: '点', en: 'Point' }, color: 'red', shape: 'circle' }] },
    'misnamed.json': { id: 'other_name', ...base },
    'bad_source.json': { id: 'bad_source', ...base, source: { type: 'table', table: 'points; DROP TABLE x', tabel: 'x' } },
  };
  for (const [file, def] of Object.entries(files)) await writeFile(path.join(dir, file), JSON.stringify(def, null, 2));
  await writeFile(path.join(dir, 'broken.json'), '{ "id": "broken", ');
  await writeFile(path.join(dir, 'notes.txt'), 'not a definition: ignored');

  const err = await t.throwsAsync(loadDefinitions(dir), { instanceOf: RegistryError });
  const lines = err!.message.split('\n');
  t.is(lines[0], 'invalid layer definitions:');
  const expected: Array<[string, string, RegExp]> = [
    ['wrong_types.json', 'title', /expected object, received string/],
    ['wrong_types.json', 'minzoom', /expected number, received string/],
    ['wrong_types.json', 'maxFeatures', /too small/i],
    ['wrong_types.json', 'properties.name.label', /expected object, received string/],
    ['zoom_order.json', 'minzoom', /minzoom is above maxzoom/],
    ['unknown_key.json', '(root)', /Unrecognized key: "colour"/],
    ['bad_legend.json', 'legend.0.color', /a #RRGGBB colour/],
    ['misnamed.json', 'id', /must equal the file name/],
    ['bad_source.json', 'source.table', /a plain SQL identifier/],
    ['bad_source.json', 'source', /Unrecognized key: "tabel"/],
  ];
  for (const [file, at, message] of expected) {
    const prefix = `  ${rel(file)}: ${at}: `;
    const line = lines.find((l) => l.startsWith(prefix) && message.test(l.slice(prefix.length)));
    t.truthy(line, `${prefix}${String(message)} in:\n${err!.message}`);
  }
  t.true(lines.some((l) => l.startsWith(`  ${rel('broken.json')}: not valid JSON: `)), 'invalid JSON is named');
  t.false(err!.message.includes('ok.json'), 'a valid file is not mentioned');
  t.false(err!.message.includes('notes.txt'));
  t.is(lines.length, 1 + expected.length + 1, err!.message);
});

test('a directory with no definitions loads as an empty registry', async (t) => {
  t.deepEqual(await loadDefinitions(await tempDir('citybase-empty-layers-')), []);
});

// ---------------------------------------------------------------------------------------------------------------
// Missing sources
// ---------------------------------------------------------------------------------------------------------------

test('a definition whose table, column or function does not exist does not stop the server: it is absent and named in /health', async (t) => {
  const health = await fx.http.get('/health').set(OPS);
  t.is(health.status, 200);
  t.is(health.body.status, 'ok');
  for (const [id, { cause }] of Object.entries(missing)) {
    t.regex(health.body.unavailableLayers[id] ?? '', cause, id);
    t.false(fx.platform.registry.list().some((s) => s.meta.id === id));
    const tj = await fx.http.get(`/tiles/${id}.json`);
    t.is(tj.status, 404, id);
    t.deepEqual(tj.body, { error: 'unknown_layer', message: `no layer "${id}"` });
    const tile = await fx.http.get(`/tiles/${id}/10/852/408.mvt`);
    t.is(tile.status, 404, id);
  }
  t.is(Object.keys(health.body.unavailableLayers).length, Object.keys(missing).length);
  // The rest is served.
  const { z, x, y } = tileOf(119.05, 33.6, 14);
  const ok = await fx.http.get(`/tiles/fx_points/${z}/${x}/${y}.mvt`).buffer(true).parse(binary);
  t.is(ok.status, 200);
});

// ---------------------------------------------------------------------------------------------------------------
// Catalog and access
// ---------------------------------------------------------------------------------------------------------------

async function catalogIds(query = '', headers: Record<string, string> = {}): Promise<string[]> {
  const res = await fx.http.get(`/layers${query}`).set(headers);
  if (res.status !== 200) throw new Error(`/layers answered ${res.status}: ${JSON.stringify(res.body)}`);
  return (res.body.layers as Array<{ id: string }>).map((l) => l.id);
}

test('/layers for an anonymous caller lists the public layers only', async (t) => {
  const ids = await catalogIds();
  for (const id of ['fx_points', 'fx_parcels', 'fx_view', 'fx_density']) t.true(ids.includes(id), id);
  t.false(ids.includes('fx_roads'), 'internal');
  t.false(ids.includes('fx_secret'), 'restricted');
  const publicIds = fx.platform.registry
    .list()
    .filter((s) => s.meta.access === 'public')
    .map((s) => s.meta.id);
  t.deepEqual(ids, publicIds);
});

test('/layers with a key of another department (jtj) adds internal layers but not restricted ones', async (t) => {
  const ids = await catalogIds(`?key=${keys.jtj!.key}`);
  t.true(ids.includes('fx_roads'));
  t.true(ids.includes('fx_points'));
  t.false(ids.includes('fx_secret'));
  t.deepEqual(await catalogIds('', { Authorization: `Bearer ${keys.jtj!.key}` }), ids);
});

test('/layers with the owner’s (rfb) or an allowed department’s (sthj) key includes the restricted layer', async (t) => {
  for (const d of ['rfb', 'sthj']) {
    const ids = await catalogIds(`?key=${keys[d]!.key}`);
    t.true(ids.includes('fx_secret'), d);
    t.true(ids.includes('fx_roads'), d);
    t.deepEqual(await catalogIds('', { Authorization: `Bearer ${keys[d]!.key}` }), ids);
  }
});

test('the restricted layer’s tiles and TileJSON are served to its owner and allowed departments only', async (t) => {
  const { z, x, y } = tileOf(119.05, 33.6, 14);
  for (const [d, status] of [['rfb', 200], ['sthj', 200], ['jtj', 404], ['dsj', 404]] as const) {
    t.is((await fx.http.get(`/tiles/fx_secret.json?key=${keys[d]!.key}`)).status, status, `TileJSON for ${d}`);
    const tile = await fx.http.get(`/tiles/fx_secret/${z}/${x}/${y}.mvt`).set('Authorization', `Bearer ${keys[d]!.key}`);
    t.is(tile.status, status, `tile for ${d}`);
  }
});

test('a catalog URL given with ?key= carries the key into the tile and TileJSON URLs', async (t) => {
  const res = await fx.http.get(`/layers?key=${keys.rfb!.key}`);
  const secret = (res.body.layers as Array<{ id: string; tiles: string; tilejson: string }>).find((l) => l.id === 'fx_secret')!;
  t.true(secret.tiles.endsWith(`/tiles/fx_secret/{z}/{x}/{y}.mvt?key=${keys.rfb!.key}`));
  t.true(secret.tilejson.endsWith(`/tiles/fx_secret.json?key=${keys.rfb!.key}`));
});

test('a revoked key is refused with 401 JSON everywhere, not downgraded to anonymous', async (t) => {
  const { id, key } = await fx.platform.keys.create('jtj', 'to be revoked');
  t.is((await fx.http.get(`/tiles/fx_roads.json?key=${key}`)).status, 200); // known (and cached) before revocation
  t.true(await fx.platform.keys.revoke(id));
  t.false(await fx.platform.keys.revoke(id), 'revoking twice reports nothing to revoke');
  for (const url of [`/layers?key=${key}`, `/tiles/fx_roads.json?key=${key}`, `/tiles/fx_points/14/13675/6524.mvt?key=${key}`]) {
    const res = await fx.http.get(url);
    t.is(res.status, 401, url);
    t.regex(res.headers['content-type'] ?? '', /^application\/json/);
    t.deepEqual(res.body, { error: 'invalid_api_key', message: 'the API key is unknown or revoked' });
  }
  const bearer = await fx.http.get('/layers').set('Authorization', `Bearer ${key}`);
  t.is(bearer.status, 401);
});

const refused = test.macro({
  exec: async (t, key: string, message: string) => {
    for (const req of [fx.http.get(`/layers?key=${encodeURIComponent(key)}`), fx.http.get('/layers').set('Authorization', `Bearer ${key}`)]) {
      const res = await req;
      t.is(res.status, 401);
      t.regex(res.headers['content-type'] ?? '', /^application\/json/);
      t.deepEqual(res.body, { error: 'invalid_api_key', message });
    }
  },
  title: (_, key) => `a malformed or unknown key (${String(key).slice(0, 12)}…) is refused with 401 JSON`,
});
test(refused, 'abc', 'the API key is malformed');
test(refused, `cb_${'x'.repeat(42)}`, 'the API key is malformed');
test(refused, `xx_${'a'.repeat(43)}`, 'the API key is malformed');
test(refused, `cb_${'a'.repeat(43)}`, 'the API key is unknown or revoked');

test('a key given twice in the query is a 400, not a guess', async (t) => {
  const res = await fx.http.get(`/layers?key=${keys.jtj!.key}&key=${keys.rfb!.key}`);
  t.is(res.status, 400);
  t.is(res.body.error, 'invalid_api_key');
});

/** The response to a layer the caller may not see, with the layer's name neutralised. */
async function answer(url: string, id: string, key?: string) {
  const req = fx.http.get(url.replace('{id}', id));
  const res = await (key ? req.set('Authorization', `Bearer ${key}`) : req);
  return {
    status: res.status,
    type: res.headers['content-type'],
    body: JSON.parse(JSON.stringify(res.body).replaceAll(id, '{id}')) as unknown,
  };
}

const indistinguishable = test.macro({
  exec: async (t, url: string, hidden: string, who: string | undefined) => {
    const key = who ? keys[who]!.key : undefined;
    const invisible = await answer(url, hidden, key);
    const unknown = await answer(url, 'fx_no_such_layer', key);
    t.is(invisible.status, 404);
    t.deepEqual(invisible, unknown);
    t.deepEqual(invisible.body, { error: 'unknown_layer', message: 'no layer "{id}"' });
  },
  title: (_, url, hidden, who) => `${hidden} answers ${url} for ${who ?? 'anonymous'} exactly like an unknown layer`,
});
test(indistinguishable, '/tiles/{id}.json', 'fx_secret', undefined);
test(indistinguishable, '/tiles/{id}/14/13675/6524.mvt', 'fx_secret', undefined);
test(indistinguishable, '/tiles/{id}.json', 'fx_roads', undefined);
test(indistinguishable, '/tiles/{id}/14/13675/6524.mvt', 'fx_roads', undefined);
test(indistinguishable, '/tiles/{id}.json', 'fx_secret', 'jtj');
test(indistinguishable, '/tiles/{id}/14/13675/6524.mvt', 'fx_secret', 'jtj');
test(indistinguishable, '/tiles/fx_points,{id}/14/13675/6524.mvt', 'fx_secret', 'dsj');
test(indistinguishable, '/tiles/fx_points,{id}.json', 'fx_secret', 'dsj');

test('a layers/ definition over an untyped geometry column that was empty at start is resolved again once rows tell the SRID, and draws them where they are', async (t) => {
  const dir = await tempDir('cb-provisional-');
  await writeFile(
    path.join(dir, 'fx_untyped.json'),
    JSON.stringify({
      id: 'fx_untyped', title: { zh: '未定类型', en: 'Untyped' }, theme: 'urban', owner: 'cgj', access: 'public',
      source: { type: 'table', schema: 'fixtures', table: 'untyped_parcels' }, idColumn: 'id',
      properties: { name: { label: { zh: '名称', en: 'Name' } } }, minzoom: 5, maxzoom: 20,
    }),
  );
  const tp = await startTestPlatform({}, {
    layersDir: dir,
    beforeStart: async (url) => {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query('CREATE TABLE fixtures.untyped_parcels (id int PRIMARY KEY, name text, geom geometry)');
      await c.end();
    },
  });
  try {
    t.true(tp.platform.registry.isProvisional('fx_untyped'), 'empty at start: the SRID is a guess');
    // A department's rows in CGCS2000 / 3° GK CM 120E (EPSG:4549) metres, near Huai'an.
    await tp.sql.query(`INSERT INTO fixtures.untyped_parcels VALUES (1, '地块', ST_SetSRID(ST_MakePoint(402000, 3720000), 4549))`);
    const { lon, lat } = (await tp.sql.query(`SELECT ST_X(g) AS lon, ST_Y(g) AS lat FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(402000, 3720000), 4549), 4326) AS g) s`)).rows[0];
    const { z, x, y } = tileOf(lon, lat, 14);
    const res = await (async () => {
      for (let i = 0; i < 100; i++) {
        if (!tp.platform.registry.isProvisional('fx_untyped')) return tp.http.get(`/tiles/fx_untyped/${z}/${x}/${y}.mvt`).buffer(true).parse(binary);
        await new Promise((r) => setTimeout(r, 100));
      }
      return null;
    })();
    t.truthy(res, 'resolved again within 10 s');
    t.is(res!.status, 200, 'its tile at the place the metres mean holds the parcel');
  } finally {
    await tp.close();
  }
});
