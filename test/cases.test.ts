// 数字城管 cases by API: the whole loop with each role (and an action each role is refused), concurrent
// transitions, idempotent reports, duplicates and merging, routing, reasons, 延期, 挂账/督办/作废, scope in SQL,
// and the evaluation with its CSV. Keys hold the rights of the roles in tile-server/src/access/rights.ts.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Principal } from '../tile-server/src/access/access.ts';
import { caseSheet, listCases } from '../tile-server/src/cases/read.ts';
import { transition } from '../tile-server/src/cases/workflow.ts';
import { startCaseWorld, type CaseWorld } from './helpers/cases.ts';
import { fixturesDir } from './helpers/platform.ts';

let w: CaseWorld;
let jpeg: Buffer;
let png: Buffer;
test.before(async () => {
  w = await startCaseWorld();
  jpeg = await readFile(path.join(fixturesDir, 'photos', 'rotated-gps.jpg'));
  png = await readFile(path.join(fixturesDir, 'photos', 'plain.png'));
});
test.after.always(async () => {
  await w?.p.close();
});

const as = (role: string) => `Bearer ${w.keys[role]!.key}`;
const report = (role: string, body: Record<string, unknown>) => w.p.http.post('/api/cases').set('Authorization', as(role)).send(body);
const act = (role: string, ref: string, body: Record<string, unknown>) =>
  w.p.http.post(`/api/cases/${ref}/transitions`).set('Authorization', as(role)).send(body);
const sheet = async (ref: string, role = 'reader') => (await w.p.http.get(`/api/cases/${ref}`).set('Authorization', as(role))).body;

