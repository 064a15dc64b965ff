// The city's three levels (市县乡三级联动): a district's or township's staff see their area, compiled into the
// SQL of every endpoint and into the tile cache key, so no cached city tile reaches a district user.
import test from 'ava';
import path from 'node:path';
import pg from 'pg';
import supertest from 'supertest';
import { decodeTile, tileOf } from './helpers/mvt.ts';
import { signIn, type SignedIn } from './helpers/identity.ts';
import { binary, fixturesDir, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

// Two districts side by side, a township of the first, and the city around them.
const BOUNDARIES = `INSERT INTO basemap.prefecture (id, name, adcode, geom) VALUES (1, '淮安市', '320800', ST_Multi(ST_MakeEnvelope(118.9, 33.5, 119.1, 33.6, 4326)));
INSERT INTO basemap.districts (id, adcode, name, geom) VALUES
  (320812, '320812', '清江浦区', ST_Multi(ST_MakeEnvelope(119.0, 33.5, 119.1, 33.6, 4326))),
  (320804, '320804', '淮阴区', ST_Multi(ST_MakeEnvelope(118.9, 33.5, 119.0, 33.6, 4326)));
INSERT INTO basemap.streets (id, code, name, kind, district_code, geom) VALUES
  (1, '320812001', '淮海街道', '街道', '320812', ST_Multi(ST_MakeEnvelope(119.0, 33.5, 119.05, 33.6, 4326)));`;
const TABLES = `
CREATE TABLE sc_points (id integer PRIMARY KEY, name text, grid_code text, people integer, geom geometry(Point, 4326));
CREATE INDEX ON sc_points USING gist (geom);
INSERT INTO sc_points VALUES
  (1, 'Q1', '320812001001001', 10, ST_SetSRID(ST_MakePoint(119.02, 33.55), 4326)),
  (2, 'Q2', '320812101001001', 20, ST_SetSRID(ST_MakePoint(119.08, 33.55), 4326)),
  (3, 'H1', '320804001001001', 40, ST_SetSRID(ST_MakePoint(118.95, 33.55), 4326)),
  (4, 'H2', '320804002001001', 80, ST_SetSRID(ST_MakePoint(118.98, 33.56), 4326));
-- Stored in CGCS2000 / 3-degree Gauss-Krüger CM 120E, as the bureaus' files are.
CREATE TABLE sc_areas (id integer PRIMARY KEY, name text, geom geometry(Polygon, 4549));
CREATE INDEX ON sc_areas USING gist (geom);
INSERT INTO sc_areas VALUES
  (1, 'in QJP', ST_Transform(ST_MakeEnvelope(119.03, 33.52, 119.04, 33.53, 4326), 4549)),
  (2, 'in HY', ST_Transform(ST_MakeEnvelope(118.93, 33.52, 118.94, 33.53, 4326), 4549)),
  (3, 'straddling', ST_Transform(ST_MakeEnvelope(118.99, 33.57, 119.01, 33.58, 4326), 4549));
`;

let p: TestPlatform;
const users: Record<string, SignedIn> = {};
const T = tileOf(119.0, 33.55, 10);

test.before(async () => {
  p = await startTestPlatform(
    {},
    {
      layersDir: path.join(fixturesDir, 'layers-scope'),
      beforeStart: async (url) => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        await c.query(TABLES);
        await c.end();
      },
    },
  );
  await p.sql.query(BOUNDARIES);
  users.qjp = await signIn(p, 'qjp.staff', { scopes: ['320812'] });
  users.hy = await signIn(p, 'hy.staff', { scopes: ['320804'] });
  users.street = await signIn(p, 'jiedao.staff', { scopes: ['320812001'] });
  users.city = await signIn(p, 'city.staff', { scopes: ['320800'] });
  users.admin = await signIn(p, 'scope.admin', { roles: ['admin'] });
});
test.after.always(async () => {
  await p?.close();
});

const as = (who: string) => (who === 'anonymous' ? supertest(p.platform.app.callback()) : users[who]!.agent);

async function tileNames(who: string, layer: string, url = `/tiles/${layer}/${T.z}/${T.x}/${T.y}.mvt`): Promise<{ names: string[]; etag: string }> {
  const res = await as(who).get(url).buffer(true).parse(binary);
  if (res.status === 204) return { names: [], etag: String(res.headers.etag) };
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  const decoded = decodeTile(res.body as Buffer, T.z, T.x, T.y);
  return { names: (decoded[layer] ?? []).map((f) => String(f.properties.name)).sort(), etag: String(res.headers.etag) };
}

