import type pg from 'pg';
import { hasRight, requireRight, type Principal } from '../access/access.ts';
import { badRequest, HttpError, notFound } from '../errors.ts';
import { actorOf, caseRefCondition, scopeCondition } from './actor.ts';
import type { PhotoSize } from './photo-store.ts';
import { maskContact, SOURCES } from './report.ts';

/** The columns of a case in lists and sheets (contact details stay in the database: never shown in a list). */
const CASE_COLUMNS = `c.id::text AS id, c.code, c.category_code, k.name AS category_name, k.kind, k.major_name, c.state,
  s.name_zh AS state_name, s.closed, c.source, c.urgency, c.area_type, c.description, c.address,
  ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat, c.grid_code, c.community_code, c.street_code, c.district_code,
  c.responsibility_area, c.routed_department, c.department_id, c.reporter, c.assignee, c.parked, c.supervised,
  c.rework_count, c.returned_count, c.merged_into::text AS merged_into, c.credited_reporters, c.extension_request,
  c.version, c.reported_at, c.updated_at, c.closed_at,
  o.step, o.due_at, o.warn_at, o.remaining_s, coalesce(o.warning, false) AS warning, coalesce(o.overdue, false) AS overdue`;
const CASE_FROM = `cases.cases c JOIN cases.categories k ON k.code = c.category_code JOIN cases.states s ON s.code = c.state
  LEFT JOIN cases.open_steps o ON o.case_id = c.id`;

export interface ListFilters {
  state?: string;
  category?: string;
  district?: string;
  source?: string;
  overdue?: string;
  warning?: string;
  queue?: string; // mine: my department's cases (handlers) | tasks: my 核实/核查 orders | reports: what I reported
  open?: string;
  limit?: string;
  offset?: string;
  near?: string; // lon,lat: nearest first (my tasks)
}
const FILTERS = ['state', 'category', 'district', 'source', 'overdue', 'warning', 'queue', 'open', 'limit', 'offset', 'near', 'key'];

function csv(v: string, pattern: RegExp, name: string): string[] {
  const items = v.split(',').filter(Boolean);
  for (const i of items) if (!pattern.test(i)) throw badRequest('invalid_parameter', `${name}: "${i.slice(0, 40)}" is not valid`);
  return items;
}
function flag(v: string | undefined, name: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw badRequest('invalid_parameter', `${name}: true or false`);
  return v === 'true';
}

/** The list's parameter names and the right it needs (queue=reports and tasks are anybody's own). */
export function checkListAccess(principal: Principal, q: Record<string, string>): void {
  const unknown = Object.keys(q).filter((k) => !FILTERS.includes(k));
  if (unknown.length) throw badRequest('invalid_parameter', `unknown parameter ${unknown.join(', ')} (accepted: ${FILTERS.filter((f) => f !== 'key').join(', ')})`);
  const queue = q.queue;
  if (queue !== undefined && !['mine', 'tasks', 'reports'].includes(queue)) throw badRequest('invalid_parameter', 'queue: mine, tasks or reports');
  const own = queue === 'tasks' || queue === 'reports';
  if (!own && !hasRight(principal, 'case:read')) {
    if (principal.kind === 'anonymous') throw new HttpError(401, 'unauthenticated', 'sign in or give an API key: the case list needs the right case:read');
    throw new HttpError(403, 'forbidden', 'the case list needs the right case:read (queue=reports and queue=tasks show your own)');
  }
}

/**
 * The case list of the desk and the phone: filters as bind parameters, the principal's scope in the SQL. The
 * desk (case:read) sees every case in scope; anybody else sees only their own reports and tasks.
 */