test('the whole loop: 上报 → 核实 → 立案 → 派遣 → 处置 → 核查 (failed, 返工) → 处置 → 核查 → 结案, each role refused what is not theirs', async (t) => {
  const at = await w.placeIn('320812', 1);
  // 监督员 reports with a photo (multipart): located, routed, coded, on the clock.
  const rep = await w.p.http
    .post('/api/cases')
    .set('Authorization', as('inspector'))
    .field('category', 'SJ0102')
    .field('lon', String(at.lon))
    .field('lat', String(at.lat))
    .field('description', '路边暴露垃圾一堆')
    .attach('photo', jpeg, 'before.jpg');
  t.is(rep.status, 201, JSON.stringify(rep.body));
  t.regex(rep.body.code, /^320800\d{8}\d{4}$/);
  const code: string = rep.body.code;
  let c = await sheet(code);
  t.like(c, { state: 'reported', category_name: '暴露垃圾', district_code: '320812', routed_department: 'cgj', source: '监督员上报', step: 'accept' });
  t.truthy(c.grid_code?.startsWith('320812'));
  t.truthy(c.due_at);

  // The inspector may not 立案; a reader may not report.
  t.is((await act('inspector', code, { action: 'accept' })).status, 403);
  t.is((await report('reader', { category: 'SJ0102', ...at })).status, 403);

  // 受理员 sends a 核实 task to the reporter; it shows in the reporter's tasks; the inspector answers it.
  t.like((await act('acceptor', code, { action: 'request_verify' })).body, { state: 'verifying' });
  const tasks = await w.p.http.get(`/api/cases?queue=tasks&near=${at.lon},${at.lat}`).set('Authorization', as('inspector'));
  t.deepEqual(tasks.body.cases.map((x: { code: string }) => x.code), [code]);
  t.is((await w.p.http.get('/api/cases?queue=tasks').set('Authorization', as('inspector2'))).body.cases.length, 0);
  t.like((await act('inspector', code, { action: 'verify', note: '现场属实' })).body, { state: 'reported' });
  t.like((await act('acceptor', code, { action: 'accept' })).body, { state: 'accepted' });

  // 派遣: a handler may not dispatch; the dispatcher sends it to the routed department.
  t.is((await act('handler', code, { action: 'dispatch' })).status, 403);
  t.like((await act('dispatcher', code, { action: 'dispatch' })).body, { state: 'dispatched' });
  t.like(await sheet(code), { department_id: 'cgj', step: 'handle' });

  // Another department may not take it; the routed one does.
  const wrong = await act('jtjHandler', code, { action: 'take' });
  t.is(wrong.status, 403);
  t.is(wrong.body.error, 'not_your_case');
  t.like((await act('handler', code, { action: 'take' })).body, { state: 'handling' });
  // Other tests of this file run at the same time: the case is in the handler's queue, not necessarily first.
  const mine = await w.p.http.get('/api/cases?queue=mine').set('Authorization', as('handler'));
  t.true((mine.body.cases as Array<{ code: string }>).some((c) => c.code === code));

  // 处置完成 needs an after-photo and a note.
  const noPhoto = await act('handler', code, { action: 'finish', note: '已清理' });
  t.is(noPhoto.status, 400);
  t.is(noPhoto.body.error, 'photo_required');
  const done = await w.p.http.post(`/api/cases/${code}/transitions`).set('Authorization', as('handler'))
    .field('action', 'finish').field('note', '已清理').attach('photo', png, 'after.png');
  t.is(done.status, 200, JSON.stringify(done.body));
  c = await sheet(code);
  t.like(c, { state: 'checking', assignee: `key:${w.keys.inspector!.id}`, step: 'check' });

  // 核查: the acceptor may not; a failed check needs a reason and counts a 返工; then it passes.
  t.is((await act('acceptor', code, { action: 'check_pass' })).status, 403);
  const noReason = await act('inspector', code, { action: 'check_fail' });
  t.is(noReason.status, 400);
  t.is(noReason.body.error, 'reason_required');
  t.like((await act('inspector', code, { action: 'check_fail', reason: '仍有残留' })).body, { state: 'handling' });
  const again = await w.p.http.post(`/api/cases/${code}/transitions`).set('Authorization', as('handler'))
    .field('action', 'finish').field('note', '彻底清理').attach('photo', jpeg, 'after2.jpg');
  t.is(again.status, 200);
  t.like((await act('inspector', code, { action: 'check_pass', note: '已整改' })).body, { state: 'closed' });

  c = await sheet(code);
  t.like(c, { state: 'closed', closed: true, rework_count: 1, step: null });
  t.truthy(c.closed_at);
  t.deepEqual(
    c.timeline.map((e: { action: string }) => e.action),
    ['report', 'request_verify', 'verify', 'accept', 'dispatch', 'take', 'finish', 'check_fail', 'finish', 'check_pass'],
  );
  t.like(c.timeline[7], { from_state: 'checking', to_state: 'handling', reason: '仍有残留', actor: `key:${w.keys.inspector!.id}` });
  t.deepEqual(c.photos.map((p: { phase: string }) => p.phase), ['上报', '处置', '处置']);
  t.deepEqual(c.steps.map((s: { step: string }) => s.step), ['accept', 'verify', 'accept', 'dispatch', 'handle', 'check', 'handle', 'check']);
  t.true(c.steps.every((s: { ended_at: string | null }) => s.ended_at !== null));

  // A closed case accepts no more transitions: 409 with its state.
  const late = await act('supervisor', code, { action: 'cancel', reason: 'x' });
  t.is(late.status, 409);
  t.is(late.body.state, 'closed');

  // The reporter reads their own case; the evaluation counts it.
  t.is((await w.p.http.get(`/api/cases/${code}`).set('Authorization', as('inspector'))).status, 200);
  t.is((await w.p.http.get(`/api/cases/${code}`).set('Authorization', as('inspector2'))).status, 404);
  const day = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
  const ev = await w.p.http.get(`/api/cases/evaluation?from=${day}&to=${day}&by=district`).set('Authorization', as('evaluator'));
  t.is(ev.status, 200);
  const row = ev.body.rows.find((r: { group: string }) => r.group === '320812');
  t.true(row.accepted >= 1 && row.closed >= 1 && row.rework_rate > 0, JSON.stringify(row));
  t.is((await w.p.http.get('/api/cases/evaluation').set('Authorization', as('handler'))).status, 403);
  const csv = await w.p.http.get(`/api/cases/evaluation?from=${day}&to=${day}&by=district&format=csv`).set('Authorization', as('evaluator'));
  t.regex(csv.headers['content-type']!, /^text\/csv/);
  t.true(csv.text.startsWith('\ufeffgroup,accepted,dispatched,returned,closed,dispatch_accuracy'));
  t.regex(csv.text, /\r\n320812,/);
});

