import type pg from 'pg';
import { badRequest, HttpError, notFound } from '../errors.ts';

/**
 * Open311 GeoReport v2 over the case tables: services are the published 小类 (service_code = category code),
 * requests are cases. What a request shows is the public view (政务公开): category, state, the place rounded to
 * its 单元网格, the responsible department and the deadline; never the reporter, contact, description or photos.
 */

export type Format = 'json' | 'xml';

/** Attributes a category asks for (service definitions): 井盖 and other 公用设施 ask whether it is missing. */
const ATTRIBUTES: Record<string, Array<Record<string, unknown>>> = {
  BJ01: [
    {
      variable: true,
      code: 'condition',
      datatype: 'singlevaluelist',
      required: false,
      datatype_description: '缺失或移位的井盖按紧急案件处理 (missing or displaced covers are urgent)',
      order: 1,
      description: '部件状况 (condition)',
      values: [
        { key: 'missing', name: '缺失或移位 (missing or displaced)' },
        { key: 'damaged', name: '破损 (damaged)' },
      ],
    },
  ],
};
export function attributesOf(code: string): Array<Record<string, unknown>> {
  return ATTRIBUTES[code.slice(0, 4)] ?? [];
}
/** The urgency an attribute answer implies. */
export function urgencyOf(code: string, attributes: Record<string, string>): '一般' | '紧急' {
  return attributesOf(code).length && attributes.condition === 'missing' ? '紧急' : '一般';
}

export async function services(pool: pg.Pool): Promise<Array<Record<string, unknown>>> {
  const { rows } = await pool.query<{ code: string; name: string; kind: string; major_name: string }>(
    `SELECT code, name, kind, major_name FROM cases.categories WHERE published ORDER BY code`,
  );
  return rows.map((r) => ({
    service_code: r.code,
    service_name: r.name,
    description: `${r.kind} · ${r.major_name} · ${r.name}`,
    metadata: attributesOf(r.code).length > 0,
    type: 'realtime',
    keywords: [r.kind, r.major_name].join(','),
    group: `${r.kind}/${r.major_name}`,
  }));
}

export async function serviceDefinition(pool: pg.Pool, code: string): Promise<Record<string, unknown>> {
  const { rows } = await pool.query(`SELECT 1 FROM cases.categories WHERE code = $1 AND published`, [code]);
  if (!rows.length) throw notFound('unknown_service', `service_code ${code.slice(0, 40)} not found`);
  return { service_code: code, attributes: attributesOf(code) };
}

const ISO = (col: string) => `to_char(${col} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS') || '+08:00'`;
const REQUEST_SQL = `
  SELECT c.code AS service_request_id, st.open311 AS status,
         st.name_zh || CASE WHEN c.department_id IS NOT NULL AND NOT st.closed THEN ' → ' || d.name_zh ELSE '' END AS status_notes,
         k.name AS service_name, c.category_code AS service_code, coalesce(d.name_zh, rd.name_zh) AS agency_responsible,
         '' AS service_notice, ${ISO('c.reported_at')} AS requested_datetime, ${ISO('c.updated_at')} AS updated_datetime,
         CASE WHEN o.due_at IS NOT NULL THEN ${ISO('o.due_at')} END AS expected_datetime,
         ST_Y(pc.geom) AS lat, ST_X(pc.geom) AS long
  FROM cases.cases c
  JOIN cases.public_cases pc ON pc.id = c.id
  JOIN cases.categories k ON k.code = c.category_code AND k.published
  JOIN cases.states st ON st.code = c.state
  LEFT JOIN citybase.departments d ON d.id = c.department_id
  LEFT JOIN citybase.departments rd ON rd.id = c.routed_department
  LEFT JOIN cases.open_steps o ON o.case_id = c.id`;

const DAY_MS = 86400_000;