export async function listCases(pool: pg.Pool, principal: Principal, q: Record<string, string>): Promise<unknown[]> {
  checkListAccess(principal, q);
  const f = q as ListFilters;
  const values: unknown[] = [principal.scopes];
  const where: string[] = [scopeCondition(1)];
  const add = (cond: (n: number) => string, v: unknown) => {
    values.push(v);
    where.push(cond(values.length));
  };
  if (f.state) add((n) => `c.state = ANY($${n})`, csv(f.state, /^[a-z]+$/, 'state'));
  if (f.category) add((n) => `EXISTS (SELECT 1 FROM unnest($${n}::text[]) x WHERE c.category_code LIKE x || '%')`, csv(f.category, /^(BJ|SJ)\d{0,5}$/, 'category'));
  if (f.district) add((n) => `c.district_code = ANY($${n})`, csv(f.district, /^\d{6}$/, 'district'));
  if (f.source) {
    const sources = f.source.split(',');
    for (const s of sources) if (!(SOURCES as readonly string[]).includes(s)) throw badRequest('invalid_parameter', `source: one of ${SOURCES.join(', ')}`);
    add((n) => `c.source = ANY($${n})`, sources);
  }
  const overdue = flag(f.overdue, 'overdue');
  if (overdue !== undefined) add((n) => `coalesce(o.overdue, false) = $${n}`, overdue);
  const warning = flag(f.warning, 'warning');
  if (warning !== undefined) add((n) => `coalesce(o.warning, false) = $${n}`, warning);
  const open = flag(f.open, 'open');
  if (open !== undefined) add((n) => `s.closed <> $${n}`, open);
  if (f.queue === 'mine') add((n) => `c.department_id = $${n} AND NOT s.closed`, principal.department ?? '');
  if (f.queue === 'tasks') add((n) => `c.assignee = $${n} AND c.state IN ('verifying', 'checking')`, actorOf(principal));
  if (f.queue === 'reports') add((n) => `c.reporter = $${n}`, actorOf(principal));
  const limit = f.limit === undefined ? 100 : Number(f.limit);
  const offset = f.offset === undefined ? 0 : Number(f.offset);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badRequest('invalid_parameter', 'limit: 1 to 1000');
  if (!Number.isInteger(offset) || offset < 0) throw badRequest('invalid_parameter', 'offset: 0 or more');
  let order = 'c.reported_at DESC, c.id DESC';
  if (f.near) {
    const [lon, lat] = f.near.split(',').map(Number);
    if (!Number.isFinite(lon) || !Number.isFinite(lat)) throw badRequest('invalid_parameter', 'near: lon,lat');
    values.push(lon, lat);
    order = `c.geom <-> ST_SetSRID(ST_Point($${values.length - 1}, $${values.length}), 4326), c.id`;
  }
  values.push(limit, offset);
  const { rows } = await pool.query(
    `SELECT ${CASE_COLUMNS} FROM ${CASE_FROM} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT $${values.length - 1} OFFSET $${values.length}`,
    values,
  );
  return rows;
}

/**
 * What the desk's queue depends on, for its ETag: the number of cases in the principal's scope, the sum of their
 * versions (every transition bumps one) and how many open steps are 临期 and 超期 now. The last two change with
 * time alone, which a change notification would never report; a poll that sends If-None-Match sees both kinds
 * of change and costs one aggregate query when nothing changed.
 */
export async function queueFingerprint(pool: pg.Pool, principal: Principal): Promise<string> {
  const { rows } = await pool.query<{ n: string; v: string; warning: string; overdue: string }>(
    `SELECT count(*) AS n, coalesce(sum(c.version), 0) AS v, count(*) FILTER (WHERE o.warning) AS warning, count(*) FILTER (WHERE o.overdue) AS overdue
     FROM cases.cases c LEFT JOIN cases.open_steps o ON o.case_id = c.id WHERE ${scopeCondition(1)}`,
    [principal.scopes],
  );
  const r = rows[0]!;
  return `${r.n}.${r.v}.${r.warning}.${r.overdue}`;
}

/** Departments a case can be dispatched to (the desk's choice for 派遣 and bulk dispatch). */
export async function departments(pool: pg.Pool, principal: Principal): Promise<unknown[]> {
  if (!hasRight(principal, 'case:read')) requireRight(principal, 'case:dispatch');
  const { rows } = await pool.query(`SELECT id, name_zh, name_en FROM citybase.departments ORDER BY id`);
  return rows;
}

/** May this principal read this case? The desk (case:read) in scope; the reporter and the assignee their own. */
function mayRead(principal: Principal, c: { reporter: string; assignee: string | null; credited_reporters: string[] }): boolean {
  if (hasRight(principal, 'case:read')) return true;
  const me = actorOf(principal);
  return c.reporter === me || c.assignee === me || c.credited_reporters.includes(me);
}