test.serial('tiles: a district sees its features (by code column and by area), a township less, the city and the public all', async (t) => {
  t.deepEqual((await tileNames('qjp', 'sc_points')).names, ['Q1', 'Q2']);
  t.deepEqual((await tileNames('hy', 'sc_points')).names, ['H1', 'H2']);
  t.deepEqual((await tileNames('street', 'sc_points')).names, ['Q1']);
  t.deepEqual((await tileNames('city', 'sc_points')).names, ['H1', 'H2', 'Q1', 'Q2']);
  t.deepEqual((await tileNames('anonymous', 'sc_points')).names, ['H1', 'H2', 'Q1', 'Q2']);
  t.deepEqual((await tileNames('qjp', 'sc_areas')).names, ['in QJP', 'straddling']);
  t.deepEqual((await tileNames('hy', 'sc_areas')).names, ['in HY', 'straddling']);
  t.deepEqual((await tileNames('street', 'sc_areas')).names, ['in QJP', 'straddling']);
  t.deepEqual((await tileNames('city', 'sc_areas')).names, ['in HY', 'in QJP', 'straddling']);
  t.deepEqual((await tileNames('qjp', 'sc_plain')).names, ['H1', 'H2', 'Q1', 'Q2'], 'an undeclared layer is not scoped');
});

test.serial('the same tile URL gives a district and the city different bytes and ETags, from cache too', async (t) => {
  const url = `/tiles/sc_points/${T.z}/${T.x}/${T.y}.mvt`;
  const city1 = await tileNames('city', 'sc_points', url);
  const qjp1 = await tileNames('qjp', 'sc_points', url);
  const city2 = await tileNames('city', 'sc_points', url);
  const qjp2 = await tileNames('qjp', 'sc_points', url);
  t.not(city1.etag, qjp1.etag);
  t.is(city1.etag, city2.etag);
  t.is(qjp1.etag, qjp2.etag);
  t.deepEqual(qjp2.names, ['Q1', 'Q2'], 'served from the cache under the district’s own key');
  const res = await as('qjp').get(url).buffer(true).parse(binary);
  t.regex(String(res.headers['cache-control']), /private/, 'a shared cache must not keep a district’s tile for others');
  t.regex(String(res.headers.vary), /Cookie/);
});

test.serial('OGC API tiles, filtered tiles and composites are scoped the same way', async (t) => {
  const ogc = `/collections/sc_points/tiles/WebMercatorQuad/${T.z}/${T.y}/${T.x}`;
  t.deepEqual((await tileNames('qjp', 'sc_points', ogc)).names, ['Q1', 'Q2']);
  const filtered = `/tiles/sc_points/${T.z}/${T.x}/${T.y}.mvt?filter=${encodeURIComponent('people > 15')}`;
  t.deepEqual((await tileNames('qjp', 'sc_points', filtered)).names, ['Q2']);
  t.deepEqual((await tileNames('city', 'sc_points', filtered)).names, ['H1', 'H2', 'Q2']);
  const res = await as('hy').get(`/tiles/sc_points,sc_plain/${T.z}/${T.x}/${T.y}.mvt`).buffer(true).parse(binary);
  const both = decodeTile(res.body as Buffer, T.z, T.x, T.y);
  t.deepEqual(both.sc_points!.map((f) => f.properties.name).sort(), ['H1', 'H2']);
  t.is(both.sc_plain!.length, 4);
});

test.serial('items, one item, counts, identify and POST /query see only the district', async (t) => {
  const items = await as('qjp').get('/collections/sc_points/items').query({ numberMatched: 'true' });
  t.deepEqual(items.body.features.map((f: { properties: { name: string } }) => f.properties.name).sort(), ['Q1', 'Q2']);
  t.is(items.body.numberMatched, 2);
  t.is((await as('qjp').get('/collections/sc_points/items/3')).status, 404, 'a 淮阴区 feature does not exist for 清江浦区');
  t.is((await as('city').get('/collections/sc_points/items/3')).status, 200);
  const areas = await as('hy').get('/collections/sc_areas/items');
  t.deepEqual(areas.body.features.map((f: { properties: { name: string } }) => f.properties.name).sort(), ['in HY', 'straddling']);

  const nearH1 = await as('qjp').get('/identify').query({ lon: 118.95, lat: 33.55, zoom: 14, layers: 'sc_points' });
  t.is(nearH1.body.features.length, 0);
  const nearQ1 = await as('qjp').get('/identify').query({ lon: 119.02, lat: 33.55, zoom: 14, layers: 'sc_points' });
  t.deepEqual(nearQ1.body.features.map((f: { properties: { name: string } }) => f.properties.name), ['Q1']);
  const cityH1 = await as('city').get('/identify').query({ lon: 118.95, lat: 33.55, zoom: 14 });
  t.true(cityH1.body.features.some((f: { properties: { name: string } }) => f.properties.name === 'H1'));

  const polygon = { type: 'Polygon', coordinates: [[[118.9, 33.5], [119.1, 33.5], [119.1, 33.6], [118.9, 33.6], [118.9, 33.5]]] };
  const q = await as('qjp').post('/query').set('X-CSRF-Token', users.qjp!.csrf).send({ geometry: polygon, layers: ['sc_points'], limit: 10 });
  t.is(q.status, 200);
  t.is(q.body.layers[0].count, 2);
  t.is(q.body.layers[0].sums.people, 30);
  const qc = await as('city').post('/query').set('X-CSRF-Token', users.city!.csrf).send({ geometry: polygon, layers: ['sc_points'] });
  t.is(qc.body.layers[0].sums.people, 150);
});