test('two people acting on the same case at once: one wins, the other gets 409 with the current state', async (t) => {
  const at = await w.placeIn('320812', 2);
  const { code } = (await report('inspector', { category: 'SJ0104', ...at })).body;
  const [a, b] = await Promise.all([act('acceptor', code, { action: 'accept' }), act('supervisor', code, { action: 'reject', reason: '不属于城管范围' })]);
  t.deepEqual([a.status, b.status].sort(), [200, 409]);
  const loser = a.status === 409 ? a : b;
  const winner = a.status === 200 ? a : b;
  t.is(loser.body.state, winner.body.state);
  t.is((await sheet(code)).timeline.length, 2);
  // A stale version is refused even when the action would be possible.
  const stale = await act('supervisor', code, { action: 'supervise', reason: '关注', version: 1 });
  if (winner.body.state === 'accepted') {
    t.is(stale.status, 409);
    t.like(stale.body, { state: 'accepted', version: 2 });
  } else t.is(stale.status, 409);
});

test('a report sent twice with the same client id is one case (the phone resending after a lost answer)', async (t) => {
  const at = await w.placeIn('320812', 3);
  const body = { client_id: 'phone-7f3a-000001', category: 'SJ0505', ...at, description: '乱堆物料' };
  const [first, second] = await Promise.all([report('inspector', body), report('inspector', body)]);
  t.deepEqual([first.status, second.status].sort(), [200, 201]);
  t.is(first.body.code, second.body.code);
  const third = await report('inspector', body);
  t.is(third.status, 200);
  t.is(third.body.code, first.body.code);
  const n = await w.p.sql.query(`SELECT count(*)::int AS n FROM cases.cases WHERE client_id = $1`, [body.client_id]);
  t.is(n.rows[0].n, 1);
  t.is((await report('inspector2', body)).status, 409, 'another reporter cannot claim the id');
});

test('duplicates: the same 小类 nearby is offered on report; merging closes the duplicate and credits its reporter', async (t) => {
  const at = await w.placeIn('320812', 4);
  const first = (await report('inspector', { category: 'SJ0201', ...at })).body;
  const near = { lon: at.lon + 0.0002, lat: at.lat }; // about 19 m east
  const second = (await report('inspector2', { category: 'SJ0201', ...near })).body;
  t.deepEqual(second.duplicates.map((d: { code: string }) => d.code), [first.code]);
  t.true(second.duplicates[0].distance_m > 10 && second.duplicates[0].distance_m < 30);
  const otherCategory = (await report('inspector2', { category: 'SJ0202', ...near })).body;
  t.deepEqual(otherCategory.duplicates, []);
  const far = (await report('inspector2', { category: 'SJ0201', lon: at.lon + 0.002, lat: at.lat })).body; // ~190 m
  t.false(far.duplicates.some((d: { code: string }) => d.code === first.code));
  t.deepEqual((await w.p.http.get(`/api/cases/${second.code}/duplicates`).set('Authorization', as('reader'))).body.duplicates.map((d: { code: string }) => d.code), [first.code]);

  t.is((await act('acceptor', second.code, { action: 'merge', target: first.code })).status, 403);
  t.like((await act('dispatcher', second.code, { action: 'merge', target: first.code })).body, { state: 'merged' });
  t.like(await sheet(second.code), { state: 'merged', merged_into: String(first.id), closed: true });
  t.deepEqual((await sheet(first.code)).credited_reporters, [`key:${w.keys.inspector2!.id}`]);
  // The merged reporter can still follow the case that goes on.
  t.is((await w.p.http.get(`/api/cases/${first.code}`).set('Authorization', as('inspector2'))).status, 200);
});

