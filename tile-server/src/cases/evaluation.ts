import type pg from 'pg';
import { requireRight, type Principal } from '../access/access.ts';
import { badRequest } from '../errors.ts';
import { scopeCondition } from './actor.ts';
import { csvFile } from '../csv.ts';

/**
 * 综合评价 per department or district over a period of local days: 立案数, 派遣准确率 (dispatches not returned),
 * 按期处置率 (处置 steps ended by their deadline), 按期结案率 (cases closed with every step on time), 返工率 (closed
 * cases that needed rework) and the average hours per step. All from the timeline and the steps, in one query.
 */
const EVALUATION_SQL = `
WITH period AS (
  SELECT ($1::date::timestamp AT TIME ZONE cases.time_zone()) AS t0, (($2::date + 1)::timestamp AT TIME ZONE cases.time_zone()) AS t1
), scoped AS (
  SELECT c.*, CASE WHEN $3 = 'district' THEN c.district_code ELSE coalesce(c.department_id, c.routed_department) END AS grp
  FROM cases.cases c WHERE ${scopeCondition(4)}
), events AS (
  SELECT s.grp, t.action, t.case_id FROM cases.timeline t JOIN scoped s ON s.id = t.case_id, period
  WHERE t.at >= period.t0 AND t.at < period.t1
), steps AS (
  SELECT s.grp, st.step, st.ended_at, st.due_at, st.started_at FROM cases.case_steps st JOIN scoped s ON s.id = st.case_id, period
  WHERE st.ended_at >= period.t0 AND st.ended_at < period.t1
), closed AS (
  SELECT s.grp, s.id, s.rework_count,
         NOT EXISTS (SELECT 1 FROM cases.case_steps st WHERE st.case_id = s.id AND st.ended_at > st.due_at) AS on_time
  FROM scoped s, period WHERE s.state = 'closed' AND s.closed_at >= period.t0 AND s.closed_at < period.t1
), groups AS (
  SELECT grp FROM events UNION SELECT grp FROM steps UNION SELECT grp FROM closed
)
SELECT g.grp AS "group",
  (SELECT count(*) FROM events e WHERE e.grp IS NOT DISTINCT FROM g.grp AND e.action = 'accept')::int AS accepted,
  (SELECT count(*) FROM events e WHERE e.grp IS NOT DISTINCT FROM g.grp AND e.action = 'dispatch')::int AS dispatched,
  (SELECT count(*) FROM events e WHERE e.grp IS NOT DISTINCT FROM g.grp AND e.action = 'return')::int AS returned,
  (SELECT count(*) FROM closed x WHERE x.grp IS NOT DISTINCT FROM g.grp)::int AS closed,
  (SELECT round(1 - count(*) FILTER (WHERE e.action = 'return')::numeric / nullif(count(*) FILTER (WHERE e.action = 'dispatch'), 0), 4)
     FROM events e WHERE e.grp IS NOT DISTINCT FROM g.grp)::float AS dispatch_accuracy,
  (SELECT round(avg((st.ended_at <= st.due_at)::int), 4) FROM steps st WHERE st.grp IS NOT DISTINCT FROM g.grp AND st.step = 'handle')::float AS handled_on_time_rate,
  (SELECT round(avg(x.on_time::int), 4) FROM closed x WHERE x.grp IS NOT DISTINCT FROM g.grp)::float AS closed_on_time_rate,
  (SELECT round(avg((x.rework_count > 0)::int), 4) FROM closed x WHERE x.grp IS NOT DISTINCT FROM g.grp)::float AS rework_rate,
  (SELECT round((avg(extract(epoch FROM st.ended_at - st.started_at)) / 3600)::numeric, 2) FROM steps st WHERE st.grp IS NOT DISTINCT FROM g.grp AND st.step = 'accept')::float AS avg_accept_h,
  (SELECT round((avg(extract(epoch FROM st.ended_at - st.started_at)) / 3600)::numeric, 2) FROM steps st WHERE st.grp IS NOT DISTINCT FROM g.grp AND st.step = 'dispatch')::float AS avg_dispatch_h,
  (SELECT round((avg(extract(epoch FROM st.ended_at - st.started_at)) / 3600)::numeric, 2) FROM steps st WHERE st.grp IS NOT DISTINCT FROM g.grp AND st.step = 'handle')::float AS avg_handle_h,
  (SELECT round((avg(extract(epoch FROM st.ended_at - st.started_at)) / 3600)::numeric, 2) FROM steps st WHERE st.grp IS NOT DISTINCT FROM g.grp AND st.step = 'check')::float AS avg_check_h
FROM groups g
ORDER BY g.grp NULLS LAST`;

export const EVALUATION_COLUMNS = [
  'group', 'accepted', 'dispatched', 'returned', 'closed', 'dispatch_accuracy', 'handled_on_time_rate', 'closed_on_time_rate',
  'rework_rate', 'avg_accept_h', 'avg_dispatch_h', 'avg_handle_h', 'avg_check_h',
] as const;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export async function evaluation(pool: pg.Pool, principal: Principal, q: Record<string, string>): Promise<Array<Record<string, unknown>>> {
  requireRight(principal, 'case:evaluate');
  const by = q.by ?? 'department';
  if (by !== 'department' && by !== 'district') throw badRequest('invalid_parameter', 'by: department or district');
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
  const to = q.to ?? today;
  const from = q.from ?? new Date(Date.parse(to) - 29 * 86400_000).toISOString().slice(0, 10);
  for (const [name, v] of [['from', from], ['to', to]] as const)
    if (!DAY.test(v) || Number.isNaN(Date.parse(v))) throw badRequest('invalid_parameter', `${name}: a day (YYYY-MM-DD)`);
  if (from > to) throw badRequest('invalid_parameter', 'from is after to');
  const { rows } = await pool.query(EVALUATION_SQL, [from, to, by, principal.scopes]);
  return rows;
}

/** The evaluation as CSV (csv.ts: BOM, and never a formula in a spreadsheet). */
export function toCsv(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): string {
  return csvFile(columns, rows.map((r) => columns.map((c) => r[c])));
}
