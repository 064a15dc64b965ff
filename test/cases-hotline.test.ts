// 12345 热线 intake by API: an operator (role hotline_operator) finds the caller's address with the platform's
// geocoder (/api/geocode, on the sample city's real names), registers the case at the confirmed point with source
// 12345热线 and the caller's phone; the phone is kept for the call-back but never leaves the server except
// masked on the desk's sheet: not in the list, not in Open311 (JSON or XML), not in the layers, not in the
// timeline or the audit trail. Only the hotline may register for callers.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { startCaseWorld, type CaseWorld } from './helpers/cases.ts';
import { signIn, type SignedIn } from './helpers/identity.ts';
import { decodeTile, tileOf } from './helpers/mvt.ts';
import { binary, fixturesDir } from './helpers/platform.ts';

let w: CaseWorld;
let op: SignedIn;
let inspector: SignedIn;
const PHONE = '13912345678';

test.before(async () => {
  w = await startCaseWorld();
  op = await signIn(w.p, 'hotline.op', { roles: ['hotline_operator'], department: 'cgj' });
  inspector = await signIn(w.p, 'street.inspector', { roles: ['inspector'], department: 'cgj' });
});
test.after.always(async () => {
  await w?.p.close();
});

interface Place { kind: string; name: string; code: string | null; match: { quality: string; text: string }; point: [number, number]; context: Record<string, { code: string; name: string }> }
const geocode = async (q: string): Promise<Place[]> => {
  const r = await op.agent.get('/api/geocode').query({ q });
  if (r.status !== 200) throw new Error(`geocode ${q}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.results;
};
const register = (who: SignedIn, body: Record<string, unknown>) => who.agent.post('/api/cases').set('X-CSRF-Token', who.csrf).send(body);

/** A community of the sample city whose name is unique, with its street and district. */
async function aCommunity() {
  const { rows } = await w.p.sql.query<{ code: string; name: string; street_code: string }>(
    `SELECT code, name, street_code FROM basemap.communities c
     WHERE left(code, 6) = '320812' AND (SELECT count(*) FROM basemap.communities d WHERE d.name = c.name) = 1
       AND EXISTS (SELECT 1 FROM urban.grid_cells g WHERE g.community_code = c.code)
     ORDER BY code LIMIT 1`,
  );
  return rows[0]!;
}

test('the operator finds the caller\'s address by name and registers the case there: source 12345热线, located by the point', async (t) => {
  const community = await aCommunity();
  // The caller says a community's name: the geocoder answers with the exact match first, and where it lies.
  const places = await geocode(community.name);
  const hit = places[0]!;
  t.is(hit.kind, 'community');
  t.is(hit.code, community.code);
  t.is(hit.match.quality, 'exact');
  t.is(hit.context.street?.code, community.street_code);
  // A road the caller names is found too (the form lists both kinds with the match shown).
  const road = (await w.p.sql.query<{ name: string }>(`SELECT name FROM basemap.roads WHERE kind = '城市主干路' ORDER BY id LIMIT 1`)).rows[0]!;
  t.true((await geocode(road.name)).some((p) => p.kind === 'road' && p.name === road.name));

  const [lon, lat] = hit.point;
  const r = await register(op, {
    category: 'SJ0102', lon, lat, source: '12345热线', address: `${community.name}东门`, description: '来电反映: 小区门口垃圾堆放三天',
    contact: { name: '王小明', phone: PHONE },
  });
  t.is(r.status, 201, JSON.stringify(r.body));
  const sheet = (await op.agent.get(`/api/cases/${r.body.code}`)).body;
  t.like(sheet, { source: '12345热线', address: `${community.name}东门`, street_code: community.street_code, district_code: '320812', state: 'reported' });
  t.is(sheet.reporter, `user:${op.userId}`);
  // The desk sees the caller masked; the full phone is not in the sheet.
  t.deepEqual(sheet.contact_masked, { name: '王**', phone: '139****5678' });
  t.false(JSON.stringify(sheet).includes(PHONE));
  // The operator finds the 12345 registrations in the queue by source.
  const listed = await op.agent.get('/api/cases?source=12345热线');
  t.true(listed.body.cases.some((c: { code: string }) => c.code === r.body.code));
});

test('the caller\'s phone is in no list, Open311 answer, layer, timeline or audit record', async (t) => {
  const at = await w.placeIn('320812', 50);
  const r = await register(op, { category: 'SJ0201', ...at, source: '12345热线', address: '健康东路 12 号', contact: { name: '李四', phone: '0517-83456789' } });
  t.is(r.status, 201, JSON.stringify(r.body));
  const { code, id } = r.body;
  await w.p.http.post(`/api/cases/${code}/transitions`).set('Authorization', `Bearer ${w.keys.acceptor!.key}`).send({ action: 'accept' }).expect(200);
  const secrets = ['83456789', '0517-83456789', '李四'];
  const leaks = (what: string, text: string) => {
    for (const s of secrets) t.false(text.includes(s), `${what} contains ${s}`);
  };
  leaks('the list', JSON.stringify((await op.agent.get('/api/cases?limit=1000')).body));
  leaks('Open311 JSON', JSON.stringify((await w.p.http.get(`/open311/v2/requests/${code}.json`)).body));
  leaks('Open311 XML', (await w.p.http.get(`/open311/v2/requests/${code}.xml`).buffer(true)).text);
  leaks('Open311 list', JSON.stringify((await w.p.http.get(`/open311/v2/requests.json`)).body));
  leaks('the public features', JSON.stringify((await w.p.http.get(`/collections/cases_public/items/${id}`)).body));
  const { x, y } = tileOf(at.lon, at.lat, 15);
  for (const layer of ['cases_public', 'cases_open']) {
    const res = await w.p.http.get(`/tiles/${layer}/15/${x}/${y}.mvt`).set('Authorization', `Bearer ${w.keys.layerReader!.key}`).set('Accept-Encoding', 'identity').buffer(true).parse(binary);
    t.is(res.status, 200);
    const features = decodeTile(res.body as Buffer, 15, x, y)[layer] ?? [];
    leaks(`the ${layer} tile`, JSON.stringify(features.map((f) => f.properties)));
  }
  leaks('the timeline', JSON.stringify((await w.p.sql.query(`SELECT * FROM cases.timeline WHERE case_id = $1`, [id])).rows));
  leaks('the audit trail', JSON.stringify((await w.p.sql.query(`SELECT * FROM citybase.audit_log WHERE target = $1`, [`case:${id}`])).rows));
  // It is kept, for the call-back.
  t.deepEqual((await w.p.sql.query(`SELECT contact FROM cases.cases WHERE id = $1`, [id])).rows[0].contact, { name: '李四', phone: '0517-83456789' });
  const sheet = (await op.agent.get(`/api/cases/${code}`)).body;
  t.deepEqual(sheet.contact_masked, { name: '李*', phone: '051****6789' });
});

test('only the hotline registers for callers, and a registration needs the phone and the address', async (t) => {
  const at = await w.placeIn('320803', 51);
  const refused = await register(inspector, { category: 'SJ0102', ...at, source: '12345热线', address: '某路', contact: { phone: PHONE } });
  t.is(refused.status, 403);
  t.regex(refused.body.message, /case:hotline/);
  const cases = [
    [{ address: '某路' }, 'phone_required'],
    [{ address: '某路', contact: { phone: 'call me' } }, 'invalid_phone'],
    [{ contact: { phone: PHONE } }, 'address_required'],
    [{ address: '某路', contact: { phone: PHONE, email: 'a@b.cn' } }, 'invalid_report'],
  ] as const;
  for (const [body, error] of cases) {
    const r = await register(op, { category: 'SJ0102', ...at, source: '12345热线', ...body });
    t.is(r.status, 400, JSON.stringify(body));
    t.is(r.body.error, error);
  }
  const written = await w.p.sql.query(`SELECT count(*)::int AS n FROM cases.cases WHERE address = '某路' OR (reporter = $1 AND source = '12345热线')`, [`user:${inspector.userId}`]);
  t.is(written.rows[0].n, 0, 'no refused registration wrote a case');
  // The operator's own rights end at registering and reading: filing is the centre's.
  const ok = await register(op, { category: 'SJ0102', ...at, source: '12345热线', address: '某路 1 号', contact: { phone: PHONE } });
  t.is(ok.status, 201);
  const accept = await op.agent.post(`/api/cases/${ok.body.code}/transitions`).set('X-CSRF-Token', op.csrf).send({ action: 'accept' });
  t.is(accept.status, 403);
});

test('a 12345 case\'s 核查 goes to an inspector of its 单元网格, not to the operator who took the call', async (t) => {
  const at = await w.placeIn('320812', 52);
  // An inspector has reported in this grid cell before: they work it.
  const local = await inspector.agent.post('/api/cases').set('X-CSRF-Token', inspector.csrf).send({ category: 'SJ0104', ...at });
  t.is(local.status, 201);
  const r = await register(op, { category: 'SJ0102', ...at, source: '12345热线', address: '某路 2 号', contact: { phone: PHONE } });
  t.is(r.status, 201);
  const act = (role: string, body: Record<string, unknown>) => w.p.http.post(`/api/cases/${r.body.code}/transitions`).set('Authorization', `Bearer ${w.keys[role]!.key}`).send(body);
  t.is((await act('acceptor', { action: 'accept' })).status, 200);
  t.is((await act('dispatcher', { action: 'dispatch' })).status, 200);
  t.is((await act('handler', { action: 'take' })).status, 200);
  const done = await w.p.http
    .post(`/api/cases/${r.body.code}/transitions`)
    .set('Authorization', `Bearer ${w.keys.handler!.key}`)
    .field('action', 'finish')
    .field('note', '已清理')
    .attach('photo', await readFile(path.join(fixturesDir, 'photos', 'plain.png')), 'after.png');
  t.is(done.status, 200, JSON.stringify(done.body));
  const sheet = (await w.p.http.get(`/api/cases/${r.body.code}`).set('Authorization', `Bearer ${w.keys.reader!.key}`)).body;
  t.is(sheet.state, 'checking');
  t.is(sheet.assignee, `user:${inspector.userId}`);
  // It is on that inspector's task list, and they close it.
  const tasks = await inspector.agent.get('/api/cases?queue=tasks');
  t.true(tasks.body.cases.some((c: { code: string }) => c.code === r.body.code));
  const pass = await inspector.agent.post(`/api/cases/${r.body.code}/transitions`).set('X-CSRF-Token', inspector.csrf).send({ action: 'check_pass' });
  t.is(pass.status, 200);
  t.is(pass.body.state, 'closed');
});