test('routing: category + 责任网格 → department; the dispatcher overrides only with a reason; 回退 needs a reason', async (t) => {
  const at = await w.placeIn('320803', 1);
  const sign = (await report('inspector', { category: 'BJ0209', ...at, description: '交通标志牌倾斜' })).body;
  t.like(await sheet(sign.code), { routed_department: 'jtj', district_code: '320803' });
  const trash = (await report('inspector', { category: 'SJ0103', ...at })).body;
  t.like(await sheet(trash.code), { routed_department: 'cgj' });

  await act('acceptor', trash.code, { action: 'accept' });
  const noReason = await act('dispatcher', trash.code, { action: 'dispatch', department: 'jtj' });
  t.is(noReason.status, 400);
  t.is(noReason.body.error, 'reason_required');
  t.like((await act('dispatcher', trash.code, { action: 'dispatch', department: 'jtj', reason: '位于交通设施范围' })).body, { state: 'dispatched' });
  t.is((await act('jtjHandler', trash.code, { action: 'return' })).status, 400);
  t.like((await act('jtjHandler', trash.code, { action: 'return', reason: '不属于本部门职责' })).body, { state: 'accepted' });
  t.like(await sheet(trash.code), { department_id: null, returned_count: 1, step: 'dispatch' });
  const ev = await w.p.http.get('/api/cases/evaluation?by=department').set('Authorization', as('supervisor'));
  const jtj = ev.body.rows.find((r: { group: string }) => r.group === 'cgj');
  t.truthy(jtj, JSON.stringify(ev.body));
});

test('延期 request and approval move the deadline; 挂账, 督办 and 作废 are the supervisor\'s and need reasons', async (t) => {
  const at = await w.placeIn('320812', 5);
  const { code } = (await report('inspector', { category: 'SJ0106', ...at })).body;
  await act('acceptor', code, { action: 'accept' });
  await act('dispatcher', code, { action: 'dispatch' });
  await act('handler', code, { action: 'take' });
  const before = (await sheet(code)).due_at;
  t.is((await act('supervisor', code, { action: 'approve_extension' })).status, 409, 'nothing to approve yet');
  t.is((await act('handler', code, { action: 'request_extension', amount: 2 })).status, 400, 'a reason is needed');
  t.like((await act('handler', code, { action: 'request_extension', amount: 2, reason: '需采购苗木' })).body, { state: 'handling' });
  t.is((await act('handler', code, { action: 'approve_extension' })).status, 403);
  t.like((await act('supervisor', code, { action: 'approve_extension' })).body, { state: 'handling' });
  const after = await sheet(code);
  t.true(Date.parse(after.due_at) > Date.parse(before), `${after.due_at} after ${before}`);
  t.like(after.steps.at(-1), { extended: 2, unit: '工作日' });

  t.is((await act('dispatcher', code, { action: 'park', reason: 'x' })).status, 403);
  t.like((await act('supervisor', code, { action: 'park', reason: '等待汛期后处理' })).body, { state: 'handling' });
  t.like((await act('supervisor', code, { action: 'supervise', reason: '群众多次反映' })).body, { state: 'handling' });
  t.like(await sheet(code), { parked: true, supervised: true });
  t.is((await act('supervisor', code, { action: 'cancel' })).status, 400);
  t.like((await act('supervisor', code, { action: 'cancel', reason: '重复立案' })).body, { state: 'cancelled' });
  t.is((await act('supervisor', code, { action: 'fly' })).status, 400);
});

test('bad reports are 400 naming the problem: unknown category, outside the city, no place, unknown member', async (t) => {
  const at = await w.placeIn('320812', 6);
  const bad = async (body: Record<string, unknown>, error: string) => {
    const r = await report('inspector', body);
    t.is(r.status, 400, JSON.stringify(r.body));
    t.is(r.body.error, error);
  };
  await bad({ category: 'SJ9999', ...at }, 'unknown_category');
  await bad({ category: 'SJ0102', lon: 116.4, lat: 39.9 }, 'outside_city');
  await bad({ category: 'SJ0102' }, 'missing_location');
  await bad({ category: 'SJ0102', ...at, colour: 'red' }, 'invalid_report');
  await bad({ category: 'SJ0102', lon: at.lon }, 'invalid_report');
  t.is((await w.p.http.post('/api/cases').send({ category: 'SJ0102', ...at })).status, 401);
});

