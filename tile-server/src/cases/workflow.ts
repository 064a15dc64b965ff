import { createHash } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import { requireRight, type Principal } from '../access/access.ts';
import { isRight } from '../access/rights.ts';
import { badRequest, HttpError, notFound } from '../errors.ts';
import { actorOf, actorRole, caseRefCondition, scopeCondition } from './actor.ts';
import { TIMELINE_TYPES, timelineArgs, timelineValues } from './audit.ts';
import { attachPhotos, type PhotoPhase } from './photo-store.ts';
import type { ProcessedPhoto } from './photos.ts';
import { inTransaction } from '../db/transaction.ts';

/** What a transition request may carry; which members an action needs is checked by the action. */
export const transitionSchema = z
  .object({
    action: z.string().regex(/^[a-z_]{2,40}$/, 'an action of the workflow (GET /api/cases/workflow)'),
    reason: z.string().trim().max(2000).optional(),
    note: z.string().max(4000).optional(),
    version: z.number().int().positive().optional(),
    department: z.string().regex(/^[a-z][a-z0-9_]*$/).optional(),
    assignee: z.string().regex(/^(user|key):\d+$/).optional(),
    amount: z.number().positive().max(1000).optional(),
    target: z.string().regex(/^(\d{1,15}|320800\d{12,})$/).optional(),
  })
  .strict();
export type TransitionInput = z.infer<typeof transitionSchema>;