/** GET requests: by ids (which override every other filter), or by service, status and a window of ≤ 90 days. */
export async function listRequests(pool: pg.Pool, q: Record<string, string>): Promise<Array<Record<string, unknown>>> {
  const opt = (k: string) => (q[k] === undefined || q[k] === '' ? undefined : q[k]);
  const ids = opt('service_request_id');
  if (ids) {
    const list = ids.split(',').map((s) => s.trim()).filter(Boolean).slice(0, 1000);
    const { rows } = await pool.query(`${REQUEST_SQL} WHERE c.code = ANY($1) ORDER BY c.reported_at DESC, c.id DESC`, [list]);
    return rows;
  }
  const parse = (name: string): number | undefined => {
    const v = opt(name);
    if (v === undefined) return undefined;
    const t = Date.parse(v);
    if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(v)) throw badRequest('invalid_parameter', `${name}: an ISO 8601 date-time, e.g. 2026-03-01T00:00:00+08:00`);
    return t;
  };
  let end = parse('end_date');
  let start = parse('start_date');
  if (end === undefined) end = start !== undefined ? start + 90 * DAY_MS : Date.now();
  if (start === undefined) start = end - 90 * DAY_MS;
  if (start > end) throw badRequest('invalid_parameter', 'start_date is after end_date');
  if (end - start > 90 * DAY_MS) throw badRequest('invalid_parameter', 'start_date and end_date may be at most 90 days apart');
  const values: unknown[] = [new Date(start), new Date(end)];
  const where = ['c.reported_at >= $1', 'c.reported_at <= $2'];
  const codes = opt('service_code');
  if (codes) {
    values.push(codes.split(','));
    where.push(`c.category_code = ANY($${values.length})`);
  }
  const status = opt('status');
  if (status) {
    const s = status.split(',');
    if (!s.every((x) => x === 'open' || x === 'closed')) throw badRequest('invalid_parameter', 'status: open or closed');
    values.push(s);
    where.push(`st.open311 = ANY($${values.length})`);
  }
  const { rows } = await pool.query(`${REQUEST_SQL} WHERE ${where.join(' AND ')} ORDER BY c.reported_at DESC, c.id DESC LIMIT 1000`, values);
  return rows;
}

export async function oneRequest(pool: pg.Pool, id: string): Promise<Record<string, unknown>> {
  const { rows } = await pool.query(`${REQUEST_SQL} WHERE c.code = $1`, [id]);
  if (!rows[0]) throw notFound('unknown_request', `service_request_id ${id.slice(0, 40)} not found`);
  return rows[0];
}

export async function tokenRequest(pool: pg.Pool, token: string): Promise<Record<string, unknown>> {
  const { rows } = await pool.query(`SELECT code AS service_request_id, client_id AS token FROM cases.cases WHERE client_id = $1 AND client_id LIKE 'o311-%'`, [token]);
  if (!rows[0]) throw notFound('unknown_token', `token ${token.slice(0, 40)} not found`);
  return rows[0];
}

// ---------------------------------------------------------------------------------------------------------------
// Formats: JSON as is; XML per the spec's element names (lists of records under a plural root)
// ---------------------------------------------------------------------------------------------------------------

const escape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

function element(name: string, value: unknown): string {
  if (value === null || value === undefined) return `<${name}/>`;
  if (Array.isArray(value)) {
    const child = name === 'attributes' ? 'attribute' : name === 'values' ? 'value' : 'item';
    return `<${name}>${value.map((v) => element(child, v)).join('')}</${name}>`;
  }
  if (typeof value === 'object') return `<${name}>${Object.entries(value).map(([k, v]) => element(k, v)).join('')}</${name}>`;
  return `<${name}>${escape(String(value))}</${name}>`;
}

export function xml(root: string, item: string | null, body: unknown): string {
  const inner = item && Array.isArray(body) ? body.map((b) => element(item, b)).join('') : Object.entries(body as object).map(([k, v]) => element(k, v)).join('');
  return `<?xml version="1.0" encoding="utf-8"?>\n<${root}>${inner}</${root}>`;
}

/** An error as GeoReport v2 wants it: a list of {code, description} with the HTTP status as code. */
export function errorBody(format: Format, status: number, description: string): string | Array<{ code: number; description: string }> {
  const errors = [{ code: status, description }];
  return format === 'xml' ? xml('errors', 'error', errors) : errors;
}

/** Translate an HttpError (or a key store's 401) to the spec's codes: 400, 403 (bad or missing key), 404. */
export function open311Status(err: HttpError): number {
  if (err.status === 401) return 403;
  return [400, 403, 404, 413, 415].includes(err.status) ? err.status : 400;
}

export function missing(name: string): HttpError {
  return new HttpError(400, 'missing_parameter', `${name} is required`);
}