test.serial('a key carries a scope too', async (t) => {
  const { key } = await p.platform.keys.create('cgj', 'district system', ['layer:read'], { scopes: ['320804'] });
  const res = await supertest(p.platform.app.callback())
    .get(`/tiles/sc_points/${T.z}/${T.x}/${T.y}.mvt`)
    .set('Authorization', `Bearer ${key}`)
    .buffer(true)
    .parse(binary);
  t.deepEqual(decodeTile(res.body as Buffer, T.z, T.x, T.y).sc_points!.map((f) => f.properties.name).sort(), ['H1', 'H2']);
});

test.serial('a change of scope applies to the very next tile (no stale window, no cached tile of the old scope)', async (t) => {
  t.deepEqual((await tileNames('qjp', 'sc_points')).names, ['Q1', 'Q2']);
  const admin = users.admin!;
  const patched = await admin.agent.patch(`/api/admin/users/${users.qjp!.userId}`).set('X-CSRF-Token', admin.csrf).send({ scopes: ['320804'] });
  t.is(patched.status, 200);
  t.deepEqual((await tileNames('qjp', 'sc_points')).names, ['H1', 'H2']);
  await admin.agent.patch(`/api/admin/users/${users.qjp!.userId}`).set('X-CSRF-Token', admin.csrf).send({ scopes: ['320812'] });
  t.deepEqual((await tileNames('qjp', 'sc_points')).names, ['Q1', 'Q2']);
  const { rows } = await p.sql.query(`SELECT details FROM citybase.audit_log WHERE action = 'user.update' AND target = 'qjp.staff' ORDER BY id`);
  t.deepEqual(rows[0].details.scopes, { from: ['320812'], to: ['320804'] });
});

test.serial('a scope must be a code of the platform’s own boundaries', async (t) => {
  const admin = users.admin!;
  const res = await admin.agent.patch(`/api/admin/users/${users.hy!.userId}`).set('X-CSRF-Token', admin.csrf).send({ scopes: ['320899'] });
  t.is(res.status, 400);
  t.regex(res.body.message, /320899/);
});

test.serial('downloads and the geocoder are scoped too: a district exports and finds only its own features', async (t) => {
  const csv = await as('qjp').get('/collections/sc_points/download').query({ f: 'csv' }).buffer(true).parse((res, done) => {
    let text = '';
    res.on('data', (c: Buffer) => (text += c.toString('utf8')));
    res.on('end', () => done(null, text));
  });
  t.is(csv.status, 200);
  const text = String(csv.body);
  t.true(text.includes('Q1') && text.includes('Q2'));
  t.false(text.includes('H1') || text.includes('H2'), 'no 淮阴区 row in a 清江浦区 export');
  const geojson = await as('city').get('/collections/sc_points/download').query({ f: 'geojson' });
  t.is(JSON.parse(geojson.text).features.length, 4);
  const exported = await p.sql.query(`SELECT actor, target, details FROM citybase.audit_log WHERE action = 'data.export' ORDER BY id`);
  t.deepEqual(
    exported.rows.map((r) => [r.actor, r.target, r.details.features]),
    [['qjp.staff', 'sc_points', 2], ['city.staff', 'sc_points', 4]],
    'every export is in the audit trail, with what it held',
  );

  // sc_plain (the same points, not scoped) is found by everyone; the scoped layer only within the scope.
  const found = async (who: string, q: string) =>
    ((await as(who).get('/api/geocode').query({ q })).body.results as Array<{ layer: string; name: string }>).map((r) => `${r.layer}:${r.name}`);
  t.false((await found('qjp', 'H1')).includes('sc_points:H1'));
  t.true((await found('qjp', 'H1')).includes('sc_plain:H1'));
  t.true((await found('city', 'H1')).includes('sc_points:H1'));
  t.true((await found('qjp', 'Q2')).includes('sc_points:Q2'));
});
