// The centre's desk by API: bulk dispatch (one transition per case, each in its own transaction and audited,
// the answer saying what happened to each case), and the queue's ETag, which the desk polls with If-None-Match
// (304 while nothing in the scope changed; 200 after a transition, a new case, or a clock crossing 超期). The ETag
// test runs alone (serial): the others' writes would change the queue under it.
import test from 'ava';
import { startCaseWorld, type CaseWorld } from './helpers/cases.ts';

let w: CaseWorld;
test.before(async () => {
  w = await startCaseWorld();
});
test.after.always(async () => {
  await w?.p.close();
});

const as = (role: string) => `Bearer ${w.keys[role]!.key}`;
async function filedCase(district: string, n: number, category = 'SJ0104') {
  const r = await w.p.http.post('/api/cases').set('Authorization', as('inspector')).send({ category, ...(await w.placeIn(district, n)) });
  await w.p.http.post(`/api/cases/${r.body.code}/transitions`).set('Authorization', as('acceptor')).send({ action: 'accept' }).expect(200);
  return r.body as { id: string; code: string };
}
const bulk = (role: string, body: unknown) => w.p.http.post('/api/cases/dispatch').set('Authorization', as(role)).send(body as object);

test('bulk dispatch moves each case by its own audited transition and reports each outcome, refusals included', async (t) => {
  const a = await filedCase('320812', 60);
  const b = await filedCase('320803', 60);
  const reported = (await w.p.http.post('/api/cases').set('Authorization', as('inspector')).send({ category: 'SJ0104', ...(await w.placeIn('320812', 61)) })).body;
  const r = await bulk('dispatcher', { cases: [a.code, reported.code, b.code, '320800209901010001'], department: 'jtj', reason: '道路设施归交通局' });
  t.is(r.status, 200);
  t.like(r.body, { dispatched: 2, refused: 2 });
  t.deepEqual(
    r.body.results.map((x: { case: string; ok: boolean; state?: string; status?: number; error?: string }) => [x.case, x.ok, x.ok ? x.state : `${x.status} ${x.error}`]),
    [
      [a.code, true, 'dispatched'],
      [reported.code, false, '409 conflict'],
      [b.code, true, 'dispatched'],
      ['320800209901010001', false, '404 unknown_case'],
    ],
  );
  t.is(r.body.results[1].state, 'reported', 'a conflict says the case\'s current state');
  t.regex(r.body.results[1].message, /上报/);
  for (const c of [a, b]) {
    const sheet = (await w.p.http.get(`/api/cases/${c.code}`).set('Authorization', as('reader'))).body;
    t.like(sheet, { state: 'dispatched', department_id: 'jtj' });
    t.like(sheet.timeline.at(-1), { action: 'dispatch', reason: '道路设施归交通局', to_state: 'dispatched' });
  }
  // Each case has its own audit record: two dispatched, two refused.
  const { rows } = await w.p.sql.query(
    `SELECT target, outcome FROM citybase.audit_log WHERE action = 'case.dispatch' AND target = ANY($1) ORDER BY id`,
    [[`case:${a.id}`, `case:${b.id}`, `case:${reported.code}`, 'case:320800209901010001']],
  );
  t.deepEqual(rows.map((x) => [x.target, x.outcome]).sort(), [
    ['case:320800209901010001', 'failure'],
    [`case:${a.id}`, 'success'],
    [`case:${b.id}`, 'success'],
    [`case:${reported.code}`, 'failure'],
  ].sort());
});

test('bulk dispatch: the routed department by default; refused without the right; bad requests are 400', async (t) => {
  const a = await filedCase('320812', 62);
  const r = await bulk('dispatcher', { cases: [a.code] });
  t.is(r.status, 200);
  t.true(r.body.results[0].ok);
  const sheet = (await w.p.http.get(`/api/cases/${a.code}`).set('Authorization', as('reader'))).body;
  t.is(sheet.department_id, sheet.routed_department);
  // Another department than the routed one needs a reason, per case.
  const c = await filedCase('320812', 63);
  const noReason = await bulk('dispatcher', { cases: [c.code], department: 'jtj' });
  t.like(noReason.body.results[0], { ok: false, status: 400, error: 'reason_required' });
  t.is((await bulk('acceptor', { cases: [c.code] })).status, 403);
  t.is((await w.p.http.post('/api/cases/dispatch').send({ cases: [c.code] })).status, 401);
  for (const body of [{}, { cases: [] }, { cases: [c.code, c.code] }, { cases: ['x'] }, { cases: Array.from({ length: 101 }, (_, i) => String(i + 1)) }, { cases: [c.code], colour: 'red' }]) {
    const bad = await bulk('dispatcher', body);
    t.is(bad.status, 400, JSON.stringify(body).slice(0, 80));
    t.is(bad.body.error, 'invalid_bulk');
  }
});

test.serial('the queue answers 304 to its own ETag until a case in the scope changes or a clock crosses its deadline', async (t) => {
  const scoped = await w.p.platform.keys.create('cgj', 'ha desk', ['case:read'], { scopes: ['320803'] });
  const get = (auth: string, etag?: string) => {
    const req = w.p.http.get('/api/cases?state=accepted,reported').set('Authorization', auth);
    return etag ? req.set('If-None-Match', etag) : req;
  };
  const first = await get(as('reader'));
  t.is(first.status, 200);
  const etag = first.headers.etag as string;
  t.regex(etag, /^W\/"/);
  t.is((await get(as('reader'), etag)).status, 304);
  const scopedFirst = await get(`Bearer ${scoped.key}`);
  const scopedEtag = scopedFirst.headers.etag as string;
  t.not(scopedEtag, etag, 'another asker, another tag');
  // A case in 淮安区 is reported: both queues change.
  const hb = await filedCase('320803', 64);
  const after = await get(as('reader'), etag);
  t.is(after.status, 200);
  t.true(after.body.cases.some((c: { code: string }) => c.code === hb.code));
  const scopedAfter = await get(`Bearer ${scoped.key}`, scopedEtag);
  t.is(scopedAfter.status, 200);
  // A change in 清江浦区 does not wake the 淮安区 desk.
  const scopedNow = scopedAfter.headers.etag as string;
  await filedCase('320812', 64);
  t.is((await get(`Bearer ${scoped.key}`, scopedNow)).status, 304);
  // The deadline of a 淮安区 case passes with no write to the case: the queue changes all the same.
  await w.p.sql.query(`UPDATE cases.case_steps SET due_at = now() - interval '1 minute', warn_at = now() - interval '1 hour' WHERE case_id = $1 AND ended_at IS NULL`, [hb.id]);
  const overdue = await get(`Bearer ${scoped.key}`, scopedNow);
  t.is(overdue.status, 200);
  t.true(overdue.body.cases.some((c: { code: string; overdue: boolean }) => c.code === hb.code && c.overdue));
  // Without the right, no answer at all (not a 304).
  t.is((await w.p.http.get('/api/cases').set('If-None-Match', etag)).status, 401);
});
