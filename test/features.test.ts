// OGC API - Features: the landing page, conformance (every class advertised is exercised here or in
// cql2-filters.test.ts), collections and access, items (bbox, limit, paging, properties, sortby, datetime,
// numberMatched) and single features, each compared with what SQL says.
import zlib from 'node:zlib';
import test, { type ExecutionContext } from 'ava';
import { eventually, onTheWire, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let p: TestPlatform;
const keys: Record<string, string> = {};
test.before(async () => {
  p = await startTestPlatform();
  for (const d of ['jtj', 'rfb', 'dsj']) keys[d] = (await p.platform.keys.create(d, 'features test')).key;
});
test.after.always(async () => {
  await p?.close();
});

interface Feature {
  type: 'Feature';
  id: number;
  geometry: { type: string; coordinates: unknown };
  properties: Record<string, unknown>;
}
interface Collection {
  type: 'FeatureCollection';
  features: Feature[];
  numberReturned: number;
  numberMatched?: number;
  links: Array<{ href: string; rel: string; type?: string }>;
}

/** GET a URL path (or an absolute link the server gave) and expect 200 JSON. */
async function get<T = Collection>(url: string, query: Record<string, string | number> = {}): Promise<T> {
  const path = url.startsWith('http') ? url.replace(/^https?:\/\/[^/]+/, '') : url;
  const res = await p.http.get(path).query(query);
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return JSON.parse(res.text) as T;
}

async function sqlIds(sql: string, params: unknown[] = []): Promise<number[]> {
  return (await p.sql.query<{ id: number }>(sql, params)).rows.map((r) => r.id);
}

const nextOf = (c: Collection) => c.links.find((l) => l.rel === 'next')?.href;

/** Follow next links from a first page; every feature id in the order served. */
async function walk(t: ExecutionContext, first: string, query: Record<string, string | number>): Promise<{ ids: number[]; pages: number }> {
  let page = await get(first, query);
  const ids = page.features.map((f) => f.id);
  let pages = 1;
  for (let next = nextOf(page); next; next = nextOf(page)) {
    page = await get(next);
    ids.push(...page.features.map((f) => f.id));
    t.true(++pages < 100, 'paging ends');
  }
  t.is(page.features.length <= Number(query.limit ?? 100), true);
  return { ids, pages };
}

// ---------------------------------------------------------------------------------------------------------------
// Landing page and conformance
// ---------------------------------------------------------------------------------------------------------------

test('the landing page links to itself, the conformance declaration and the collections, and the links work', async (t) => {
  const landing = await get<{ links: Array<{ rel: string; href: string }> }>('/ogc');
  const rels = Object.fromEntries(landing.links.map((l) => [l.rel, l.href]));
  t.truthy(rels.self?.endsWith('/ogc'));
  t.truthy(rels.conformance?.endsWith('/conformance'));
  t.truthy(rels.data?.endsWith('/collections'));
  for (const href of Object.values(rels)) t.is((await p.http.get(href.replace(/^https?:\/\/[^/]+/, ''))).status, 200, href);
  // Clients that append paths to the landing page's URL find the same documents.
  const strip = (text: string) => ({ ...JSON.parse(text), timeStamp: undefined });
  for (const path of ['/conformance', '/collections', '/collections/fx_points/items?limit=1'])
    t.deepEqual(strip((await p.http.get(`/ogc${path}`)).text), strip((await p.http.get(path)).text), path);
});

/** Each advertised conformance class, and a check that the server honours it (the CQL2 ones at their simplest). */
const honoured: Record<string, (t: ExecutionContext) => Promise<void>> = {
  'ogcapi-features-1/1.0/conf/core': async (t) => {
    const c = await get('/collections/fx_points/items', { limit: 3 });
    t.is(c.numberReturned, 3);
    const one = await get<Feature>(`/collections/fx_points/items/${c.features[0]!.id}`);
    t.is(one.id, c.features[0]!.id);
  },
  'ogcapi-features-1/1.0/conf/geojson': async (t) => {
    const res = await p.http.get('/collections/fx_points/items').query({ limit: 1 });
    t.is(res.headers['content-type'], 'application/geo+json');
    const c = JSON.parse(res.text) as Collection;
    t.is(c.type, 'FeatureCollection');
    t.is(c.features[0]!.type, 'Feature');
    t.is(c.features[0]!.geometry.type, 'Point');
  },
  'ogcapi-features-3/1.0/conf/queryables': async (t) => {
    const q = await get<{ properties: Record<string, unknown> }>('/collections/fx_points/queryables');
    t.truthy(q.properties.value);
  },
  'ogcapi-features-3/1.0/conf/filter': async (t) => {
    t.is((await get('/collections/fx_points/items', { filter: "kind = 'a'", limit: 5 })).features.every((f) => f.properties.kind === 'a'), true);
  },
  'ogcapi-features-3/1.0/conf/features-filter': async (t) => {
    t.is((await get('/collections/fx_points/items', { filter: 'value < 2', 'filter-lang': 'cql2-text' })).numberReturned, (await sqlIds('SELECT id FROM fixtures.points WHERE value < 2')).length);
  },
  'cql2/1.0/conf/cql2-text': async (t) => {
    t.is((await p.http.get('/collections/fx_points/items').query({ filter: 'value < 2', 'filter-lang': 'cql2-text' })).status, 200);
  },
  'cql2/1.0/conf/cql2-json': async (t) => {
    const json = JSON.stringify({ op: '<', args: [{ property: 'value' }, 2] });
    t.is((await get('/collections/fx_points/items', { filter: json, 'filter-lang': 'cql2-json' })).numberReturned, (await sqlIds('SELECT id FROM fixtures.points WHERE value < 2')).length);
  },
  'cql2/1.0/conf/basic-cql2': async (t) => {
    t.true((await get('/collections/fx_points/items', { filter: 'built IS NOT NULL AND flag = true AND value >= 10', limit: 10 })).numberReturned > 0);
  },
  'cql2/1.0/conf/advanced-comparison-operators': async (t) => {
    const c = await get('/collections/fx_points/items', { filter: "name LIKE 'P1%' AND value BETWEEN 1 AND 10 AND kind IN ('a', 'b')", limit: 100 });
    t.true(c.features.length > 0 && c.features.every((f) => String(f.properties.name).startsWith('P1')));
  },
  'cql2/1.0/conf/basic-spatial-functions': async (t) => {
    t.true((await get('/collections/fx_points/items', { filter: 'S_INTERSECTS(geometry, BBOX(119.0, 33.55, 119.05, 33.6))' })).numberReturned > 0);
  },
  'cql2/1.0/conf/basic-spatial-functions-plus': async (t) => {
    t.true((await get('/collections/fx_parcels/items', { filter: 'S_INTERSECTS(geometry, LINESTRING(119.0 33.59, 119.05 33.59))' })).numberReturned > 0);
  },
  'cql2/1.0/conf/spatial-functions': async (t) => {
    t.true((await get('/collections/fx_parcels/items', { filter: 'S_CONTAINS(geometry, POINT(119.02 33.59))' })).numberReturned === 1);
  },
  // Part 2 in depth: test/downloads.test.ts.
  'ogcapi-features-2/1.0/conf/crs': async (t) => {
    const res = await p.http.get('/collections/fx_parcels/items').query({ crs: 'http://www.opengis.net/def/crs/EPSG/0/4549', limit: 1 });
    t.is(res.headers['content-crs'], '<http://www.opengis.net/def/crs/EPSG/0/4549>');
    t.true(JSON.parse(res.text).features[0].geometry.coordinates[0][0][0][0] > 3_000_000, 'northing first, in metres');
  },
  'cql2/1.0/conf/property-property': async (t) => {
    t.is((await get('/collections/fx_points/items', { filter: 'value = value', limit: 1 })).numberReturned, 1);
  },
};

test('every conformance class advertised is one this suite checks, and each is honoured', async (t) => {
  const { conformsTo } = await get<{ conformsTo: string[] }>('/conformance');
  const known = Object.keys(honoured).map((k) => `http://www.opengis.net/spec/${k}`);
  // OGC API - Tiles and its tile matrix sets are checked in ogc-tiles.test.ts.
  const features = conformsTo.filter((c) => !/\/spec\/(ogcapi-tiles-1|tms)\//.test(c));
  t.deepEqual(features.sort(), [...known].sort());
  for (const check of Object.values(honoured)) await check(t);
});

// ---------------------------------------------------------------------------------------------------------------
// Collections and access
// ---------------------------------------------------------------------------------------------------------------

/** Ids of the fixture collections listed (a test below publishes a contrib table meanwhile). */
async function collectionIds(key?: string): Promise<string[]> {
  const c = await get<{ collections: Array<{ id: string }> }>('/collections', key ? { key } : {});
  return c.collections.map((x) => x.id).filter((id) => id.startsWith('fx_'));
}

test('/collections lists the table layers the caller may see, with the same access rule as tiles', async (t) => {
  const anon = await collectionIds();
  const tables = p.platform.registry.list().filter((s) => 'info' in s && s.meta.id.startsWith('fx_'));
  const visible = (keyed: string[]) => tables.filter((s) => s.meta.access === 'public' || keyed.includes(s.meta.id)).map((s) => s.meta.id);
  t.deepEqual(anon, visible([]));
  t.false(anon.includes('fx_density'), 'function layers have no items');
  t.false(anon.includes('fx_roads'), 'internal');
  t.false(anon.includes('fx_secret'), 'restricted');
  t.deepEqual(await collectionIds(keys.jtj), visible(['fx_roads']));
  t.deepEqual(await collectionIds(keys.rfb), visible(['fx_roads', 'fx_secret']));
});

test('a collection describes its extent (from the data, in CRS84), CRS, storage CRS and links', async (t) => {
  const c = await get<{
    id: string;
    title: string;
    extent: { spatial: { bbox: number[][]; crs: string } };
    crs: string[];
    storageCrs: string;
    links: Array<{ rel: string; href: string; type: string }>;
  }>('/collections/fx_parcels');
  t.is(c.id, 'fx_parcels');
  t.is(c.title, '测试地块');
  t.is(c.storageCrs, 'http://www.opengis.net/def/crs/EPSG/0/4549');
  t.deepEqual(c.crs, [
    'http://www.opengis.net/def/crs/OGC/1.3/CRS84',
    'http://www.opengis.net/def/crs/EPSG/0/4326',
    'http://www.opengis.net/def/crs/EPSG/0/4490',
    'http://www.opengis.net/def/crs/EPSG/0/4549',
  ]);
  const { rows } = await p.sql.query<{ w: number; s: number; e: number; n: number }>(
    `SELECT ST_XMin(b) AS w, ST_YMin(b) AS s, ST_XMax(b) AS e, ST_YMax(b) AS n FROM (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, 4549), 4326) AS b FROM fixtures.parcels) x`,
  );
  const [w, s, e, n] = c.extent.spatial.bbox[0]!;
  // The estimate or the exact extent: within ~100 m of the data's.
  for (const [got, want] of [[w, rows[0]!.w], [s, rows[0]!.s], [e, rows[0]!.e], [n, rows[0]!.n]] as const) t.true(Math.abs(got! - want) < 1e-3);
  const rels = Object.fromEntries(c.links.map((l) => [l.rel, l]));
  t.is(rels.items!.type, 'application/geo+json');
  t.truthy(rels['http://www.opengis.net/def/rel/ogc/1.0/queryables']);
  t.is((await p.http.get(rels.items!.href.replace(/^https?:\/\/[^/]+/, ''))).status, 200);
});

test('a layer the caller may not see is answered exactly like an unknown one, on every endpoint', async (t) => {
  for (const path of ['/collections/{id}', '/collections/{id}/items', '/collections/{id}/items/1', '/collections/{id}/queryables']) {
    const hidden = await p.http.get(path.replace('{id}', 'fx_secret')).query({ key: keys.jtj! });
    const unknown = await p.http.get(path.replace('{id}', 'fx_nowhere')).query({ key: keys.jtj! });
    t.is(hidden.status, 404, path);
    t.deepEqual(hidden.body, { ...unknown.body, message: unknown.body.message.replace('fx_nowhere', 'fx_secret') }, path);
    t.is((await p.http.get(path.replace('{id}', 'fx_secret')).set('Authorization', `Bearer ${keys.rfb}`)).status, 200, path);
  }
  // A bad filter on a hidden layer is still a 404: its property names are not revealed by the 400.
  t.is((await p.http.get('/collections/fx_secret/items').query({ filter: 'nonsense = 1' })).status, 404);
});

test('queryables are a JSON Schema of the exposed properties with their types, plus the geometry', async (t) => {
  const res = await p.http.get('/collections/fx_points/queryables');
  t.is(res.headers['content-type'], 'application/schema+json');
  const q = JSON.parse(res.text) as { properties: Record<string, { type?: string; format?: string; title: string }>; additionalProperties: boolean };
  // The id column is queryable too (id IN (…)), though it is the feature's id rather than a property.
  t.deepEqual(Object.keys(q.properties), ['geometry', 'name', 'kind', 'value', 'flag', 'built', 'id']);
  t.is(q.properties.id!.type, 'integer');
  t.is(q.properties.geometry!.format, 'geometry-point');
  t.is(q.properties.value!.type, 'number');
  t.is(q.properties.flag!.type, 'boolean');
  t.deepEqual([q.properties.built!.type, q.properties.built!.format], ['string', 'date']);
  t.is(q.properties.name!.title, '名称');
  t.false(q.additionalProperties);
});

// ---------------------------------------------------------------------------------------------------------------
// Items
// ---------------------------------------------------------------------------------------------------------------

test('items: 100 by default, each feature with its id, WGS84 geometry and exactly the exposed properties', async (t) => {
  const c = await get('/collections/fx_points/items');
  t.is(c.numberReturned, 100);
  t.is(c.features.length, 100);
  t.deepEqual(c.features.map((f) => f.id), await sqlIds('SELECT id FROM fixtures.points ORDER BY id LIMIT 100'));
  const f0 = c.features[0]!;
  t.deepEqual(f0.properties, { name: 'P0', kind: 'a', value: 0, flag: true, built: '2020-01-01' });
  const { rows } = await p.sql.query<{ x: number; y: number }>('SELECT ST_X(geom) AS x, ST_Y(geom) AS y FROM fixtures.points WHERE id = 0');
  t.deepEqual(f0.geometry, { type: 'Point', coordinates: [rows[0]!.x, rows[0]!.y] });
  // fx_secret reads the same table but exposes only the name.
  const secret = await get('/collections/fx_secret/items', { limit: 1, key: keys.rfb! });
  t.deepEqual(secret.features[0]!.properties, { name: 'P0' });
});

test('items of a layer stored in EPSG:4549 come back in WGS84', async (t) => {
  const f = await get<Feature>('/collections/fx_parcels/items/0');
  const { rows } = await p.sql.query<{ j: { coordinates: number[][][][] } }>(`SELECT ST_AsGeoJSON(ST_Transform(geom, 4326))::json AS j FROM fixtures.parcels WHERE gid = 0`);
  t.is(f.geometry.type, 'MultiPolygon');
  t.deepEqual(f.geometry.coordinates, rows[0]!.j.coordinates);
  t.deepEqual(f.properties, { code: 'P0-0', area: 25600 });
});

test('bbox selects the features intersecting the box, as ST_Intersects does, in any storage CRS', async (t) => {
  const box = [119.0, 33.55, 119.03, 33.58];
  const env = 'ST_MakeEnvelope($1, $2, $3, $4, 4326)';
  const pts = await get('/collections/fx_points/items', { bbox: box.join(','), limit: 10000 });
  t.deepEqual(pts.features.map((f) => f.id), await sqlIds(`SELECT id FROM fixtures.points WHERE ST_Intersects(geom, ${env}) ORDER BY id`, box));
  t.true(pts.features.length > 10);
  const parcels = await get('/collections/fx_parcels/items', { bbox: box.join(','), limit: 10000 });
  t.deepEqual(
    parcels.features.map((f) => f.id),
    await sqlIds(`SELECT gid AS id FROM fixtures.parcels WHERE ST_Intersects(ST_Transform(geom, 4326), ${env}) ORDER BY gid`, box),
  );
  t.true(parcels.features.length > 0);
  const world = await get('/collections/fx_shelters/items', { bbox: '-180,-90,180,90', limit: 1000 });
  t.is(world.numberReturned, 120, 'a world box on a Gauss-Kruger layer');
  t.is((await get('/collections/fx_points/items', { bbox: '100,10,100.1,10.1' })).numberReturned, 0);
});

test('paging with next links walks the whole layer exactly once, in id order', async (t) => {
  const all = await sqlIds('SELECT id FROM fixtures.points ORDER BY id');
  const { ids, pages } = await walk(t, '/collections/fx_points/items', { limit: 1000 });
  t.is(pages, 3);
  t.deepEqual(ids, all);
  // The same with a filter and a box: the cursor keeps them.
  const box = [118.9, 33.5, 119.1, 33.65];
  const expected = await sqlIds(`SELECT id FROM fixtures.points WHERE kind = 'b' AND ST_Intersects(geom, ST_MakeEnvelope($1, $2, $3, $4, 4326)) ORDER BY id`, box);
  t.deepEqual((await walk(t, '/collections/fx_points/items', { limit: 97, filter: "kind = 'b'", bbox: box.join(',') })).ids, expected);
});

test('paging by sortby uses offsets and also visits every feature once, in the requested order', async (t) => {
  const expected = await sqlIds('SELECT id FROM fixtures.points ORDER BY value DESC, name ASC, id');
  const { ids, pages } = await walk(t, '/collections/fx_points/items', { limit: 700, sortby: '-value,+name' });
  t.is(pages, 4);
  t.deepEqual(ids, expected);
  t.is((await p.http.get('/collections/fx_points/items').query({ sortby: 'colour' })).status, 400);
});

test('offset skips features; a cursor made by the server continues after its page', async (t) => {
  const all = await sqlIds('SELECT id FROM fixtures.points ORDER BY id');
  const page = await get('/collections/fx_points/items', { limit: 10, offset: 25 });
  t.deepEqual(page.features.map((f) => f.id), all.slice(25, 35));
  const next = new URL(nextOf(page)!);
  t.is(next.searchParams.get('offset'), null, 'the next link is a keyset cursor');
  t.deepEqual((await get(nextOf(page)!)).features.map((f) => f.id), all.slice(35, 45));
  for (const cursor of ['nonsense', Buffer.from('{"after":"1; DROP"}').toString('base64url')]) {
    const res = await p.http.get('/collections/fx_points/items').query({ cursor });
    t.is(res.status, 400);
    t.regex(res.body.message, /cursor is not one this server made/);
  }
});

test('numberMatched: free when one page holds everything, counted when asked, absent otherwise', async (t) => {
  const [{ n }] = (await p.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM fixtures.points WHERE kind = 'a'`)).rows as [{ n: number }];
  t.is((await get('/collections/fx_points/items', { filter: "kind = 'a'", limit: 10000 })).numberMatched, n);
  t.is((await get('/collections/fx_points/items', { filter: "kind = 'a'", limit: 10 })).numberMatched, undefined);
  const counted = await get('/collections/fx_points/items', { filter: "kind = 'a'", limit: 10, numberMatched: 'true' });
  t.is(counted.numberMatched, n);
  t.is(counted.numberReturned, 10);
});

test('limit above the maximum is the maximum; malformed parameters are 400s naming the parameter', async (t) => {
  const big = await get('/collections/fx_points/items', { limit: 50000 });
  t.is(big.numberReturned, 2500);
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ limit: '0' }, /^limit must be a whole number from 1/],
    [{ limit: '-5' }, /^limit must be a whole number/],
    [{ limit: '1e3' }, /^limit must be a whole number/],
    [{ offset: 'x' }, /^offset must be a whole number/],
    [{ bbox: '1,2,3' }, /^bbox must be 4 numbers/],
    [{ bbox: '1,2,3,x' }, /^bbox value 4 must be a number/],
    [{ bbox: '119,34,118,35' }, /antimeridian/],
    [{ bbox: '119,35,120,34' }, /south is above north/],
    [{ bbox: '0,0,200,1' }, /outside -180,-90,180,90/],
    [{ 'bbox-crs': 'http://www.opengis.net/def/crs/EPSG/0/3857' }, /^bbox-crs: ".*3857" is not offered/],
    [{ properties: 'name,secret' }, /^properties: unknown property "secret"/],
    [{ datetime: '2024-05-01' }, /has no time column/],
    [{ numberMatched: 'yes' }, /numberMatched must be true or false/],
    [{ f: 'html' }, /^f: only json/],
    [{ colour: 'red' }, /^unknown parameter "colour"/],
    [{ cursor: 'x', sortby: 'name' }, /^cursor: only for pages in id order/],
  ];
  for (const [query, message] of cases) {
    const res = await p.http.get('/collections/fx_points/items').query(query);
    t.is(res.status, 400, JSON.stringify(query));
    t.regex(res.body.message, message, JSON.stringify(query));
  }
  const twice = await p.http.get('/collections/fx_points/items?limit=1&limit=2');
  t.is(twice.status, 400);
  t.regex(twice.body.message, /give the limit parameter once/);
});

test('properties= returns only the properties asked for, in the layer’s order; empty returns none', async (t) => {
  const c = await get('/collections/fx_points/items', { properties: 'value,name', limit: 2 });
  t.deepEqual(Object.keys(c.features[0]!.properties), ['value', 'name']);
  t.deepEqual((await get('/collections/fx_points/items', { properties: '', limit: 1 })).features[0]!.properties, {});
});

test('datetime filters on the layer’s time column: instants, closed and open intervals, whole days', async (t) => {
  const ids = async (datetime: string) => (await get('/collections/fx_cases/items', { datetime, limit: 10000, properties: '' })).features.map((f) => f.id);
  const sql = (where: string) => sqlIds(`SELECT id FROM fixtures.cases WHERE ${where} ORDER BY id`);
  t.deepEqual(await ids('2024-05-02T02:15:00Z'), await sql(`opened_at = TIMESTAMPTZ '2024-05-02 02:15:00Z'`));
  t.is((await ids('2024-05-02T02:15:00Z')).length, 1);
  t.deepEqual(await ids('2024-05-03T00:00:00+08:00/2024-05-04T12:00:00+08:00'), await sql(`opened_at BETWEEN '2024-05-03 00:00+08' AND '2024-05-04 12:00+08'`));
  t.deepEqual(await ids('../2024-05-02T00:00:00Z'), await sql(`opened_at <= '2024-05-02 00:00Z'`));
  t.deepEqual(await ids('2024-05-25T00:00:00Z/..'), await sql(`opened_at >= '2024-05-25 00:00Z'`));
  // A date names the whole day in the city's zone (TIMEZONE, Asia/Shanghai by default), whichever end it is:
  // the 5th of May in Huai'an begins at 16:00 UTC on the 4th.
  const tz = 'Asia/Shanghai';
  t.deepEqual(await ids('2024-05-05'), await sql(`opened_at >= '2024-05-05 00:00 ${tz}' AND opened_at < '2024-05-06 00:00 ${tz}'`));
  t.deepEqual(await ids('2024-05-05/2024-05-06'), await sql(`opened_at >= '2024-05-05 00:00 ${tz}' AND opened_at < '2024-05-07 00:00 ${tz}'`));
  // A date column (shelters are filtered on `built`).
  const built = (await get('/collections/fx_shelters/items', { datetime: '2005-01-01/2009-12-31', limit: 1000 })).features.map((f) => f.id);
  t.deepEqual(built, await sqlIds(`SELECT id FROM fixtures.shelters WHERE built BETWEEN '2005-01-01' AND '2009-12-31' ORDER BY id`));
  t.true(built.length > 0);
  for (const bad of ['yesterday', '2024-02-30', '2024-05-01/2024-04-01', '../..', '2024-05-01T25:00:00Z']) {
    const res = await p.http.get('/collections/fx_cases/items').query({ datetime: bad });
    t.is(res.status, 400, bad);
    t.regex(res.body.message, /^datetime: /, bad);
  }
});

test('one feature by id: the same feature as in the list, with links; unknown or malformed ids are 404', async (t) => {
  const list = await get('/collections/fx_cases/items', { limit: 1, offset: 41 });
  const one = await get<Feature & { links: Array<{ rel: string }> }>(`/collections/fx_cases/items/${list.features[0]!.id}`);
  t.deepEqual({ ...one, links: undefined }, { ...list.features[0]!, links: undefined });
  t.deepEqual(one.links.map((l) => l.rel), ['self', 'collection']);
  for (const id of ['99999', 'abc', '1.5', '99999999999999999999', '-0']) {
    const res = await p.http.get(`/collections/fx_cases/items/${id}`);
    t.is(res.status, 404, id);
    t.is(res.body.error, 'unknown_feature');
  }
});

test('links carry the caller’s key, so a followed next link is still authorised', async (t) => {
  const c = await get('/collections/fx_roads/items', { limit: 5, key: keys.jtj! });
  for (const l of c.links) t.is(new URL(l.href).searchParams.get('key'), keys.jtj!, l.rel);
  t.is((await walk(t, '/collections/fx_roads/items', { limit: 5, key: keys.jtj! })).ids.length, 16);
});

test('a table auto-published from schema contrib serves items, with its integer primary key as the id', async (t) => {
  await p.sql.query(`CREATE TABLE contrib.feature_points (gid serial PRIMARY KEY, label text, geom geometry(Point, 4326))`);
  await p.sql.query(`INSERT INTO contrib.feature_points (label, geom) SELECT 'L' || i, ST_SetSRID(ST_MakePoint(119 + i * 0.01, 33.6), 4326) FROM generate_series(1, 5) i`);
  const c = await eventually(async () => {
    const res = await p.http.get('/collections/feature_points/items').query({ key: keys.dsj! });
    return res.status === 200 && (JSON.parse(res.text) as Collection);
  });
  t.deepEqual(c.features.map((f) => f.id), [1, 2, 3, 4, 5]);
  t.deepEqual(c.features[0]!.properties, { gid: 1, label: 'L1' });
  t.is((await get<Feature>('/collections/feature_points/items/3', { key: keys.dsj! })).properties.label, 'L3');
});

test('JSON answers are compressed by Accept-Encoding (brotli, gzip) and decode to the same page; small ones go as they are', async (t) => {
  const url = '/collections/fx_cases/items?limit=300';
  const [plain, br, gz] = await Promise.all(['identity', 'gzip, deflate, br', 'gzip'].map((accept) => onTheWire(p, url, { 'Accept-Encoding': accept })));
  t.is(plain!.headers['content-encoding'], undefined);
  t.is(br!.headers['content-encoding'], 'br');
  t.is(gz!.headers['content-encoding'], 'gzip');
  t.regex(String(br!.headers.vary), /Accept-Encoding/);
  // The same features (timeStamp and the links' host:port differ from one request to the next).
  const page = (b: Buffer) => {
    const c = JSON.parse(b.toString('utf8')) as Collection;
    return { numberReturned: c.numberReturned, features: c.features };
  };
  t.deepEqual(page(zlib.brotliDecompressSync(br!.body)), page(plain!.body));
  t.deepEqual(page(zlib.gunzipSync(gz!.body)), page(plain!.body));
  t.true(br!.body.length * 3 < plain!.body.length, `${br!.body.length} of ${plain!.body.length} bytes`);
  const small = await onTheWire(p, '/conformance', { 'Accept-Encoding': 'br' });
  t.true(small.body.length < 2048);
  t.is(small.headers['content-encoding'], undefined);
});
