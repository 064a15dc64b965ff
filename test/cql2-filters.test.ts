// CQL2 filters against PostGIS through /collections/{layer}/items: the examples of the CQL2 specification (OGC
// 21-065) that apply, each compared with the same condition written by hand in SQL; spatial predicates on layers
// stored in WGS84, CGCS2000 Gauss-Kruger (EPSG:4549) and web mercator; and hostile filters, each a 400 with
// nothing executed.
import type { AddressInfo } from 'node:net';
import test from 'ava';
import supertest from 'supertest';
import { createHttpServer } from '../tile-server/src/http-server.ts';
import { binary, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let p: TestPlatform;
let key: string;
test.before(async () => {
  // No contrib polling: the hostile-filter test counts every query the server sends.
  p = await startTestPlatform({ CONTRIB_POLL_MS: '3600000' });
  key = (await p.platform.keys.create('jtj', 'cql2 test')).key;
});
test.after.always(async () => {
  await p?.close();
});

/** Ids of the features a filter keeps, through the API (one page of up to 10,000). */
async function apiIds(layer: string, filter: string): Promise<number[]> {
  const res = await p.http.get(`/collections/${layer}/items`).query({ filter, limit: 10000, properties: '', key });
  if (res.status !== 200) throw new Error(`${filter}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  const body = JSON.parse(res.text) as { features: Array<{ id: number }>; numberReturned: number };
  return body.features.map((f) => f.id);
}

/** Ids SQL selects with the same condition, written by hand. */
async function sqlIds(table: string, where: string): Promise<number[]> {
  const { rows } = await p.sql.query<{ id: number }>(`SELECT id FROM fixtures.${table} WHERE ${where} ORDER BY id`);
  return rows.map((r) => r.id);
}

const sameAsSql = test.macro({
  async exec(t, layer: string, filter: string, table: string, where: string) {
    const expected = await sqlIds(table, where);
    t.deepEqual(await apiIds(layer, filter), expected);
    return expected;
  },
  title: (_, layer, filter) => `${layer}: ${filter}`,
});

// ---- the CQL2 specification's examples (properties of fx_buildings are named after them) ----
test(sameAsSql, 'fx_buildings', 'floors>5', 'buildings', 'floors > 5');
test(sameAsSql, 'fx_buildings', 'taxes <= 500', 'buildings', 'taxes <= 500');
test(sameAsSql, 'fx_buildings', "owner LIKE '%Jones%'", 'buildings', "owner LIKE '%Jones%'");
test(sameAsSql, 'fx_buildings', "owner LIKE 'Mike%'", 'buildings', "owner LIKE 'Mike%'");
test(sameAsSql, 'fx_buildings', "owner NOT LIKE '%Mike%'", 'buildings', "owner NOT LIKE '%Mike%'");
test(sameAsSql, 'fx_buildings', 'swimming_pool=true', 'buildings', 'swimming_pool');
test(sameAsSql, 'fx_buildings', 'floors>5 AND swimming_pool=true', 'buildings', 'floors > 5 AND swimming_pool');
test(
  sameAsSql,
  'fx_buildings',
  "swimming_pool=true AND (floors>5 OR material LIKE 'brick%' OR material LIKE '%brick')",
  'buildings',
  "swimming_pool AND (floors > 5 OR material LIKE 'brick%' OR material LIKE '%brick')",
);
test(sameAsSql, 'fx_buildings', "(floors>5 AND material='brick') OR swimming_pool=true", 'buildings', "(floors > 5 AND material = 'brick') OR swimming_pool");
test(sameAsSql, 'fx_buildings', 'NOT (floors<5) OR swimming_pool=true', 'buildings', 'NOT (floors < 5) OR swimming_pool');
test(sameAsSql, 'fx_buildings', "(owner LIKE 'mike%' OR owner LIKE 'Mike%') AND floors<4", 'buildings', "(owner LIKE 'mike%' OR owner LIKE 'Mike%') AND floors < 4");
test(sameAsSql, 'fx_buildings', "built < DATE('2015-01-01')", 'buildings', "built < DATE '2015-01-01'");
test(sameAsSql, 'fx_buildings', "updated > TIMESTAMP('2017-10-01T00:00:00Z')", 'buildings', "updated > TIMESTAMPTZ '2017-10-01 00:00:00Z'");
test(sameAsSql, 'fx_buildings', 'taxes BETWEEN 100.0 AND 150.0', 'buildings', 'taxes BETWEEN 100 AND 150');
test(sameAsSql, 'fx_buildings', "material IN ('brick','wood')", 'buildings', "material IN ('brick', 'wood')");
test(sameAsSql, 'fx_buildings', 'floors NOT IN (1,2,3,4)', 'buildings', 'floors NOT IN (1, 2, 3, 4)');
test(sameAsSql, 'fx_buildings', 'owner IS NULL', 'buildings', 'owner IS NULL');
test(sameAsSql, 'fx_buildings', 'owner IS NOT NULL', 'buildings', 'owner IS NOT NULL');
test(sameAsSql, 'fx_buildings', 'taxes > floors', 'buildings', 'taxes > floors');
test(sameAsSql, 'fx_buildings', 'floors = floors', 'buildings', 'TRUE');
test(sameAsSql, 'fx_buildings', 'true', 'buildings', 'TRUE');
test(sameAsSql, 'fx_buildings', 'false', 'buildings', 'FALSE');
test(sameAsSql, 'fx_buildings', 'floors > 2.5 and "floors" < 7 AND Not swimming_pool = FALSE', 'buildings', 'floors > 2.5 AND floors < 7 AND swimming_pool');
test(sameAsSql, 'fx_buildings', 'id IN (3, 5, 8)', 'buildings', 'id IN (3, 5, 8)');
test(
  sameAsSql,
  'fx_buildings',
  'floors>5 AND S_WITHIN(geometry, BBOX(119.05, 33.6, 119.07, 33.61))',
  'buildings',
  'floors > 5 AND ST_Within(geom, ST_MakeEnvelope(119.05, 33.6, 119.07, 33.61, 4326))',
);
test(
  sameAsSql,
  'fx_buildings',
  'S_INTERSECTS(geometry, POLYGON((119.055 33.601, 119.062 33.601, 119.062 33.607, 119.055 33.607, 119.055 33.601)))',
  'buildings',
  "ST_Intersects(geom, 'SRID=4326;POLYGON((119.055 33.601, 119.062 33.601, 119.062 33.607, 119.055 33.607, 119.055 33.601))')",
);
test(sameAsSql, 'fx_buildings', 'S_CONTAINS(geom, POINT(119.0535 33.6005))', 'buildings', "ST_Contains(geom, 'SRID=4326;POINT(119.0535 33.6005)')");
test(
  sameAsSql,
  'fx_buildings',
  'S_TOUCHES(geometry, POLYGON((119.054 33.6, 119.055 33.6, 119.055 33.601, 119.054 33.601, 119.054 33.6)))',
  'buildings',
  "ST_Touches(geom, 'SRID=4326;POLYGON((119.054 33.6, 119.055 33.6, 119.055 33.601, 119.054 33.601, 119.054 33.6))')",
);
test(sameAsSql, 'fx_buildings', 'S_OVERLAPS(geometry, BBOX(119.0535, 33.6005, 119.0575, 33.6015))', 'buildings', 'ST_Overlaps(geom, ST_MakeEnvelope(119.0535, 33.6005, 119.0575, 33.6015, 4326))');
test(sameAsSql, 'fx_buildings', 'S_DISJOINT(geometry, BBOX(119.05, 33.6, 119.06, 33.605))', 'buildings', 'ST_Disjoint(geom, ST_MakeEnvelope(119.05, 33.6, 119.06, 33.605, 4326))');
test(
  sameAsSql,
  'fx_buildings',
  'S_EQUALS(geometry, POLYGON((119.053 33.6, 119.053 33.601, 119.054 33.601, 119.054 33.6, 119.053 33.6)))',
  'buildings',
  'id = 1',
);
test(sameAsSql, 'fx_buildings', 'S_DWITHIN(geometry, POINT(119.0535 33.6005), 200)', 'buildings', "ST_DWithin(geom::geography, 'SRID=4326;POINT(119.0535 33.6005)'::geography, 200)");
test(
  sameAsSql,
  'fx_buildings',
  'S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(119.0535 33.6005), LINESTRING(119.05 33.606, 119.08 33.606)))',
  'buildings',
  "ST_Intersects(geom, 'SRID=4326;GEOMETRYCOLLECTION(POINT(119.0535 33.6005), LINESTRING(119.05 33.606, 119.08 33.606))')",
);

// ---- stored in EPSG:4549: predicates are exact in WGS84, the index is used through a transformed box ----
test(
  sameAsSql,
  'fx_shelters',
  "capacity > 1000 AND district = '清江浦区'",
  'shelters',
  "capacity > 1000 AND district = '清江浦区'",
);
test(
  sameAsSql,
  'fx_shelters',
  'S_WITHIN(geometry, POLYGON((119.0 33.5, 119.1 33.5, 119.1 33.58, 119.0 33.58, 119.0 33.5)))',
  'shelters',
  "ST_Within(ST_Transform(geom, 4326), 'SRID=4326;POLYGON((119.0 33.5, 119.1 33.5, 119.1 33.58, 119.0 33.58, 119.0 33.5))')",
);
test(sameAsSql, 'fx_shelters', 'S_DWITHIN(geometry, POINT(119.06 33.556), 1500)', 'shelters', "ST_DWithin(ST_Transform(geom, 4326)::geography, 'SRID=4326;POINT(119.06 33.556)'::geography, 1500)");
test(sameAsSql, 'fx_shelters', "built >= DATE('2010-01-01') AND remark IS NULL", 'shelters', "built >= DATE '2010-01-01' AND remark IS NULL");

test('a district-sized outline in a filter (a URL of over 40 KB) is answered, as SQL selects', async (t) => {
  // 2,000 vertices around a centre: the size of a real district boundary, far over Node's default 16 KiB head.
  const ring = Array.from({ length: 2001 }, (_, i) => {
    const a = ((i % 2000) / 2000) * 2 * Math.PI;
    const r = 0.03 * (1 + 0.2 * Math.sin(7 * a));
    return `${(119.06 + r * Math.cos(a)).toFixed(6)} ${(33.56 + r * Math.sin(a)).toFixed(6)}`;
  });
  const wkt = `POLYGON((${ring.join(', ')}))`;
  const server = createHttpServer(p.platform.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = supertest(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const res = await client.get('/collections/fx_shelters/items').query({ filter: `S_INTERSECTS(geometry, ${wkt})`, limit: 10000, properties: '' });
    t.true(res.request.url.length > 40_000, `${res.request.url.length} characters`);
    t.is(res.status, 200);
    const ids = (JSON.parse(res.text) as { features: Array<{ id: number }> }).features.map((f) => f.id);
    const expected = await sqlIds('shelters', `ST_Intersects(ST_Transform(geom, 4326), 'SRID=4326;${wkt}')`);
    t.true(expected.length > 0);
    t.deepEqual(ids, expected);
  } finally {
    server.close();
  }
});

test('a world BBOX finds every shelter although a world box has no shape in a Gauss-Kruger zone', async (t) => {
  const ids = await apiIds('fx_shelters', 'S_INTERSECTS(geometry, BBOX(-180, -90, 180, 90))');
  t.is(ids.length, 120);
  const { rows } = await p.sql.query<{ w: string }>(`SELECT ST_AsText(ST_Envelope(ST_Transform(ST_MakeEnvelope(-180, -90, 180, 90, 4326), 4549))) AS w`);
  t.regex(rows[0]!.w, /^(POINT|LINESTRING)/, 'the naive transform collapses (why the server clips to the zone first)');
});

// ---- web mercator lines (an internal layer: the key is needed) ----
test(sameAsSql, 'fx_roads', 'S_CROSSES(geometry, LINESTRING(119.0 33.5, 119.0 33.6))', 'roads', "ST_Crosses(ST_Transform(geom, 4326), 'SRID=4326;LINESTRING(119.0 33.5, 119.0 33.6)')");

// ---- timestamps with offsets, NULLs, Chinese strings ----
test(
  sameAsSql,
  'fx_cases',
  "opened_at >= TIMESTAMP('2024-05-10T00:00:00Z') AND opened_at < TIMESTAMP('2024-05-11T00:00:00+08:00')",
  'cases',
  "opened_at >= TIMESTAMPTZ '2024-05-10 00:00:00Z' AND opened_at < TIMESTAMPTZ '2024-05-11 00:00:00+08'",
);
test(sameAsSql, 'fx_cases', "closed_at IS NULL AND category IN ('占道经营', '违章停车')", 'cases', "closed_at IS NULL AND category IN ('占道经营', '违章停车')");

test('every example above selects something and leaves something out (the comparisons are not vacuous)', async (t) => {
  for (const where of ['floors > 5', "owner LIKE '%Jones%'", 'owner IS NULL', 'taxes BETWEEN 100 AND 150', "ST_Contains(geom, 'SRID=4326;POINT(119.0535 33.6005)')"]) {
    const n = (await sqlIds('buildings', where)).length;
    t.true(n > 0 && n < 60, where);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Hostile filters: 400 naming the problem, and not one query sent to the database
// ---------------------------------------------------------------------------------------------------------------

const HOSTILE: Array<[string, RegExp]> = [
  ['1=1; DROP TABLE fixtures.points', /unexpected ";" at character 4/],
  ["name = 'x'; DROP TABLE fixtures.points; --", /unexpected ";"/],
  ['name = pg_sleep(10)', /unsupported function pg_sleep/],
  ["pg_sleep(10) = 'x'", /unsupported function pg_sleep/],
  ["name = 'unbalanced", /unterminated string/],
  ["name = 'a'' OR ''1''=''1", /unterminated string/],
  ['"na""me" = 1', /expected a comparison after property "na", got property "me"/],
  ['"name\'; DROP TABLE x; --" = 1', /unknown property/],
  ["\"name\" = 'x' OR \"pg_catalog.pg_user\" = 'x'", /unknown property "pg_catalog.pg_user"/],
  ["current_user = 'citybase'", /unknown property "current_user"/],
  ['name = "x"', /unknown property "x"/],
  ["(name = 'a'", /expected a closing parenthesis/],
  ["name = 'a')", /unexpected "\)"/],
  ["name = 'a' -- comment", /unexpected "-"/],
  ["name = 'a' /* comment */", /unexpected "\/"/],
  ['name = $$x$$', /unexpected "\$"/],
  ["name = E'\\x27'", /expected a comparison|unexpected|after the end/],
  ["name = 'a\u0000'", /U\+0000/],
  ['value = 1e999999', /out of range/],
  ["value = 'abc'", /is a number and cannot be compared/],
  ['flag = 1', /is a boolean and cannot be compared/],
  ["built > '2020-01-01'", /write DATE/],
  ['S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 0 0', /expected/],
  ['S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 1)))', /not closed/],
  ['S_INTERSECTS(ST_Buffer(geometry, 1e9), POINT(0 0))', /expected the geometry property|unexpected|expected/],
  ['value = 1 OR '.repeat(10_000) + 'value = 1', /too many terms|too long/],
  [`value IN (${'1,'.repeat(10_000)}1)`, /too many terms/],
  ['('.repeat(10_000) + 'value = 1' + ')'.repeat(10_000), /nested too deeply/],
  ['NOT '.repeat(10_000) + 'value = 1', /nested too deeply/],
];

/** The same attacks in CQL2-JSON: each a 400 located by JSON Pointer. */
const HOSTILE_JSON: Array<[string, RegExp]> = [
  ['{"op":"=","args":[{"property":"kind; DROP TABLE fixtures.points"},"a"]}', /unknown property/],
  ['{"op":"=","args":[{"property":"kind"},{"sql":"pg_sleep(10)"}]}', /expected a value/],
  ['{"op":"pg_sleep","args":[10]}', /unknown or unsupported operator/],
  ['{"op":"=","args":[{"property":"kind"},"a"]} OR 1=1', /not JSON/],
  [`${'{"op":"not","args":['.repeat(2_000)}true${']}'.repeat(2_000)}`, /nested too deeply/],
  [JSON.stringify({ op: 'or', args: Array.from({ length: 2_000 }, () => ({ op: '=', args: [{ property: 'value' }, 1] })) }), /too many terms|too long/],
];

test.serial('hostile filters are each a 400 naming the problem, and not one query reaches the database', async (t) => {
  // Serial: the other tests would send queries meanwhile. The server as npm start runs it takes URLs of up to
  // 256 KiB (Node's default is 16), so the filter limits themselves answer, not Node with a 431.
  const server = createHttpServer(p.platform.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = supertest(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const pool = p.platform.pool as unknown as { query: (...a: unknown[]) => unknown; connect: (...a: unknown[]) => unknown };
  const [query, connect] = [pool.query, pool.connect];
  let sent = 0;
  pool.query = (...a) => (sent++, query.apply(p.platform.pool, a));
  pool.connect = (...a) => (sent++, connect.apply(p.platform.pool, a));
  try {
    t.true(HOSTILE.length >= 20);
    for (const [filter, message] of HOSTILE) {
      for (const url of ['/collections/fx_points/items', '/tiles/fx_points/14/13603/6557.mvt']) {
        const res = await client.get(url).query({ filter });
        t.is(res.status, 400, `${url} ${filter.slice(0, 60)}`);
        t.is(res.body.error, 'invalid_filter');
        t.regex(res.body.message, message, filter.slice(0, 60));
        t.regex(res.body.message, /at character \d+$/);
      }
    }
    for (const [filter, message] of HOSTILE_JSON) {
      const res = await client.get('/collections/fx_points/items').query({ filter, 'filter-lang': 'cql2-json' });
      t.is(res.status, 400, filter.slice(0, 60));
      t.regex(res.body.message, message, filter.slice(0, 60));
      t.regex(res.body.message, / at \/[\w/]*$/);
    }
    t.is(sent, 0, 'no query was sent for any of them');
  } finally {
    pool.query = query;
    pool.connect = connect;
    server.close();
  }
  const { rows } = await p.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM fixtures.points');
  t.is(rows[0]!.n, 2500, 'fixtures.points is intact');
});

test('injection written as valid CQL2 is only ever a string value', async (t) => {
  for (const filter of ["name = 'x''; DROP TABLE fixtures.points; --'", "name = 'P1' OR '1' = '1' AND name = 'P2'", "name LIKE '%'' OR 1=1 --'"]) {
    const res = await p.http.get('/collections/fx_points/items').query({ filter, limit: 5 });
    t.is(res.status, 200, filter);
  }
  const res = await p.http.get('/collections/fx_points/items').query({ filter: "name = 'P1' OR '1' = '1' AND name = 'P2'", limit: 5 });
  t.deepEqual(JSON.parse(res.text).features.map((f: { id: number }) => f.id), [1, 2]);
  const { rows } = await p.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM fixtures.points');
  t.is(rows[0]!.n, 2500);
});

test('CQL2-JSON selects what the same filter in CQL2-text does, on items and tiles; its errors name a JSON Pointer', async (t) => {
  const pairs: Array<[string, object]> = [
    ["kind = 'a' AND value > 10", { op: 'and', args: [{ op: '=', args: [{ property: 'kind' }, 'a'] }, { op: '>', args: [{ property: 'value' }, 10] }] }],
    ['S_INTERSECTS(geometry, BBOX(119.0, 33.55, 119.05, 33.6))', { op: 's_intersects', args: [{ property: 'geometry' }, { bbox: [119.0, 33.55, 119.05, 33.6] }] }],
    ["name LIKE 'P1%' OR value BETWEEN 1 AND 3", { op: 'or', args: [{ op: 'like', args: [{ property: 'name' }, 'P1%'] }, { op: 'between', args: [{ property: 'value' }, 1, 3] }] }],
  ];
  for (const [text, json] of pairs) {
    const viaJson = await p.http.get('/collections/fx_points/items').query({ filter: JSON.stringify(json), 'filter-lang': 'cql2-json', limit: 10000, properties: '' });
    t.is(viaJson.status, 200, text);
    const ids = (JSON.parse(viaJson.text) as { features: Array<{ id: number }> }).features.map((f) => f.id);
    t.true(ids.length > 0, text);
    t.deepEqual(ids, await apiIds('fx_points', text), text);
    const tile = (filter: string, lang: string) =>
      p.http.get('/tiles/fx_points/12/3402/1634.mvt').query({ filter, 'filter-lang': lang }).set('Accept-Encoding', 'identity').buffer(true).parse(binary);
    t.deepEqual((await tile(JSON.stringify(json), 'cql2-json')).body, (await tile(text, 'cql2-text')).body, `tile: ${text}`);
  }
  // A TileJSON asked for with a JSON filter hands out tile URLs that say so.
  const json = JSON.stringify(pairs[0]![1]);
  const tj = await p.http.get('/tiles/fx_points.json').query({ filter: json, 'filter-lang': 'cql2-json' });
  t.is(tj.status, 200);
  const tileUrl = (tj.body.tiles[0] as string).replace(/^https?:\/\/[^/]+/, '').replace('{z}/{x}/{y}', '12/3402/1634');
  t.true(tileUrl.includes('filter-lang=cql2-json'));
  const [viaTileJson, viaText] = await Promise.all([
    p.http.get(tileUrl).set('Accept-Encoding', 'identity').buffer(true).parse(binary),
    p.http.get('/tiles/fx_points/12/3402/1634.mvt').query({ filter: pairs[0]![0] }).set('Accept-Encoding', 'identity').buffer(true).parse(binary),
  ]);
  t.is(viaTileJson.status, viaText.status);
  t.deepEqual(viaTileJson.body, viaText.body);
  const bad = await p.http.get('/collections/fx_points/items').query({ filter: '{"op":"=","args":[{"property":"colour"},"red"]}', 'filter-lang': 'cql2-json' });
  t.is(bad.status, 400);
  t.deepEqual(bad.body, { error: 'invalid_filter', message: 'filter: unknown property "colour" (see the collection\'s queryables) at /args/0' });
});

test('filter-lang other than cql2-text or cql2-json and a filter-crs other than CRS84 are refused', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ filter: "kind = 'a'", 'filter-lang': 'cql2-json' }, /not JSON/],
    [{ filter: "kind = 'a'", 'filter-lang': 'sql' }, /filter-lang "sql" is not supported: use cql2-text or cql2-json/],
    [{ filter: "kind = 'a'", 'filter-crs': 'http://www.opengis.net/def/crs/EPSG/0/3857' }, /filter-crs must be/],
  ];
  for (const [query, message] of cases) {
    const res = await p.http.get('/collections/fx_points/items').query(query);
    t.is(res.status, 400);
    t.regex(res.body.message, message);
  }
  const ok = await p.http.get('/collections/fx_points/items').query({ filter: "kind = 'a'", 'filter-lang': 'cql2-text', 'filter-crs': 'http://www.opengis.net/def/crs/OGC/1.3/CRS84', limit: 1 });
  t.is(ok.status, 200);
});

test('a filter naming a property the layer does not expose is refused, though the column exists in the table', async (t) => {
  // fx_secret reads fixtures.points but exposes only name: kind and value stay in the database.
  const rfb = (await p.platform.keys.create('rfb', 'owner')).key;
  const res = await p.http.get('/collections/fx_secret/items').query({ filter: "kind = 'a'", key: rfb });
  t.is(res.status, 400);
  t.regex(res.body.message, /unknown property "kind"/);
  t.is((await p.http.get('/collections/fx_secret/items').query({ filter: "name = 'P1'", key: rfb })).status, 200);
});
