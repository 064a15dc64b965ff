// The cases as layers: open cases with their state and clock in the next tile after any change (never cached),
// closed cases evicted by the triggers, and the public layer that shows only what the centre publishes
// (category, state, the grid cell's centre; never the pin, names, phones or photos).
import test from 'ava';
import { decodeTile, tileOf } from './helpers/mvt.ts';
import { startCaseWorld, type CaseWorld } from './helpers/cases.ts';
import { binary } from './helpers/platform.ts';

let w: CaseWorld;
test.before(async () => {
  w = await startCaseWorld();
});
test.after.always(async () => {
  await w?.p.close();
});

const Z = 15;
const auth = (role: string) => `Bearer ${w.keys[role]!.key}`;
async function tile(layer: string, at: { lon: number; lat: number }, role?: string) {
  const { x, y } = tileOf(at.lon, at.lat, Z);
  let req = w.p.http.get(`/tiles/${layer}/${Z}/${x}/${y}.mvt`).set('Accept-Encoding', 'identity');
  if (role) req = req.set('Authorization', auth(role));
  const res = await req.buffer(true).parse(binary);
  return { status: res.status, features: res.status === 200 ? (decodeTile(res.body as Buffer, Z, x, y)[layer] ?? []) : [] };
}
const act = (role: string, code: string, body: Record<string, unknown>) =>
  w.p.http.post(`/api/cases/${code}/transitions`).set('Authorization', auth(role)).send(body).then((r) => {
    if (r.status !== 200) throw new Error(`${body.action}: ${r.status} ${JSON.stringify(r.body)}`);
  });

test('an open case shows in cases_open; each transition and the clock show in the next tile, without reload', async (t) => {
  const at = await w.placeIn('320812', 20);
  const { code, id } = (await w.p.http.post('/api/cases').set('Authorization', auth('inspector')).send({ category: 'SJ0102', ...at })).body;
  t.is((await tile('cases_open', at)).status, 404, 'internal: anonymous callers do not see it');
  const find = async () => (await tile('cases_open', at, 'layerReader')).features.find((f) => f.properties.code === code);
  t.like((await find())?.properties, { state: 'reported', state_name: '上报', overdue: false, district_code: '320812' });
  await act('acceptor', code, { action: 'accept' });
  t.like((await find())?.properties, { state: 'accepted' });
  await act('dispatcher', code, { action: 'dispatch' });
  await act('supervisor', code, { action: 'supervise', reason: '重点区域' });
  t.like((await find())?.properties, { state: 'dispatched', supervised: true, department_id: 'cgj' });
  // The deadline passes (here: the step began long ago); the next tile says 超期 with no timer involved.
  await w.p.sql.query(`UPDATE cases.case_steps SET due_at = now() - interval '1 minute', warn_at = now() - interval '1 hour' WHERE case_id = $1 AND ended_at IS NULL`, [id]);
  t.like((await find())?.properties, { overdue: true, warning: false });
  await act('supervisor', code, { action: 'cancel', reason: '测试' });
  t.is(await find(), undefined, 'a closed case leaves the open layer');
});

test('a closed case appears in cases_closed in the next tile (evicted by the triggers, not stale)', async (t) => {
  const at = await w.placeIn('320812', 21);
  const { code } = (await w.p.http.post('/api/cases').set('Authorization', auth('inspector')).send({ category: 'SJ0104', ...at })).body;
  const closedCodes = async () => (await tile('cases_closed', at, 'layerReader')).features.map((f) => f.properties.code);
  t.false((await closedCodes()).includes(code)); // cached now
  await act('acceptor', code, { action: 'reject', reason: '不属于受理范围' });
  t.true((await closedCodes()).includes(code));
});

test('the public layer shows a case once filed, with category, state and the grid cell only', async (t) => {
  const at = await w.placeIn('320803', 22);
  const { code, id } = (await w.p.http.post('/api/cases').set('Authorization', auth('inspector')).send({ category: 'SJ0201', ...at, description: '张三 13800000000 贴小广告' })).body;
  const mine = async () => (await tile('cases_public', at)).features.find((f) => f.id === Number(id));
  t.is(await mine(), undefined, 'an unfiled report is not published');
  await act('acceptor', code, { action: 'accept' });
  const f = await mine();
  t.truthy(f);
  t.deepEqual(Object.keys(f!.properties).sort(), ['category_name', 'kind', 'reported_on', 'state_name', 'status']);
  t.like(f!.properties, { category_name: '非法小广告', state_name: '已立案', status: 'open' });
  // The published place is the 单元网格's, not the reporter's pin.
  const cell = (await w.p.sql.query(`SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(g.geom) AS p FROM urban.grid_cells g JOIN cases.cases c ON c.grid_code = g.code WHERE c.id = $1) x`, [id])).rows[0];
  const [lon, lat] = f!.geometry.coordinates as [number, number];
  t.true(Math.abs(lon - cell.lon) < 1e-4 && Math.abs(lat - cell.lat) < 1e-4, `${lon},${lat} vs ${cell.lon},${cell.lat}`);
  const items = await w.p.http.get(`/collections/cases_public/items/${id}`);
  t.is(items.status, 200);
  t.false(JSON.stringify(items.body).includes('13800000000'));
});