export function parseTransition(raw: unknown): TransitionInput {
  const r = transitionSchema.safeParse(raw);
  if (!r.success) throw badRequest('invalid_transition', r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return r.data;
}

interface CaseRow {
  id: string;
  code: string;
  state: string;
  version: number;
  reporter: string;
  source: string;
  grid_code: string | null;
  street_code: string | null;
  department_id: string | null;
  routed_department: string | null;
  extension_request: { amount: number; reason: string; by: string } | null;
}
interface TransitionRow {
  to_state: string | null;
  required_right: string;
  needs_reason: boolean;
  name_zh: string;
}

/** The changes an action makes to the case row besides its state, and what it adds to the timeline. */
interface Effect {
  set: Record<string, unknown>;
  details: Record<string, unknown>;
  photoPhase?: PhotoPhase;
  after?: (client: pg.ClientBase, c: CaseRow) => Promise<void>;
}

/** Handling is done by the department the case is dispatched to, and by no other. */
function requireOwnDepartment(principal: Principal, c: CaseRow): void {
  if (principal.department !== c.department_id)
    throw new HttpError(403, 'not_your_case', `case ${c.code} is with ${c.department_id ?? 'no department'}, not ${principal.department ?? 'you'}`);
}

/**
 * The inspector a 核实 or 核查 task goes to when none is named: the reporter when an inspector reported the case
 * (they know the place); for a case from the 12345 hotline, Open311, video or a leader, whose reporter is an
 * operator or a system that cannot go and look, the inspector who last reported a case in the same 单元网格, else
 * in the same 街道: one who works that grid. Null when there is none (the task then waits for the centre to name one).
 */
async function fieldInspector(client: pg.ClientBase, c: CaseRow): Promise<string | null> {
  if (c.source === '监督员上报') return c.reporter;
  const { rows } = await client.query<{ reporter: string }>(
    `SELECT reporter FROM cases.cases
     WHERE source = '监督员上报' AND (grid_code = $1 OR street_code = $2)
     ORDER BY (grid_code = $1) DESC NULLS LAST, reported_at DESC, id DESC LIMIT 1`,
    [c.grid_code, c.street_code],
  );
  return rows[0]?.reporter ?? null;
}

/**
 * Per action: checks beyond the table's (the from-state and the right are checked before) and the effect. The
 * table (cases.transitions) says which actions exist, from which states, to which state and with which right;
 * this says what else each does. An action of the table with no entry here only moves the state.
 */
const effects: Record<string, (c: CaseRow, input: TransitionInput, principal: Principal, photos: readonly ProcessedPhoto[], client: pg.ClientBase) => Promise<Effect>> = {
  async request_verify(c, input, _p, _ph, client) {
    const assignee = input.assignee ?? (await fieldInspector(client, c));
    return { set: { assignee }, details: { assignee } };
  },
  async verify() {
    return { set: { assignee: null }, details: {}, photoPhase: '核实' };
  },
  async dispatch(c, input, _p, _ph, client) {
    const department = input.department ?? c.routed_department;
    if (!department) throw badRequest('no_department', `case ${c.code} has no routed department: name one`);
    if (department !== c.routed_department && !input.reason)
      throw badRequest('reason_required', `dispatching to ${department} instead of the routed ${c.routed_department} needs a reason`);
    const known = await client.query(`SELECT 1 FROM citybase.departments WHERE id = $1`, [department]);
    if (!known.rows.length) throw badRequest('unknown_department', `no department ${department}`);
    return { set: { department_id: department }, details: { department, routed: c.routed_department, overridden: department !== c.routed_department } };
  },
  async take(c, _i, principal) {
    requireOwnDepartment(principal, c);
    return { set: {}, details: { department: c.department_id } };
  },
  async return(c, _i, principal) {
    requireOwnDepartment(principal, c);
    return { set: { department_id: null, returned_count: { sql: 'returned_count + 1' } }, details: { department: c.department_id } };
  },
  async finish(c, input, principal, photos, client) {
    requireOwnDepartment(principal, c);
    if (!photos.length) throw badRequest('photo_required', '处置完成 needs at least one after-photo');
    if (!input.note?.trim()) throw badRequest('note_required', '处置完成 needs a note saying what was done');
    // The 核查 task goes to an inspector who knows the place (fieldInspector); the handler may name another.
    const assignee = input.assignee ?? (await fieldInspector(client, c));
    return { set: { assignee }, details: { assignee }, photoPhase: '处置' };
  },
  async check_pass() {
    return { set: { assignee: null }, details: {}, photoPhase: '核查' };
  },
  async check_fail() {
    return { set: { assignee: null, rework_count: { sql: 'rework_count + 1' } }, details: {}, photoPhase: '核查' };
  },
  async request_extension(c, input, principal) {
    requireOwnDepartment(principal, c);
    if (!input.amount) throw badRequest('amount_required', '延期 needs an amount, in the unit of the running step\'s limit');
    const request = { amount: input.amount, reason: input.reason, by: actorOf(principal) };
    return { set: { extension_request: JSON.stringify(request) }, details: { amount: input.amount } };
  },
  async approve_extension(c, _i, _p, _ph, client) {
    if (!c.extension_request) throw new HttpError(409, 'no_extension_request', `case ${c.code} has no 延期 request to approve`, { state: c.state });
    const { rows } = await client.query<{ due_at: Date | null }>(`SELECT cases.extend_step($1, $2) AS due_at`, [c.id, c.extension_request.amount]);
    return { set: { extension_request: null }, details: { amount: c.extension_request.amount, due_at: rows[0]?.due_at ?? null } };
  },
  async park() {
    return { set: { parked: true }, details: {} };
  },
  async unpark() {
    return { set: { parked: false }, details: {} };
  },
  async supervise() {
    return { set: { supervised: true }, details: {} };
  },
  async merge(c, input, principal, _ph, client) {
    if (!input.target) throw badRequest('target_required', 'merging needs the target case (id or code) the duplicate joins');
    const { rows } = await client.query<{ id: string; code: string; closed: boolean }>(
      `SELECT c.id, c.code, s.closed FROM cases.cases c JOIN cases.states s ON s.code = c.state
       WHERE ${caseRefCondition(1)} AND ${scopeCondition(2)} FOR UPDATE OF c`,
      [input.target, principal.scopes],
    );
    const target = rows[0];
    if (!target) throw badRequest('unknown_target', `no case ${input.target}`);
    if (target.id === c.id) throw badRequest('invalid_target', 'a case cannot be merged into itself');
    if (target.closed) throw new HttpError(409, 'target_closed', `case ${target.code} is closed: merge into an open case`);
    return {
      set: { merged_into: target.id },
      details: { merged_into: target.code },
      // The reporter of the duplicate is credited on the case that goes on.
      after: async (cl, dup) => {
        await cl.query(`UPDATE cases.cases SET credited_reporters = array_append(credited_reporters, $2) WHERE id = $1`, [target.id, dup.reporter]);
      },
    };
  },
};

export interface TransitionResult {
  id: string;
  code: string;
  from: string;
  state: string;
  version: number;
}

/**
 * THE transition function: one transaction that locks the case row (SELECT … FOR UPDATE), finds the
 * transition for (action, current state) in cases.transitions, checks the right it needs, the reason and the
 * action's own conditions, updates the case (the table's trigger checks the state change once more), moves the
 * SLA clock to the new state's step, appends the timeline and the audit record, and stores the photos. Two
 * people acting at once: the second waits for the lock and then finds the case moved on (409 with its state).
 */
export async function transition(
  pool: pg.Pool,
  principal: Principal,
  caseRef: string,
  input: TransitionInput,
  photos: readonly ProcessedPhoto[] = [],
): Promise<TransitionResult> {
  return inTransaction(pool, async (client) => {
    // The case (locked), the workflow's row for this action from its state, and the state it leads to: one round
    // trip. The lock is taken in the CTE, so the joins see the row as it is once the lock is ours (a concurrent
    // move already committed), not the version first read.
    const found = await client.query<CaseRow & { t: TransitionRow | null; closed: boolean; step: string | null }>({
      name: 'cases.transition.lock',
      text: `WITH c AS (
         SELECT c.id, c.code, c.state, c.version, c.reporter, c.source, c.grid_code, c.street_code, c.department_id, c.routed_department, c.extension_request
         FROM cases.cases c WHERE ${caseRefCondition(1)} AND ${scopeCondition(2)} FOR UPDATE)
       SELECT c.*,
              CASE WHEN t.action IS NULL THEN NULL ELSE json_build_object('to_state', t.to_state, 'required_right', t.required_right, 'needs_reason', t.needs_reason, 'name_zh', t.name_zh) END AS t,
              s.closed, s.step
       FROM c
       LEFT JOIN cases.transitions t ON t.action = $3 AND t.from_state = c.state
       LEFT JOIN cases.states s ON s.code = coalesce(t.to_state, c.state)`,
      values: [caseRef, principal.scopes, input.action],
    });
    const c = found.rows[0];
    if (!c) throw notFound('unknown_case', `no case ${caseRef}`);
    const t = c.t;
    if (!t) {
      const known = await client.query(`SELECT 1 FROM cases.transitions WHERE action = $1 LIMIT 1`, [input.action]);
      if (!known.rows.length) throw badRequest('unknown_action', `no action ${input.action} in the workflow`);
      const state = await stateName(client, c.state);
      throw new HttpError(409, 'conflict', `case ${c.code} is ${state} (${c.state}): ${input.action} is not possible from there`, { state: c.state, version: c.version });
    }
    if (!isRight(t.required_right)) throw new Error(`workflow table names an unknown right ${t.required_right}`);
    requireRight(principal, t.required_right);
    if (input.version !== undefined && input.version !== c.version)
      throw new HttpError(409, 'conflict', `case ${c.code} changed since version ${input.version} (now ${c.version}, ${c.state})`, { state: c.state, version: c.version });
    if (t.needs_reason && !input.reason) throw badRequest('reason_required', `${t.name_zh} (${input.action}) needs a reason`);

    const effect = await (effects[input.action]?.(c, input, principal, photos, client) ?? Promise.resolve<Effect>({ set: {}, details: {} }));
    const to = t.to_state ?? c.state;
    const set: Record<string, unknown> = { ...effect.set, state: to };
    const closed = { closed: c.closed, step: c.step };
    if (closed.closed) set.closed_at = { sql: 'now()' };
    const { text, values } = updateSql(set);
    // One statement writes the rest: the SLA clock (when the state changes), the timeline entry and the audit
    // record (cases.record_transition, run first by its CTE), then the case row. Named, so each connection
    // plans it once per distinct SET clause.
    const record = timelineValues({
      actor: actorOf(principal),
      action: input.action,
      target: c.id,
      outcome: 'ok',
      details: {
        role: actorRole(principal),
        from: c.state,
        to,
        note: input.note ?? '',
        reason: input.reason ?? '',
        ...effect.details,
        photos: photos.map((p) => p.hash),
      },
    });
    const n = values.length;
    const sql =
      `WITH r AS MATERIALIZED (SELECT cases.record_transition($${n + 1}::bigint, $${n + 2}::boolean, $${n + 3}::text, ${timelineArgs(n + 4, TIMELINE_TYPES.slice(1))}) AS timeline_id)
       UPDATE cases.cases SET ${text} FROM r WHERE id = $${n + 1} RETURNING version, r.timeline_id`;
    const updated = await client.query<{ version: number; timeline_id: string }>({
      name: `cases.transition.${createHash('sha256').update(sql).digest('base64url').slice(0, 20)}`,
      text: sql,
      values: [...values, c.id, to !== c.state, closed.step, ...record.slice(1)], // record[0] is the case id, $n+1
    });
    const row = updated.rows[0];
    if (!row) throw new Error(`case ${c.code} vanished under its lock`);
    await effect.after?.(client, c);
    const timelineId = Number(row.timeline_id);
    if (photos.length) await attachPhotos(client, c.id, effect.photoPhase ?? '处置', timelineId, photos);
    return { id: c.id, code: c.code, from: c.state, state: to, version: row.version };
  });
}

async function stateName(client: pg.ClientBase, code: string): Promise<string> {
  return (await client.query<{ name_zh: string }>(`SELECT name_zh FROM cases.states WHERE code = $1`, [code])).rows[0]?.name_zh ?? code;
}

/** SET clause from fixed column names (never from input) and values; `{ sql }` values are SQL expressions of the row. */
function updateSql(set: Record<string, unknown>): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const parts = Object.entries(set).map(([column, v]) => {
    if (!/^[a-z_]+$/.test(column)) throw new Error(`bad column ${column}`);
    if (v && typeof v === 'object' && 'sql' in v) return `${column} = ${(v as { sql: string }).sql}`;
    values.push(v);
    return `${column} = $${values.length}`;
  });
  return { text: parts.join(', '), values };
}
