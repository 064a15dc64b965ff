import type { Expr, GeometryOperand, Pos, Scalar, SpatialFunction } from './ast.ts';
import { Cql2Error } from './errors.ts';

/** The value types a filter compares; every queryable has one (table.ts maps PostgreSQL types onto them). */
export type ValueType = 'integer' | 'number' | 'string' | 'boolean' | 'date' | 'timestamp';

/** A property a filter may name: SQL for its value (an identifier quoted by the registry) and its type. */
export interface Queryable {
  readonly sql: string;
  readonly type: ValueType;
  /** PostgreSQL type name, to bind numbers as the column's own type (and keep its index usable). */
  readonly pgType: string;
}

/** What a filter is compiled against: one layer's queryables and geometry (features/table.ts). */
export interface FilterTarget {
  queryable(name: string): Queryable | undefined;
  /** Whether a name means the layer's geometry (`geometry`, or the geometry column's own name). */
  isGeometry(name: string): boolean;
  /** The feature geometry in WGS84, for exact spatial predicates in the coordinates CQL2 speaks. */
  readonly geometry: string;
  /** Exact predicates on `geometry` use the index by themselves (WGS84 data), no box condition needed. */
  readonly exactIsIndexed: boolean;
  /** Features intersecting a WGS84 geometry. */
  intersects(wgs84: string): string;
  /** `t.geom && …`: an index condition covering a WGS84 geometry. */
  boxCondition(wgs84: string): string;
  /** Features within a distance in metres (bind parameter text) of a WGS84 geometry. */
  withinMetres(wgs84: string, metres: string): string;
}

export interface CompiledFilter {
  sql: string;
  params: unknown[];
}

const SQL_FUNCTION: Record<SpatialFunction, string> = {
  S_INTERSECTS: 'ST_Intersects',
  S_EQUALS: 'ST_Equals',
  S_DISJOINT: 'ST_Disjoint',
  S_TOUCHES: 'ST_Touches',
  S_WITHIN: 'ST_Within',
  S_OVERLAPS: 'ST_Overlaps',
  S_CROSSES: 'ST_Crosses',
  S_CONTAINS: 'ST_Contains',
};

const NUMERIC = new Set(['integer', 'number']);
const TEMPORAL = new Set(['date', 'timestamp']);
const INT8 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

type Typed = { sql: string; type: ValueType };

/**
 * Compile a parsed filter into a SQL condition over the table alias `t`. Property names become the registry's
 * quoted identifiers; every literal becomes a bind parameter ($firstParam, $firstParam+1, …) with an explicit
 * cast; types are checked first, so a mismatch is a Cql2Error (400), never a database error.
 */
export function compileFilter(e: Expr, target: FilterTarget, firstParam: number): CompiledFilter {
  const c = new Compiler(target, firstParam);
  return { sql: c.expr(e), params: c.params };
}

class Compiler {
  readonly params: unknown[] = [];

  constructor(
    private readonly target: FilterTarget,
    private readonly first: number,
  ) {}