test('a photo\'s GPS position places a report sent without one', async (t) => {
  // rotated-gps.jpg was taken at 33°36′N 119°01′12″E (清江浦区).
  const r = await w.p.http.post('/api/cases').set('Authorization', as('inspector')).field('category', 'SJ0110').attach('photo', jpeg, 'p.jpg');
  t.is(r.status, 201, JSON.stringify(r.body));
  const c = await sheet(r.body.code);
  t.is(Math.round(c.lon * 1e4) / 1e4, 119.02);
  t.is(Math.round(c.lat * 1e4) / 1e4, 33.6);
});

test('scope: a principal limited to a district sees, reads and moves only that district\'s cases (in the SQL)', async (t) => {
  const inA = (await report('inspector', { category: 'SJ0501', ...(await w.placeIn('320812', 7)) })).body;
  const inB = (await report('inspector', { category: 'SJ0501', ...(await w.placeIn('320803', 7)) })).body;
  const handlerOf = (scopes: string[]): Principal => ({
    kind: 'user', department: 'cgj', keyId: null, userId: 9001, login: 'qjp', roles: ['handler'], rights: ['case:read', 'case:handle', 'case:accept'], scopes, sessionId: null,
  });
  const qjp = handlerOf(['320812']);
  const listed = (await listCases(w.p.platform.pool, qjp, { limit: '1000' })) as Array<{ code: string; district_code: string }>;
  t.true(listed.some((c) => c.code === inA.code));
  t.false(listed.some((c) => c.code === inB.code));
  t.true(listed.every((c) => c.district_code === '320812'));
  await t.throwsAsync(caseSheet(w.p.platform.pool, qjp, inB.code), { message: /no case/ });
  await t.throwsAsync(transition(w.p.platform.pool, qjp, inB.code, { action: 'accept' }), { message: /no case/ });
  t.like(await transition(w.p.platform.pool, qjp, inA.code, { action: 'accept' }), { state: 'accepted' });
  // A street-level scope (9 digits) narrows further.
  const street = (await caseSheet(w.p.platform.pool, qjp, inA.code)).street_code as string;
  t.true((await listCases(w.p.platform.pool, handlerOf([street]), {})).every((c) => (c as { street_code: string }).street_code === street));
});

test('the list filters by state, category, district, source and the clock; unknown parameters are 400', async (t) => {
  t.is((await report('inspector', { category: 'BJ0211', ...(await w.placeIn('320803', 9)) })).status, 201);
  const r = await w.p.http.get('/api/cases?district=320803&category=BJ02&state=reported').set('Authorization', as('reader'));
  t.is(r.status, 200);
  t.true(r.body.cases.length >= 1);
  t.true(r.body.cases.every((c: { district_code: string; category_code: string; state: string }) => c.district_code === '320803' && c.category_code.startsWith('BJ02') && c.state === 'reported'));
  t.is((await w.p.http.get('/api/cases?overdue=true&source=监督员上报').set('Authorization', as('reader'))).status, 200);
  t.is((await w.p.http.get('/api/cases?colour=red').set('Authorization', as('reader'))).status, 400);
  t.is((await w.p.http.get('/api/cases?overdue=maybe').set('Authorization', as('reader'))).status, 400);
  t.is((await w.p.http.get('/api/cases').set('Authorization', as('inspector'))).status, 403);
  t.is((await w.p.http.get('/api/cases')).status, 401);
  const cats = (await w.p.http.get('/api/cases/categories')).body;
  t.like(cats.find((c: { code: string }) => c.code === 'SJ0102'), { kind: '事件', name: '暴露垃圾', duplicate_radius_m: 50 });
});

test('an overdue case shows as 超期 in the list (the clock is the database\'s, not a timer)', async (t) => {
  const { code, id } = (await report('inspector', { category: 'SJ0108', ...(await w.placeIn('320812', 8)) })).body;
  // The report's 立案 step began a week ago (as if the server had been down since): overdue now, with no timer.
  await w.p.sql.query(`UPDATE cases.case_steps SET started_at = started_at - interval '7 days', due_at = due_at - interval '7 days', warn_at = warn_at - interval '7 days' WHERE case_id = $1`, [id]);
  const overdue = (await w.p.http.get('/api/cases?overdue=true').set('Authorization', as('reader'))).body.cases;
  t.true(overdue.some((c: { code: string; overdue: boolean; remaining_s: number }) => c.code === code && c.overdue && c.remaining_s < 0));
});
