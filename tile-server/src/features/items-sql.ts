import pg from 'pg';
import type { Expr } from './cql2/ast.ts';
import { inCrs, type OutputCrs } from './crs.ts';
import { compileFor } from './filter.ts';
import type { FeatureTable } from './table.ts';

const { escapeIdentifier: ident } = pg;

/** The box, time and filter conditions an items request narrows the layer with (values bound, not written). */
export interface Selection {
  /** [west, south, east, north] in degrees. */
  bbox: readonly [number, number, number, number] | null;
  /** The CRS the bbox is in (Part 2 bbox-crs), its numbers already west, south, east, north; null = CRS84. */
  bboxCrs?: OutputCrs | null;
  /** `datetime=`: bounds as RFC 3339 date or date-time text; a date-only end includes its whole day. */
  datetime: { start: string | null; end: string | null; instant: boolean } | null;
  filter: Expr | null;
}

export interface Page {
  /** Exposed properties to return, in order. */
  properties: readonly string[];
  sortby: ReadonlyArray<{ name: string; descending: boolean }>;
  /** Keyset: only features with a greater id (requests ordered by id). */
  after: string | null;
  offset: number;
  /** Rows to fetch: the page size plus one, which tells whether there is a next page. */
  fetch: number;
  /** The CRS of the coordinates (Part 2 crs=); null = CRS84. */
  crs?: OutputCrs | null;
}

export interface Query {
  sql: string;
  params: unknown[];
}

/** Bind parameters in order: add() returns the placeholder with its cast. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

/**
 * SQL of an items page: one row, [the features as one JSON text joined by commas, how many were fetched]. The
 * JSON is made and aggregated by PostgreSQL, as a raw ST_AsGeoJSON aggregate would be; the server adds the
 * envelope and never parses it. The text depends only on the request's shape (which parameters, the filter's
 * structure), never on its values, so a layer's common requests are one prepared statement each.
 */
export function itemsQuery(table: FeatureTable, sel: Selection, page: Page): Query {
  const p = new Params();
  const where = conditions(table, sel, p);
  if (page.after !== null) where.push(`${table.idSql} > ${p.add(page.after, 'int8')}`);
  const keys = [
    ...page.sortby.map((s) => ({ sql: table.queryable(s.name)!.sql, dir: s.descending ? ' DESC' : '' })),
    ...table.orderKeys.map((sql) => ({ sql, dir: '' })),
  ];
  // The page's order, once to pick the rows (LIMIT) and once to aggregate them in that order.
  const sql = `-- items of layer ${table.id}
SELECT string_agg(f.feature, ',' ORDER BY ${keys.map((k, i) => `f.o${i}${k.dir}`).join(', ')}) AS features, count(*)::int AS fetched
FROM (
  SELECT ${page.crs ? table.featureJson(page.properties, inCrs(table.geometry, page.crs, 'crs'), page.crs.digits) : table.featureJson(page.properties)} AS feature, ${keys.map((k, i) => `${k.sql} AS o${i}`).join(', ')}
  FROM ${table.from} AS t
  WHERE ${where.length ? where.join('\n    AND ') : 'TRUE'}
  ORDER BY ${keys.map((k) => `${k.sql}${k.dir}`).join(', ')}
  LIMIT ${p.add(page.fetch, 'int8')}${page.offset > 0 ? ` OFFSET ${p.add(page.offset, 'int8')}` : ''}
) AS f`;
  return { sql, params: p.values };
}

/** How many features a selection matches (numberMatched). */
export function countQuery(table: FeatureTable, sel: Selection): Query {
  const p = new Params();
  const where = conditions(table, sel, p);
  return {
    sql: `-- count of layer ${table.id}\nSELECT count(*)::int8 AS n FROM ${table.from} AS t WHERE ${where.length ? where.join(' AND ') : 'TRUE'}`,
    params: p.values,
  };
}

/** One feature by id. */
export function itemQuery(table: FeatureTable, id: string, crs: OutputCrs): Query {
  const p = new Params();
  const byId = `${table.idSql} = ${p.add(id, 'int8')}`;
  const scoped = table.scopes ? table.scopeSql(p.add(table.scopes, 'text[]')) : null;
  return {
    sql: `-- feature of layer ${table.id}\nSELECT ${table.featureJson(table.propertyNames, inCrs(table.geometry, crs, 'crs'), crs.digits)} AS feature FROM ${table.from} AS t WHERE ${byId}${scoped ? ` AND ${scoped}` : ''}`,
    params: p.values,
  };
}

export function conditions(table: FeatureTable, sel: Selection, p: Params): string[] {
  const where: string[] = [];
  const scoped = table.scopes ? table.scopeSql(p.add(table.scopes, 'text[]')) : null;
  if (scoped) where.push(scoped);
  if (sel.bbox) {
    const [w, s, e, n] = sel.bbox.map((v) => p.add(v, 'float8'));
    const srid = sel.bboxCrs?.srid ?? 4326;
    // A box in another CRS is the box of that CRS: densified, then transformed (its straight edges bend in WGS84).
    const box =
      srid === 4326
        ? `ST_MakeEnvelope(${w}, ${s}, ${e}, ${n}, 4326)`
        : `ST_Transform(ST_Segmentize(ST_MakeEnvelope(${w}, ${s}, ${e}, ${n}, ${srid}), greatest(${e} - ${w}, ${n} - ${s}) / 64), 4326)`;
    where.push(table.intersects(box));
  }
  if (sel.datetime && table.info.timeColumn) where.push(...timeConditions(`t.${ident(table.info.timeColumn)}`, sel.datetime, p));
  if (sel.filter) {
    const f = compileFor(table, sel.filter, p.values.length + 1);
    p.values.push(...f.params);
    where.push(f.sql);
  }
  return where;
}

const dateOnly = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s);

function timeConditions(column: string, dt: NonNullable<Selection['datetime']>, p: Params): string[] {
  const out: string[] = [];
  const bound = (v: string) => p.add(v, dateOnly(v) ? 'date' : 'timestamptz');
  if (dt.instant) {
    const v = dt.start!;
    if (!dateOnly(v)) return [`${column} = ${bound(v)}`];
    const day = bound(v);
    return [`${column} >= ${day}`, `${column} < ${day} + 1`];
  }
  if (dt.start) out.push(`${column} >= ${bound(dt.start)}`);
  if (dt.end) out.push(dateOnly(dt.end) ? `${column} < ${bound(dt.end)} + 1` : `${column} <= ${bound(dt.end)}`);
  return out;
}
