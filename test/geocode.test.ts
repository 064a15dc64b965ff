// GET /api/geocode on the real layers/ and the full sample data: names that repeat across the city told apart by
// their context and ranked by the view, coordinates in the notations planners type, codes, and the access rule
// (a restricted layer's places reach only those who may see it). One platform for the whole file.
import path from 'node:path';
import test from 'ava';
import { loadSamplesOnce } from '../data-samples/load.ts';
import { parseCoordinate } from '../tile-server/src/geocode/coordinates.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { root, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let p: TestPlatform;
let rfbKey: string;

test.before(async () => {
  // Loading the full samples on a busy machine can take longer than the default statement timeout.
  p = await startTestPlatform({ STATEMENT_TIMEOUT_MS: '120000' }, { layersDir: path.join(root, 'layers'), fixtures: false });
  await loadSamplesOnce(p.platform.pool, createLogger('silent'));
  rfbKey = (await p.platform.keys.create('rfb', 'geocode test')).key;
});
test.after.always(async () => {
  await p?.close();
});

interface Result {
  kind: string;
  layer: string | null;
  id: number | null;
  name: string;
  code: string | null;
  match: { property: string; text: string; quality: string };
  context: Record<string, { code: string; name: string }>;
  point: [number, number];
  bbox: [number, number, number, number];
  geometry: { type: string };
  distanceM: number | null;
}

async function geocode(query: Record<string, string | number>, key?: string): Promise<Result[]> {
  const req = p.http.get('/api/geocode').query(query);
  const res = await (key ? req.set('Authorization', `Bearer ${key}`) : req);
  if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
  return res.body.results as Result[];
}

const rows = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) => (await p.sql.query<T>(sql, values)).rows;

test('a community name shared across the city: every one, each with its street and district, nearest the view first', async (t) => {
  const expected = await rows<{ code: string; street: string; district: string; lon: number; lat: number }>(`
    SELECT c.code, s.name AS street, d.name AS district, ST_X(ST_PointOnSurface(c.geom)) AS lon, ST_Y(ST_PointOnSurface(c.geom)) AS lat
    FROM basemap.communities c JOIN basemap.streets s ON s.code = c.street_code JOIN basemap.districts d ON d.adcode = s.district_code
    WHERE c.name = '华庭园社区' ORDER BY c.code`);
  t.true(expected.length > 1, 'the sample data has the name more than once');
  // The view is centred inside one of them (the last by code): that one comes first, the others by distance.
  const here = expected.at(-1)!;
  const found = (await geocode({ q: '华庭园', lon: here.lon, lat: here.lat, limit: 20 })).filter((r) => r.kind === 'community');
  t.deepEqual(found.map((r) => r.code).sort(), expected.map((e) => e.code));
  t.is(found[0]!.code, here.code);
  t.is(found[0]!.distanceM, 0);
  const distances = found.map((r) => r.distanceM!);
  t.deepEqual(distances, [...distances].sort((a, b) => a - b));
  for (const r of found) {
    const e = expected.find((x) => x.code === r.code)!;
    t.deepEqual({ street: r.context.street?.name, district: r.context.district?.name }, { street: e.street, district: e.district }, r.code!);
    t.is(r.name, '华庭园社区');
    t.deepEqual(r.match, { property: 'name', text: '华庭园社区', quality: 'prefix' });
    t.regex(r.geometry.type, /Polygon$/);
    t.true(r.bbox[0] <= r.point[0] && r.point[0] <= r.bbox[2] && r.bbox[1] <= r.point[1] && r.point[1] <= r.bbox[3]);
  }
  // Another view, another first.
  const other = expected[0]!;
  t.is((await geocode({ q: '华庭园', lon: other.lon, lat: other.lat }))[0]!.code, other.code);
});

test('exact before prefix before contained before fuzzy, and a district before a street before a community', async (t) => {
  const [district] = await rows<{ name: string }>(`SELECT name FROM basemap.districts WHERE adcode = '320812'`);
  const results = await geocode({ q: district!.name, limit: 50 });
  t.deepEqual({ kind: results[0]!.kind, code: results[0]!.code, quality: results[0]!.match.quality }, { kind: 'district', code: '320812', quality: 'exact' });
  const qualities = results.map((r) => ['exact', 'prefix', 'contains', 'fuzzy'].indexOf(r.match.quality));
  t.deepEqual(qualities, [...qualities].sort((a, b) => a - b));

  // 淮海 … 街道 with characters left out is still found (fuzzy: the typed characters in order).
  const [street] = await rows<{ name: string; code: string }>(`SELECT name, code FROM basemap.streets WHERE name LIKE '%新村街道' ORDER BY code LIMIT 1`);
  const typed = `${street!.name.slice(0, 2)}${street!.name.slice(-2)}`;
  const fuzzy = await geocode({ q: typed, limit: 50 });
  const hit = fuzzy.find((r) => r.code === street!.code);
  t.truthy(hit, `${typed} finds ${street!.name}`);
  t.is(hit!.match.quality, 'fuzzy');
  t.deepEqual(Object.keys(hit!.context), ['district']);
});

