import { badRequest } from '../errors.ts';

/** Query-string parsing shared by the features endpoints: every bad value is a 400 naming the parameter. */

/** A parameter given at most once. */
export function single(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest('invalid_parameter', `give the ${name} parameter once`);
  return v;
}

/** OGC API - Features: a parameter the endpoint does not define is a 400 (a typo must not pass as "no filter"). */
export function onlyKnown(query: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(query).filter((k) => !known.includes(k));
  if (unknown.length)
    throw badRequest('unknown_parameter', `unknown parameter ${unknown.map((k) => `"${k.slice(0, 40)}"`).join(', ')}; known: ${known.join(', ')}`);
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The 400 for a required parameter that is absent. */
export const missing = (name: string) => badRequest('missing_parameter', `${name} is required`);

/** A finite decimal number within [min, max]. */
export function number(name: string, text: string, min: number, max: number): number {
  const v = DECIMAL.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isFinite(v) || v < min || v > max) throw badRequest('invalid_parameter', `${name} must be a number from ${min} to ${max}, got "${text.slice(0, 40)}"`);
  return v;
}

/** A whole number within [min, max], written plainly. */
export function integer(name: string, text: string, min: number, max: number): number {
  const v = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(v >= min && v <= max)) throw badRequest('invalid_parameter', `${name} must be a whole number from ${min} to ${max}, got "${text.slice(0, 40)}"`);
  return v;
}

/** `bbox=west,south,east,north` (or 6 numbers with heights) in CRS84. */
export function bbox(text: string): [number, number, number, number] {
  const parts = text.split(',');
  if (parts.length !== 4 && parts.length !== 6)
    throw badRequest('invalid_parameter', 'bbox must be 4 numbers (west,south,east,north) or 6 with heights');
  const n = parts.map((p, i) => number(`bbox value ${i + 1}`, p, -Infinity, Infinity));
  const [w, s, e, north] = n.length === 4 ? n : [n[0]!, n[1]!, n[3]!, n[4]!];
  if (w! < -180 || e! > 180 || s! < -90 || north! > 90) throw badRequest('invalid_parameter', 'bbox is outside -180,-90,180,90');
  if (s! > north!) throw badRequest('invalid_parameter', 'bbox south is above north');
  if (w! > e!) throw badRequest('invalid_parameter', 'bbox west is east of east: boxes across the antimeridian are not supported');
  return [w!, s!, e!, north!];
}

/** A comma-separated list of names, each checked against the allowed ones. */
export function names(param: string, text: string, allowed: (name: string) => boolean, max: number): string[] {
  if (text.trim() === '') return [];
  const list = [...new Set(text.split(',').map((s) => s.trim()))];
  if (list.length > max) throw badRequest('invalid_parameter', `${param} lists more than ${max} names`);
  for (const n of list) if (!allowed(n)) throw badRequest('invalid_parameter', `${param}: unknown property "${n.slice(0, 64)}"`);
  return list;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** `datetime=` (OGC API - Features): an instant, or an interval `start/end` where either end may be `..` or empty. */
export function datetime(text: string): { start: string | null; end: string | null; instant: boolean } {
  const bound = (s: string): string | null => {
    if (s === '..' || s === '') return null;
    if ((DATE.test(s) || DATE_TIME.test(s)) && !Number.isNaN(Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s)) && realDate(s.slice(0, 10))) return s;
    throw badRequest('invalid_parameter', `datetime: "${s.slice(0, 40)}" is not an RFC 3339 date (2024-05-01) or date-time (2024-05-01T08:00:00Z)`);
  };
  const parts = text.split('/');
  if (parts.length === 1) {
    const v = bound(parts[0]!);
    if (v === null) throw badRequest('invalid_parameter', 'datetime: give an instant or an interval start/end');
    return { start: v, end: v, instant: true };
  }
  if (parts.length !== 2) throw badRequest('invalid_parameter', 'datetime: an interval is start/end');
  const [start, end] = [bound(parts[0]!), bound(parts[1]!)];
  if (start === null && end === null) throw badRequest('invalid_parameter', 'datetime: an interval needs at least one end');
  if (start && end && Date.parse(start.length === 10 ? `${start}T00:00:00Z` : start) > Date.parse(end.length === 10 ? `${end}T23:59:59.999Z` : end))
    throw badRequest('invalid_parameter', 'datetime: the interval ends before it starts');
  return { start, end, instant: false };
}

function realDate(s: string): boolean {
  const [y, m, d] = s.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** The keyset cursor of next links: an opaque token holding the last id of the page. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ after: lastId })).toString('base64url');
}

export function decodeCursor(token: string): string {
  let after: unknown;
  try {
    after = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown }).after;
  } catch {
    after = undefined;
  }
  if (typeof after !== 'string' || !isInt8(after)) throw badRequest('invalid_parameter', 'cursor is not one this server made: follow the next link as given');
  return after;
}

/** A canonical decimal integer within PostgreSQL's int8 range (ids are bound as int8). */
export function isInt8(text: string): boolean {
  return /^(0|-?[1-9]\d{0,18})$/.test(text) && BigInt(text) >= -(2n ** 63n) && BigInt(text) < 2n ** 63n;
}
