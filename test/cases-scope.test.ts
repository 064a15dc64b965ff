// Cases within a principal's scope (市县乡三级联动): people signed in with the roles of the loop and limited to a
// district (区县, 6 digits) or a street (街道, 9 digits) see, read and act on the cases inside it only: in the case
// list, the sheet, transitions, duplicates, merging, photos, the evaluation, and in the case layers' tiles and
// features. A city-wide principal sees everything. Each check is made over HTTP, as the role it is about.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { startCaseWorld, type CaseWorld } from './helpers/cases.ts';
import { signIn, type SignedIn } from './helpers/identity.ts';
import { decodeTile, tileOf } from './helpers/mvt.ts';
import { binary, fixturesDir } from './helpers/platform.ts';

const QJP = '320812'; // 清江浦区
const HA = '320803'; // 淮安区

let w: CaseWorld;
const u: Record<string, SignedIn> = {};
/** Two streets of 清江浦区 and a point in each. */
let streets: Array<{ code: string; lon: number; lat: number }>;
let jpeg: Buffer;

test.before(async () => {
  w = await startCaseWorld();
  jpeg = await readFile(path.join(fixturesDir, 'photos', 'rotated-gps.jpg'));
  const { rows } = await w.p.sql.query<{ code: string; lon: number; lat: number }>(
    `SELECT DISTINCT ON (street_code) street_code AS code, ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat
     FROM urban.grid_cells WHERE district_code = $1 ORDER BY street_code, code LIMIT 2`,
    [QJP],
  );
  streets = rows;
  const people: Array<[string, string[], string[], string?]> = [
    ['qjp.acceptor', ['acceptor'], [QJP]],
    ['ha.acceptor', ['acceptor'], [HA]],
    ['qjp.dispatcher', ['dispatcher'], [QJP]],
    ['ha.dispatcher', ['dispatcher'], [HA]],
    ['street.handler', ['handler'], [streets[0]!.code]],
    ['ha.inspector', ['inspector'], [HA]],
    ['qjp.evaluator', ['evaluator'], [QJP]],
    ['city.supervisor', ['supervisor'], ['320800']],
  ];
  for (const [login, roles, scopes] of people) u[login] = await signIn(w.p, login, { roles, scopes, department: 'cgj' });
});
test.after.always(async () => {
  await w?.p.close();
});