test('road names are found, with the area they run through', async (t) => {
  const [road] = await rows<{ id: number; name: string }>(`SELECT id, name FROM basemap.roads WHERE kind = '城市主干路' ORDER BY id LIMIT 1`);
  const results = await geocode({ q: road!.name });
  const r = results.find((x) => x.layer === 'basemap_roads' && x.id === road!.id)!;
  t.is(r.kind, 'road');
  t.is(r.match.quality, 'exact');
  t.regex(r.geometry.type, /LineString$/);
  t.truthy(r.context.district?.name);
});

test('codes: a community code, a grid cell code and a district code find exactly their place', async (t) => {
  const [community] = await geocode({ q: '320812002009' });
  const [expected] = await rows<{ name: string }>(`SELECT name FROM basemap.communities WHERE code = '320812002009'`);
  t.like(community, { kind: 'community', layer: 'basemap_communities', code: '320812002009', name: expected!.name, match: { property: 'code', text: '320812002009', quality: 'exact' } });
  t.is(community!.context.district?.code, '320812');

  const [cell] = await rows<{ code: string; community: string }>(`SELECT g.code, c.name AS community FROM urban.grid_cells g JOIN basemap.communities c ON c.code = g.community_code ORDER BY g.code LIMIT 1`);
  const cells = await geocode({ q: cell!.code });
  t.is(cells.length, 1);
  t.like(cells[0], { kind: 'grid', code: cell!.code, context: { community: { name: cell!.community } } });

  t.like((await geocode({ q: '320813' }))[0], { kind: 'district', code: '320813' });
});

test('coordinates: decimal degrees either way round, degrees-minutes-seconds, and GK metres with and without the zone', async (t) => {
  const [gk] = await rows<{ x: number; y: number; community: string }>(`
    SELECT ST_X(g) AS x, ST_Y(g) AS y, (SELECT name FROM basemap.communities WHERE ST_Intersects(geom, p) ORDER BY code LIMIT 1) AS community
    FROM (SELECT ST_SetSRID(ST_Point(119.02, 33.60), 4326) AS p) a, LATERAL (SELECT ST_Transform(a.p, 4549) AS g) b`);
  const near = (r: Result) => Math.abs(r.point[0] - 119.02) < 1e-6 && Math.abs(r.point[1] - 33.6) < 1e-6;
  for (const q of ['119.02,33.60', '119.02 33.60', '33.60, 119.02', '119°1\'12"E 33°36\'N', 'N33°36′ E119°01′12″', '119度1分12秒，33度36分']) {
    const [r] = await geocode({ q });
    t.is(r?.kind, 'coordinate', q);
    t.true(near(r!), `${q} → ${r?.point}`);
    t.is(r!.context.community?.name, gk!.community, q);
    t.is(r!.context.district?.name, '清江浦区', q);
  }
  const northing = gk!.y.toFixed(2);
  for (const [q, crs] of [
    [`${gk!.x.toFixed(2)}, ${northing}`, 'EPSG:4549'],
    [`${northing} ${gk!.x.toFixed(2)}`, 'EPSG:4549'],
    [`${(40_000_000 + gk!.x).toFixed(2)},${northing}`, 'EPSG:4528'],
  ] as const) {
    const [r] = await geocode({ q });
    t.is(r?.kind, 'coordinate', q);
    t.true(near(r!), `${q} → ${r?.point}`);
    t.is(r!.match.property, crs);
  }
});

test('parseCoordinate leaves alone what is not a coordinate', (t) => {
  for (const q of ['320812002009', '华庭园', '119.02', '200,100', '1,2,3', '119°61\'E 33°N', '12 号路']) t.is(parseCoordinate(q), null, q);
});

test('a restricted layer is searched only for those who may see it', async (t) => {
  const [target] = await rows<{ name: string }>(`SELECT name FROM civil_defence.key_targets ORDER BY id LIMIT 1`);
  const anonymous = await geocode({ q: target!.name, limit: 50 });
  t.false(anonymous.some((r) => r.layer === 'civil_defence_key_targets'));
  const rfb = await geocode({ q: target!.name, limit: 50 }, rfbKey);
  t.like(rfb[0], { layer: 'civil_defence_key_targets', name: target!.name, match: { quality: 'exact' } });
});

test('bad requests are 400 naming the parameter', async (t) => {
  for (const [query, word] of [
    [{}, 'q'],
    [{ q: '' }, 'q'],
    [{ q: 'x'.repeat(101) }, 'q'],
    [{ q: '华庭园', lon: '119' }, 'lat'],
    [{ q: '华庭园', lon: 'east', lat: '33' }, 'lon'],
    [{ q: '华庭园', limit: '0' }, 'limit'],
    [{ q: '华庭园', filter: 'x' }, 'filter'],
  ] as const) {
    const res = await p.http.get('/api/geocode').query(query);
    t.is(res.status, 400, JSON.stringify(query));
    t.true(String(res.body.message).includes(word), res.body.message);
  }
  // LIKE's wildcards typed by a user are plain characters.
  t.deepEqual(await geocode({ q: '%' }), []);
});