  expr(e: Expr): string {
    switch (e.kind) {
      case 'and':
      case 'or':
        return `(${e.args.map((a) => this.expr(a)).join(e.kind === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `(NOT ${this.expr(e.arg)})`;
      case 'literal':
        return e.value ? 'TRUE' : 'FALSE';
      case 'compare': {
        const [l, r] = this.pair(e.left, e.right, e.op);
        return `(${l.sql} ${e.op} ${r.sql})`;
      }
      case 'like': {
        const [v, p] = this.pair(e.value, e.pattern, 'LIKE');
        if (v.type !== 'string') throw new Cql2Error(`LIKE compares strings, and ${describe(e.value)} is a ${v.type}`, e.value.pos);
        // PostgreSQL's escape character is the backslash; one left dangling at the end fails only while rows are compared.
        if (e.pattern.kind === 'string' && /(^|[^\\])(\\\\)*\\$/.test(e.pattern.value))
          throw new Cql2Error('a LIKE pattern cannot end with a single backslash (the escape character): write \\\\ for a backslash', e.pattern.pos);
        return `(${v.sql} ${e.negated ? 'NOT LIKE' : 'LIKE'} ${p.sql})`;
      }
      case 'between': {
        // Literals are bound as the type of the property among the three (a number against an integer column…).
        const anchor = [e.value, e.low, e.high].find((s) => s.kind === 'property');
        this.check(e.value, e.low, 'BETWEEN');
        this.check(e.value, e.high, 'BETWEEN');
        const [v, lo, hi] = [e.value, e.low, e.high].map((s) => this.scalar(s, anchor)) as [Typed, Typed, Typed];
        return `(${v.sql} ${e.negated ? 'NOT BETWEEN' : 'BETWEEN'} ${lo.sql} AND ${hi.sql})`;
      }
      case 'in':
        return this.inList(e);
      case 'isNull': {
        if (e.value.kind !== 'property') throw new Cql2Error('IS NULL applies to a property', e.value.pos);
        const sql = this.target.isGeometry(e.value.name) && !this.target.queryable(e.value.name) ? this.geometryOf(e.value) : this.scalar(e.value).sql;
        return `(${sql} IS ${e.negated ? 'NOT NULL' : 'NULL'})`;
      }
      case 'spatial':
        return this.spatial(e.fn, e.a, e.b);
      case 'dwithin':
        return this.dwithin(e.a, e.b, e.metres);
    }
  }

  /** Two scalars compared with each other: types must agree; a literal is bound as the other side's type. */
  private pair(a: Scalar, b: Scalar, op: string): [Typed, Typed] {
    this.check(a, b, op);
    return [this.scalar(a, b), this.scalar(b, a)];
  }

  private check(a: Scalar, b: Scalar, op: string): void {
    const ta = this.typeOf(a);
    const tb = this.typeOf(b);
    const ok = ta === tb || (NUMERIC.has(ta) && NUMERIC.has(tb)) || (TEMPORAL.has(ta) && TEMPORAL.has(tb));
    if (!ok) {
      const hint = TEMPORAL.has(ta) && tb === 'string' ? ` (write DATE('YYYY-MM-DD') or TIMESTAMP('YYYY-MM-DDTHH:MM:SSZ'))` : '';
      throw new Cql2Error(`${describe(a)} is a ${ta} and cannot be compared (${op}) with ${describe(b)}, a ${tb}${hint}`, b.pos);
    }
  }

  private typeOf(s: Scalar): ValueType {
    switch (s.kind) {
      case 'property':
        return this.property(s).type;
      case 'string':
        return 'string';
      case 'number':
        return 'number';
      default:
        return s.kind;
    }
  }

  /** SQL of a scalar; a literal is bound with the cast its counterpart (a column) calls for. */
  private scalar(s: Scalar, other?: Scalar): Typed {
    switch (s.kind) {
      case 'property': {
        const q = this.property(s);
        return { sql: q.sql, type: q.type };
      }
      case 'string':
        return { sql: this.param(s.value, 'text'), type: 'string' };
      case 'boolean':
        return { sql: this.param(String(s.value), 'boolean'), type: 'boolean' };
      case 'date':
        return { sql: this.param(s.value, 'date'), type: 'date' };
      case 'timestamp':
        return { sql: this.param(s.value, 'timestamptz'), type: 'timestamp' };
      case 'number': {
        const column = other?.kind === 'property' ? this.property(other) : undefined;
        const [value, cast] = numberAs(s.text, column);
        return { sql: this.param(value, cast), type: 'number' };
      }
    }
  }

  private property(s: { name: string; pos: Pos }): Queryable {
    const q = this.target.queryable(s.name);
    if (q) return q;
    if (this.target.isGeometry(s.name))
      throw new Cql2Error(`"${s.name}" is the geometry: use it in S_INTERSECTS, S_WITHIN, … or IS NULL`, s.pos);
    throw new Cql2Error(`unknown property "${s.name.slice(0, 64)}" (see the collection's queryables)`, s.pos);
  }

  /** IN with literals binds the whole list as one array parameter, so the SQL text is the same for any length. */
  private inList(e: Extract<Expr, { kind: 'in' }>): string {
    const not = e.negated ? 'NOT ' : '';
    for (const s of e.list) this.check(e.value, s, 'IN');
    if (e.list.some((s) => s.kind === 'property')) {
      const anchor = [e.value, ...e.list].find((s) => s.kind === 'property');
      const items = e.list.map((s) => this.scalar(s, anchor).sql);
      return `(${this.scalar(e.value, anchor).sql} ${not}IN (${items.join(', ')}))`;
    }
    const v = this.scalar(e.value);
    const column = e.value.kind === 'property' ? this.property(e.value) : undefined;
    const values = e.list.map((s) => literalValue(s, column));
    const cast = values.every((x) => x[1] === values[0]![1]) ? values[0]![1] : 'numeric';
    return `(${not}(${v.sql} = ANY(${this.param(values.map((x) => x[0]), `${cast}[]`)})))`;
  }

  private spatial(fn: SpatialFunction, a: GeometryOperand, b: GeometryOperand): string {
    const [ga, gb] = [this.geometryOf(a), this.geometryOf(b)];
    const exact = `${SQL_FUNCTION[fn]}(${ga}, ${gb})`;
    // Disjoint features share no box with the literal: an index condition would drop exactly the answers.
    const literal = a.kind === 'geometry' && b.kind === 'property' ? ga : b.kind === 'geometry' && a.kind === 'property' ? gb : null;
    if (!literal || fn === 'S_DISJOINT' || this.target.exactIsIndexed) return exact;
    return `(${this.target.boxCondition(literal)} AND ${exact})`;
  }

  /** Within a distance in metres, on the spheroid; the index condition is the literal widened by the distance. */
  private dwithin(a: GeometryOperand, b: GeometryOperand, metres: number): string {
    const [ga, gb] = [this.geometryOf(a), this.geometryOf(b)];
    const m = this.param(String(metres), 'float8');
    if (a.kind === 'property' && b.kind === 'geometry') return `(${this.target.withinMetres(gb, m)})`;
    if (b.kind === 'property' && a.kind === 'geometry') return `(${this.target.withinMetres(ga, m)})`;
    return `ST_DWithin(${ga}::geography, ${gb}::geography, ${m})`;
  }

  private geometryOf(g: GeometryOperand): string {
    // A scalar subquery is evaluated once per execution, not once per row as a parameterised call would be.
    if (g.kind === 'geometry') return `(SELECT ST_SetSRID(ST_GeomFromGeoJSON(${this.param(JSON.stringify(g.geometry), 'text')}), 4326))`;
    if (!this.target.isGeometry(g.name)) {
      const known = this.target.queryable(g.name) ? `"${g.name}" is not the geometry` : `unknown property "${g.name.slice(0, 64)}"`;
      throw new Cql2Error(`${known}: spatial functions take the geometry property (geometry) or a geometry literal`, g.pos);
    }
    return this.target.geometry;
  }

  private param(value: unknown, cast: string): string {
    this.params.push(value);
    return `$${this.first + this.params.length - 1}::${cast}`;
  }
}

/**
 * A number literal as the value and cast to bind: against an integer column an integral literal is int8 (the
 * column's btree index still applies), a fraction numeric; against a float column float8; else numeric, exact.
 */
function numberAs(text: string, column: Queryable | undefined): [string, string] {
  const t = text.replace(/^\+/, '');
  if (column?.type === 'integer' && /^-?\d+$/.test(t)) {
    const v = BigInt(t);
    if (v >= INT8.min && v <= INT8.max) return [v.toString(), 'int8'];
  }
  if (column && (column.pgType === 'float4' || column.pgType === 'float8')) return [t, 'float8'];
  return [t, 'numeric'];
}

/** A literal's bind value and cast (for IN lists). */
function literalValue(s: Scalar, column: Queryable | undefined): [string, string] {
  switch (s.kind) {
    case 'number':
      return numberAs(s.text, column);
    case 'string':
      return [s.value, 'text'];
    case 'boolean':
      return [String(s.value), 'boolean'];
    case 'date':
      return [s.value, 'date'];
    case 'timestamp':
      return [s.value, 'timestamptz'];
    case 'property':
      throw new Error('unreachable: properties are compiled one by one');
  }
}

function describe(s: Scalar): string {
  return s.kind === 'property' ? `property "${s.name.slice(0, 64)}"` : `the ${s.kind} literal`;
}