/** The case sheet: the case, its clock, its timeline and its photos (by phase). */
export async function caseSheet(pool: pg.Pool, principal: Principal, ref: string): Promise<Record<string, unknown>> {
  const { rows } = await pool.query(`SELECT ${CASE_COLUMNS} FROM ${CASE_FROM} WHERE ${caseRefCondition(1)} AND ${scopeCondition(2)}`, [ref, principal.scopes]);
  const c = rows[0];
  if (!c || !mayRead(principal, c)) throw notFound('unknown_case', `no case ${ref}`);
  const [timeline, photos, steps, contact] = await Promise.all([
    pool.query(`SELECT id::text AS id, at, actor, actor_role, action, from_state, to_state, note, reason, outcome, details FROM cases.timeline t WHERE t.case_id = $1 ORDER BY t.id`, [c.id]),
    pool.query(
      `SELECT p.hash, cp.phase, cp.timeline_id::text AS timeline_id, p.width, p.height FROM cases.case_photos cp JOIN cases.photos p ON p.hash = cp.hash
       WHERE cp.case_id = $1 ORDER BY cp.timeline_id::bigint, p.hash`,
      [c.id],
    ),
    pool.query(`SELECT step, started_at, due_at, amount::float AS amount, unit, extended::float AS extended, ended_at, ended_at > due_at AS late FROM cases.case_steps WHERE case_id = $1 ORDER BY id`, [c.id]),
    pool.query<{ contact: Record<string, string> | null }>(`SELECT contact FROM cases.cases WHERE id = $1`, [c.id]),
  ]);
  return {
    ...c,
    timeline: timeline.rows,
    photos: photos.rows.map((p) => ({ ...p, thumb: `/api/cases/photos/${p.hash}/thumb`, display: `/api/cases/photos/${p.hash}/display` })),
    steps: steps.rows,
    // The caller (12345, Open311), masked, for the desk only: the full contact never leaves the database here.
    contact_masked: hasRight(principal, 'case:read') ? maskContact(contact.rows[0]?.contact ?? null) : null,
  };
}

/** Possible duplicates of a case (same 小类, within the category's radius and window). */
export async function duplicatesOf(pool: pg.Pool, principal: Principal, ref: string): Promise<unknown[]> {
  const sheet = await caseSheet(pool, principal, ref);
  const { rows } = await pool.query(
    `SELECT d.id::text AS id, d.code, d.state, round(d.distance_m::numeric, 1)::float AS distance_m, d.reported_at
     FROM cases.cases c, cases.duplicates_of(c.category_code, c.geom, c.reported_at, c.id) d JOIN cases.cases x ON x.id = d.id
     WHERE c.id = $1 AND ${scopeCondition(2, 'x')} ORDER BY d.distance_m, d.id`,
    [sheet.id, principal.scopes],
  );
  return rows;
}

/** A photo's bytes: staff with case:read get every size; others only the photos of cases they may read. */
export async function photo(pool: pg.Pool, principal: Principal, hash: string, size: PhotoSize): Promise<{ body: Buffer; type: string }> {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw notFound('unknown_photo', 'no such photo');
  const column = size === 'original' ? 'original' : size === 'display' ? 'display' : 'thumb';
  const { rows } = await pool.query<{ body: Buffer; type: string; case_ref: string | null }>(
    `SELECT p.${column} AS body, CASE WHEN $2 = 'original' THEN p.original_type ELSE 'image/jpeg' END AS type,
            (SELECT c.id::text FROM cases.case_photos cp JOIN cases.cases c ON c.id = cp.case_id
             WHERE cp.hash = p.hash AND ${scopeCondition(3)} ORDER BY c.id LIMIT 1) AS case_ref
     FROM cases.photos p WHERE p.hash = $1`,
    [hash, size, principal.scopes],
  );
  const r = rows[0];
  if (!r?.case_ref) throw notFound('unknown_photo', 'no such photo');
  if (!hasRight(principal, 'case:read')) await caseSheet(pool, principal, r.case_ref); // 404 unless it is theirs
  return { body: r.body, type: r.type };
}

export async function categories(pool: pg.Pool): Promise<unknown[]> {
  const { rows } = await pool.query(
    `SELECT code, kind, major, major_name, name, duplicate_radius_m::float AS duplicate_radius_m, duplicate_window_h::float AS duplicate_window_h
     FROM cases.categories ORDER BY code`,
  );
  return rows;
}

export async function workflow(pool: pg.Pool): Promise<{ states: unknown[]; transitions: unknown[] }> {
  const [states, transitions] = await Promise.all([
    pool.query(`SELECT code, name_zh, closed, step, open311 FROM cases.states ORDER BY code`),
    pool.query(`SELECT action, name_zh, array_agg(from_state ORDER BY from_state) AS from, to_state AS to, required_right AS "right", needs_reason
                FROM cases.transitions GROUP BY action, name_zh, to_state, required_right, needs_reason ORDER BY action`),
  ]);
  return { states: states.rows, transitions: transitions.rows };
}