const key = (role: string) => `Bearer ${w.keys[role]!.key}`;
/** A case reported by the city-wide inspector key at a place. */
async function reportAt(at: { lon: number; lat: number }, category = 'SJ0501', extra: Record<string, unknown> = {}) {
  const r = await w.p.http.post('/api/cases').set('Authorization', key('inspector')).send({ category, lon: at.lon, lat: at.lat, ...extra });
  if (r.status !== 201) throw new Error(`report: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as { id: string; code: string; duplicates: Array<{ code: string }> };
}
const get = (who: string, url: string) => u[who]!.agent.get(url);
const act = (who: string, ref: string, body: Record<string, unknown>) =>
  u[who]!.agent.post(`/api/cases/${ref}/transitions`).set('X-CSRF-Token', u[who]!.csrf).send(body);
const listed = async (who: string, query = 'limit=1000') => {
  const r = await get(who, `/api/cases?${query}`);
  if (r.status !== 200) throw new Error(`list: ${r.status} ${JSON.stringify(r.body)}`);
  return (r.body.cases as Array<{ code: string; district_code: string; street_code: string }>);
};

test('a district acceptor lists and reads only its district\'s cases; another district\'s case is 404 and cannot be filed', async (t) => {
  const a = await reportAt(await w.placeIn(QJP, 40));
  const b = await reportAt(await w.placeIn(HA, 40));
  const qjp = await listed('qjp.acceptor');
  t.true(qjp.some((c) => c.code === a.code));
  t.false(qjp.some((c) => c.code === b.code));
  t.true(qjp.every((c) => c.district_code === QJP));
  const ha = await listed('ha.acceptor');
  t.true(ha.some((c) => c.code === b.code) && !ha.some((c) => c.code === a.code));
  // Asking for the other district by filter does not widen the scope.
  t.deepEqual(await listed('qjp.acceptor', `district=${HA}`), []);
  // The sheet of a case outside the scope is answered like an unknown case (its existence does not leak).
  const sheet = await get('qjp.acceptor', `/api/cases/${b.code}`);
  t.is(sheet.status, 404);
  t.is(sheet.body.error, 'unknown_case');
  t.is((await get('qjp.acceptor', `/api/cases/${a.code}`)).status, 200);
  const refused = await act('qjp.acceptor', b.code, { action: 'accept' });
  t.is(refused.status, 404);
  t.is((await w.p.http.get(`/api/cases/${b.code}`).set('Authorization', key('reader'))).body.state, 'reported', 'nothing moved');
  t.is((await act('ha.acceptor', b.code, { action: 'accept' })).status, 200);
  t.is((await act('qjp.acceptor', a.code, { action: 'accept' })).status, 200);
  // The city-wide supervisor sees both.
  const city = await listed('city.supervisor');
  t.true(city.some((c) => c.code === a.code) && city.some((c) => c.code === b.code));
});

test('a district dispatcher dispatches only in its district; a street-scoped handler sees and handles only its street', async (t) => {
  const [s1, s2] = streets;
  t.truthy(s2, 'the sample district has two streets');
  const inS1 = await reportAt(s1!, 'SJ0104');
  const inS2 = await reportAt(s2!, 'SJ0104');
  const inHA = await reportAt(await w.placeIn(HA, 41), 'SJ0104');
  for (const c of [inS1, inS2]) t.is((await act('qjp.acceptor', c.code, { action: 'accept' })).status, 200);
  t.is((await act('ha.acceptor', inHA.code, { action: 'accept' })).status, 200);
  t.is((await act('ha.dispatcher', inS1.code, { action: 'dispatch' })).status, 404, 'another district\'s dispatcher');
  t.is((await act('qjp.dispatcher', inHA.code, { action: 'dispatch' })).status, 404);
  for (const c of [inS1, inS2]) t.is((await act('qjp.dispatcher', c.code, { action: 'dispatch', department: 'cgj', reason: '测试' })).status, 200);
  // The handler of street 1 (department cgj, to which both were dispatched) sees street 1's case only.
  const mine = await listed('street.handler', 'queue=mine&limit=1000');
  t.true(mine.some((c) => c.code === inS1.code));
  t.false(mine.some((c) => c.code === inS2.code));
  t.true(mine.every((c) => c.street_code === s1!.code));
  t.is((await act('street.handler', inS2.code, { action: 'take' })).status, 404);
  const took = await act('street.handler', inS1.code, { action: 'take' });
  t.is(took.status, 200);
  t.is(took.body.state, 'handling');
});

test('an inspector limited to a district reports there only: a report outside is 403 and writes nothing', async (t) => {
  const outside = await w.placeIn(QJP, 42);
  const mine = `SELECT count(*)::int AS n FROM cases.cases WHERE reporter = 'user:${u['ha.inspector']!.userId}'`;
  const r = await u['ha.inspector']!.agent.post('/api/cases').set('X-CSRF-Token', u['ha.inspector']!.csrf).send({ category: 'SJ0102', ...outside });
  t.is(r.status, 403);
  t.is(r.body.error, 'out_of_scope');
  t.regex(r.body.message, /320812/);
  t.is((await w.p.sql.query(mine)).rows[0].n, 0);
  const inside = await u['ha.inspector']!.agent.post('/api/cases').set('X-CSRF-Token', u['ha.inspector']!.csrf).send({ category: 'SJ0102', ...(await w.placeIn(HA, 42)) });
  t.is(inside.status, 201);
  // Reporters without case:read follow their own reports (queue=reports), also scoped.
  const reports = await get('ha.inspector', '/api/cases?queue=reports');
  t.deepEqual(reports.body.cases.map((c: { code: string }) => c.code), [inside.body.code]);
});

test('duplicates and merging stop at the scope: a case across the boundary is neither offered nor a merge target', async (t) => {
  // Two reports of the same 小类 at the same place: the second is offered the first as a duplicate, unless the
  // reader is limited to another district.
  const at = await w.placeIn(QJP, 43);
  const first = await reportAt(at, 'SJ0102');
  const second = await reportAt(at, 'SJ0102');
  t.true(second.duplicates.some((d) => d.code === first.code));
  const dupsQjp = await get('qjp.dispatcher', `/api/cases/${second.code}/duplicates`);
  t.true(dupsQjp.body.duplicates.some((d: { code: string }) => d.code === first.code));
  const other = await reportAt(await w.placeIn(HA, 43), 'SJ0102');
  // ha's dispatcher cannot merge its case into a 清江浦区 case (the target is unknown to it).
  const merged = await act('ha.dispatcher', other.code, { action: 'merge', target: first.code });
  t.is(merged.status, 400);
  t.is(merged.body.error, 'unknown_target');
  t.is((await act('qjp.dispatcher', second.code, { action: 'merge', target: first.code })).status, 200);
});

test('photos of a case outside the scope are 404; the evaluation counts only the scope\'s cases', async (t) => {
  const at = await w.placeIn(HA, 44);
  const r = await w.p.http
    .post('/api/cases')
    .set('Authorization', key('inspector'))
    .field('category', 'SJ0201')
    .field('lon', String(at.lon))
    .field('lat', String(at.lat))
    .attach('photo', jpeg, 'p.jpg');
  t.is(r.status, 201, JSON.stringify(r.body));
  const hash = (await w.p.sql.query(`SELECT hash FROM cases.case_photos WHERE case_id = $1`, [r.body.id])).rows[0].hash;
  t.is((await get('ha.acceptor', `/api/cases/photos/${hash}/thumb`)).status, 200);
  t.is((await get('qjp.acceptor', `/api/cases/photos/${hash}/thumb`)).status, 404);
  await act('ha.acceptor', r.body.code, { action: 'accept' });
  const ev = await get('qjp.evaluator', '/api/cases/evaluation?by=district');
  t.is(ev.status, 200);
  t.true(ev.body.rows.length > 0);
  t.deepEqual([...new Set(ev.body.rows.map((x: { group: string }) => x.group))], [QJP]);
  const city = await get('city.supervisor', '/api/cases/evaluation?by=district');
  t.true(city.body.rows.some((x: { group: string }) => x.group === HA));
});

// -------------------------------------------------------------------------------------------------------------
// The layers: cases_open (a function, never cached) and cases_closed (a view, cached per scope)
// -------------------------------------------------------------------------------------------------------------

/** The tile at the layer's minzoom holding all the points, so one tile shows both districts. */
function sharedTile(points: Array<{ lon: number; lat: number }>, z: number) {
  const [first, ...rest] = points.map((p) => tileOf(p.lon, p.lat, z));
  if (rest.some((t) => t.x !== first!.x || t.y !== first!.y)) throw new Error(`the points share no tile at z${z}`);
  return { z, x: first!.x, y: first!.y };
}
async function codesIn(layer: string, tile: { z: number; x: number; y: number }, asWho: { user?: string; key?: string }) {
  const url = `/tiles/${layer}/${tile.z}/${tile.x}/${tile.y}.mvt`;
  const req = asWho.user ? u[asWho.user]!.agent.get(url) : w.p.http.get(url).set('Authorization', `Bearer ${asWho.key}`);
  const res = await req.set('Accept-Encoding', 'identity').buffer(true).parse(binary);
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return (decodeTile(res.body as Buffer, tile.z, tile.x, tile.y)[layer] ?? []).map((f) => f.properties.code as string);
}

test('the open-cases layer shows a district\'s user its district\'s cases only, the city-wide user all, tile by tile', async (t) => {
  const a = await reportAt(await w.placeIn(QJP, 45), 'SJ0105');
  const b = await reportAt(await w.placeIn(HA, 45), 'SJ0105');
  const s1 = await reportAt(streets[0]!, 'SJ0105');
  const sheetA = (await w.p.http.get(`/api/cases/${a.code}`).set('Authorization', key('reader'))).body;
  const sheetB = (await w.p.http.get(`/api/cases/${b.code}`).set('Authorization', key('reader'))).body;
  const tile = sharedTile([sheetA, sheetB, streets[0]!], 8);
  // The city-wide user first: the scoped users must not be served the city's tile.
  const city = await codesIn('cases_open', tile, { user: 'city.supervisor' });
  t.true(city.includes(a.code) && city.includes(b.code));
  const qjp = await codesIn('cases_open', tile, { user: 'qjp.acceptor' });
  t.true(qjp.includes(a.code));
  t.false(qjp.includes(b.code));
  const ha = await codesIn('cases_open', tile, { user: 'ha.dispatcher' });
  t.true(ha.includes(b.code));
  t.false(ha.includes(a.code));
  // A scoped machine key is limited the same way.
  const { key: haKey } = await w.p.platform.keys.create('cgj', 'ha layers', ['layer:read'], { scopes: [HA] });
  const byKey = await codesIn('cases_open', tile, { key: haKey });
  t.true(byKey.includes(b.code) && !byKey.includes(a.code));
  // A street scope narrows the layer to the street.
  const street = await codesIn('cases_open', tile, { user: 'street.handler' });
  t.true(street.includes(s1.code));
  const streetsOf = await w.p.sql.query<{ code: string; street_code: string }>(`SELECT code, street_code FROM cases.cases WHERE code = ANY($1)`, [street]);
  t.true(streetsOf.rows.every((r) => r.street_code === streets[0]!.code));
});

test('the closed-cases layer (tiles and features) is scoped too, and each scope has its own cached tile', async (t) => {
  const a = await reportAt(await w.placeIn(QJP, 46), 'SJ0106');
  const b = await reportAt(await w.placeIn(HA, 46), 'SJ0106');
  t.is((await act('qjp.acceptor', a.code, { action: 'reject', reason: '不属于受理范围' })).status, 200);
  t.is((await act('ha.acceptor', b.code, { action: 'reject', reason: '不属于受理范围' })).status, 200);
  const sheetA = (await w.p.http.get(`/api/cases/${a.code}`).set('Authorization', key('reader'))).body;
  const sheetB = (await w.p.http.get(`/api/cases/${b.code}`).set('Authorization', key('reader'))).body;
  const tile = sharedTile([sheetA, sheetB], 10);
  for (let round = 0; round < 2; round++) {
    // The second round is served from the cache: each scope still gets its own tile.
    const city = await codesIn('cases_closed', tile, { user: 'city.supervisor' });
    t.true(city.includes(a.code) && city.includes(b.code));
    const qjp = await codesIn('cases_closed', tile, { user: 'qjp.acceptor' });
    t.true(qjp.includes(a.code) && !qjp.includes(b.code));
  }
  const items = await get('qjp.acceptor', '/collections/cases_closed/items?limit=1000');
  t.is(items.status, 200);
  const codes = items.body.features.map((f: { properties: { code: string } }) => f.properties.code);
  t.true(codes.includes(a.code));
  t.false(codes.includes(b.code));
  t.false(JSON.stringify(items.body).includes('scope_code'), 'the scope column is not one of the layer\'s properties');
});
