// Case time limits (CJ/T 315) computed by the database: working-time arithmetic over the working periods and the
// State Council's 2026 calendar with its 调休 days, the rule chosen for a case, 临期 at 80 % and 超期. The oracles
// are the (Friday 17:00 + 4 工作时 = Monday 11:00) and the 2026 notice (reference §1.5).
import test from 'ava';
import { startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let p: TestPlatform;
test.before(async () => {
  p = await startTestPlatform({}, { fixtures: false });
});
test.after.always(async () => {
  await p?.close();
});

/** The deadline as local wall-clock text in the city's zone. */
async function due(start: string, amount: number, unit: string): Promise<string> {
  const { rows } = await p.sql.query<{ due: string }>(
    `SELECT to_char(cases.add_work_time($1::timestamptz, $2, $3) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD Dy HH24:MI') AS due`,
    [start, amount, unit],
  );
  return rows[0]!.due;
}

test('4 工作时 from Friday 17:00 end on Monday 11:00 (one hour on Friday, three on Monday morning)', async (t) => {
  t.is(await due('2026-03-13 17:00+08', 4, '工作时'), '2026-03-16 Mon 11:00');
});

test('4 工作时 from the Friday before 清明 end on Tuesday 11:00 (Saturday to Monday are holidays)', async (t) => {
  t.is(await due('2026-04-03 17:00+08', 4, '工作时'), '2026-04-07 Tue 11:00');
});

test('a 调休 Saturday is a working day: 4 工作时 from Friday 2026-02-13 17:00 end on Saturday 11:00', async (t) => {
  t.is(await due('2026-02-13 17:00+08', 4, '工作时'), '2026-02-14 Sat 11:00');
});

test('the lunch break and the evening do not count; a start outside working hours waits for the next period', async (t) => {
  t.is(await due('2026-03-16 11:00+08', 2, '工作时'), '2026-03-16 Mon 15:00');
  t.is(await due('2026-03-16 20:00+08', 1, '工作时'), '2026-03-17 Tue 09:00');
  t.is(await due('2026-03-16 12:30+08', 0.5, '工作时'), '2026-03-16 Mon 14:30');
});

test('紧急工作时 run continuously, 自然日 are calendar days, 工作日 are whole working days of working time', async (t) => {
  t.is(await due('2026-04-03 17:00+08', 2, '紧急工作时'), '2026-04-03 Fri 19:00');
  t.is(await due('2026-04-03 17:00+08', 3, '自然日'), '2026-04-06 Mon 17:00');
  t.is(await due('2026-04-03 17:00+08', 1, '工作日'), '2026-04-07 Tue 17:00');
  // 国庆: 10-01 to 10-07 off, Saturday 10-10 works.
  t.is(await due('2026-09-30 10:00+08', 2, '工作日'), '2026-10-09 Fri 10:00');
  t.is(await due('2026-09-30 10:00+08', 3, '工作日'), '2026-10-10 Sat 10:00');
});

test('the calendar is data: a holiday added for a day moves the deadline', async (t) => {
  const before = await due('2026-11-13 17:00+08', 4, '工作时');
  await p.sql.query(`INSERT INTO cases.calendar (day, workday, name) VALUES ('2026-11-16', false, 'test holiday')`);
  try {
    t.is(before, '2026-11-16 Mon 11:00');
    t.is(await due('2026-11-13 17:00+08', 4, '工作时'), '2026-11-17 Tue 11:00');
  } finally {
    await p.sql.query(`DELETE FROM cases.calendar WHERE day = '2026-11-16'`);
  }
});

test('the most specific rule wins: 小类 over 大类 over the default, area type and urgency', async (t) => {
  const rule = async (category: string, step: string, area: string, urgency: string) =>
    (await p.sql.query(`SELECT amount::float AS amount, unit FROM cases.sla_rule($1, $2, $3, $4)`, [category, step, area, urgency])).rows[0];
  t.deepEqual(await rule('SJ0102', 'handle', '一般区域', '一般'), { amount: 4, unit: '工作时' });
  t.deepEqual(await rule('SJ0102', 'handle', '主要道路', '一般'), { amount: 2, unit: '工作时' });
  t.deepEqual(await rule('BJ0101', 'handle', '一般区域', '紧急'), { amount: 2, unit: '紧急工作时' });
  t.deepEqual(await rule('BJ0101', 'handle', '一般区域', '一般'), { amount: 4, unit: '工作时' });
  t.deepEqual(await rule('SJ0505', 'handle', '一般区域', '一般'), { amount: 5, unit: '工作日' });
  t.deepEqual(await rule('SJ0505', 'accept', '一般区域', '一般'), { amount: 1, unit: '工作时' });
});

test('the clock of an open step: 临期 after 80 % of the limit, 超期 after it, computed for any instant', async (t) => {
  const { rows } = await p.sql.query<{ id: string }>(`
    INSERT INTO cases.cases (code, category_code, state, source, geom, reporter, reported_at)
    VALUES ('320800202603130001', 'SJ0102', 'reported', '监督员上报', ST_SetSRID(ST_Point(119.02, 33.6), 4326), 'key:0', '2026-03-13 17:00+08')
    RETURNING id`);
  const id = rows[0]!.id;
  await p.sql.query(`SELECT cases.enter_step($1, 'handle', '2026-03-13 17:00+08')`, [id]);
  const clock = async (at: string) =>
    (await p.sql.query(`SELECT warning, overdue, remaining_s::int AS remaining_s FROM cases.step_clock($1) WHERE case_id = $2`, [at, id])).rows[0];
  // 4 工作时 → due Monday 11:00; 80 % (3.2 h) → Monday 10:12.
  t.deepEqual(await clock('2026-03-16 10:00+08'), { warning: false, overdue: false, remaining_s: 3600 });
  t.deepEqual(await clock('2026-03-16 10:30+08'), { warning: true, overdue: false, remaining_s: 1800 });
  t.deepEqual(await clock('2026-03-16 11:00+08'), { warning: false, overdue: true, remaining_s: 0 });
  // 延期 by 2 工作时 moves the deadline to Monday 15:00 (the lunch break does not count).
  const ext = await p.sql.query(`SELECT to_char(cases.extend_step($1, 2) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS due`, [id]);
  t.is(ext.rows[0].due, '2026-03-16 15:00');
  t.like(await clock('2026-03-16 11:00+08'), { overdue: false });
});

test('a state change that is not a transition of the workflow table is refused by the database', async (t) => {
  const { rows } = await p.sql.query<{ id: string }>(`
    INSERT INTO cases.cases (code, category_code, state, source, geom, reporter)
    VALUES ('320800202603130002', 'SJ0102', 'reported', '监督员上报', ST_SetSRID(ST_Point(119.02, 33.6), 4326), 'key:0') RETURNING id`);
  const err = await t.throwsAsync(p.sql.query(`UPDATE cases.cases SET state = 'closed' WHERE id = $1`, [rows[0]!.id]));
  t.regex(err!.message, /no transition from reported to closed/);
  await p.sql.query(`UPDATE cases.cases SET state = 'accepted' WHERE id = $1`, [rows[0]!.id]);
  t.is((await p.sql.query(`SELECT state, version FROM cases.cases WHERE id = $1`, [rows[0]!.id])).rows[0].version, 2);
});
