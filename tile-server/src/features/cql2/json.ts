import type { Geometry, Position } from 'geojson';
import { SPATIAL_FUNCTIONS, type ComparisonOp, type Expr, type GeometryOperand, type Pos, type Scalar, type SpatialFunction } from './ast.ts';
import { GeometryError, MAX_COLLECTION_DEPTH, checkGeometry } from '../geometry.ts';
import { Cql2Error } from './errors.ts';
import { DEFAULT_LIMITS, isDate, isTimestamp, type Cql2Limits } from './parser.ts';
import { bboxPolygon } from './wkt.ts';

const COMPARISONS = new Set<string>(['=', '<>', '<', '>', '<=', '>=']);
const SPATIAL = new Map<string, SpatialFunction>(SPATIAL_FUNCTIONS.map((f) => [f.toLowerCase(), f]));
const OPS = ['and', 'or', 'not', ...COMPARISONS, 'like', 'between', 'in', 'isNull', ...SPATIAL.keys(), 's_dwithin'];
const GEOMETRY_TYPES = ['Point', 'LineString', 'Polygon', 'MultiPoint', 'MultiLineString', 'MultiPolygon', 'GeometryCollection'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const isObject = (v: Json): v is { [key: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Read CQL2-JSON (OGC 21-065, the same subset as the text encoding, plus s_dwithin in metres) into the same tree
 * as CQL2-text, so checking, compiling, cache keys and next links are shared. Positions are JSON Pointers into the
 * document; the text's limits apply (length, nesting, nodes, geometry positions).
 */
export function parseCql2Json(text: string, limits: Cql2Limits = DEFAULT_LIMITS): Expr {
  if (text.length > limits.maxLength) throw new Cql2Error(`the filter is too long (more than ${limits.maxLength} characters)`, '/');
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (err) {
    throw new Cql2Error(`the filter is not JSON (${(err as Error).message.slice(0, 120)})`, '/');
  }
  return new Reader(limits).expr(doc, '');
}

class Reader {
  private depth = 0;
  private nodes = 0;
  private positions = 0;

  constructor(private readonly limits: Cql2Limits) {}

  expr(v: Json, at: string): Expr {
    if (typeof v === 'boolean') return this.node({ kind: 'literal', value: v, pos: at });
    if (!isObject(v) || typeof v.op !== 'string')
      throw new Cql2Error('expected an expression: true, false or {"op": …, "args": […]}', at);
    const op = v.op;
    const args = v.args;
    if (!Array.isArray(args)) throw new Cql2Error(`"args" of "${op.slice(0, 40)}" must be an array`, at);
    const arg = (i: number) => `${at}/args/${i}`;
    const arity = (n: number, form: string) => {
      if (args.length !== n) throw new Cql2Error(`"${op}" takes ${form}, got ${args.length} argument${args.length === 1 ? '' : 's'}`, at);
    };
    if (++this.depth > this.limits.maxDepth) throw new Cql2Error(`the filter is nested too deeply (more than ${this.limits.maxDepth} levels)`, at);
    try {
      if (op === 'and' || op === 'or') {
        if (args.length < 2) throw new Cql2Error(`"${op}" takes two or more expressions`, at);
        return this.node({ kind: op, args: args.map((a, i) => this.expr(a, arg(i))), pos: at });
      }
      if (op === 'not') {
        arity(1, 'one expression');
        return this.node({ kind: 'not', arg: this.expr(args[0]!, arg(0)), pos: at });
      }
      if (COMPARISONS.has(op)) {
        arity(2, 'two operands');
        return this.node({ kind: 'compare', op: op as ComparisonOp, left: this.scalar(args[0]!, arg(0)), right: this.scalar(args[1]!, arg(1)), pos: at });
      }
      switch (op) {
        case 'like':
          arity(2, 'a value and a pattern');
          return this.node({ kind: 'like', negated: false, value: this.scalar(args[0]!, arg(0)), pattern: this.scalar(args[1]!, arg(1)), pos: at });
        case 'between':
          arity(3, 'a value, a low and a high bound');
          return this.node({
            kind: 'between',
            negated: false,
            value: this.scalar(args[0]!, arg(0)),
            low: this.scalar(args[1]!, arg(1)),
            high: this.scalar(args[2]!, arg(2)),
            pos: at,
          });
        case 'in': {
          arity(2, 'a value and an array of values');
          const list = args[1]!;
          if (!Array.isArray(list) || list.length === 0) throw new Cql2Error('the second argument of "in" must be a non-empty array', arg(1));
          return this.node({ kind: 'in', negated: false, value: this.scalar(args[0]!, arg(0)), list: list.map((x, i) => this.scalar(x, `${arg(1)}/${i}`)), pos: at });
        }
        case 'isNull':
          arity(1, 'one operand');
          return this.node({ kind: 'isNull', negated: false, value: this.scalar(args[0]!, arg(0)), pos: at });
        case 's_dwithin': {
          arity(3, 'two geometries and a distance in metres');
          const metres = args[2];
          if (typeof metres !== 'number' || !(metres >= 0 && metres <= 1_000_000))
            throw new Cql2Error('the distance of s_dwithin must be a number of metres from 0 to 1000000', arg(2));
          return this.node({ kind: 'dwithin', a: this.operand(args[0]!, arg(0)), b: this.operand(args[1]!, arg(1)), metres, pos: at });
        }
      }
      const fn = SPATIAL.get(op);
      if (fn) {
        arity(2, 'two geometries');
        return this.node({ kind: 'spatial', fn, a: this.operand(args[0]!, arg(0)), b: this.operand(args[1]!, arg(1)), pos: at });
      }
      throw new Cql2Error(`unknown or unsupported operator "${op.slice(0, 40)}" (supported: ${OPS.join(', ')})`, `${at}/op`);
    } finally {
      this.depth--;
    }
  }

  private scalar(v: Json, at: string): Scalar {
    if (typeof v === 'string') {
      // PostgreSQL text cannot hold NUL: refused here, as the text encoding does, not as a database error.
      if (v.includes('\0')) throw new Cql2Error('unexpected control character U+0000 in a string', at);
      return this.node({ kind: 'string', value: v, pos: at });
    }
    if (typeof v === 'number') {
      // JSON.parse has already rounded what a double cannot hold: refuse rather than compare with another value.
      if (!Number.isFinite(v)) throw new Cql2Error('a number too large for a double', at);
      if (Number.isInteger(v) && !Number.isSafeInteger(v)) throw new Cql2Error('an integer beyond 2^53 cannot be read exactly from JSON: write it in CQL2-text', at);
      return this.node({ kind: 'number', text: String(v), value: v, pos: at });
    }
    if (typeof v === 'boolean') return this.node({ kind: 'boolean', value: v, pos: at });
    if (isObject(v)) {
      if (typeof v.property === 'string') return this.node({ kind: 'property', name: v.property, pos: at });
      if (typeof v.date === 'string') {
        if (!isDate(v.date)) throw new Cql2Error('{"date": "YYYY-MM-DD"} expected', at);
        return this.node({ kind: 'date', value: v.date, pos: at });
      }
      if (typeof v.timestamp === 'string') {
        if (!isTimestamp(v.timestamp)) throw new Cql2Error('{"timestamp": "YYYY-MM-DDTHH:MM:SSZ"} expected', at);
        return this.node({ kind: 'timestamp', value: v.timestamp, pos: at });
      }
    }
    throw new Cql2Error('expected a value: a string, a number, a boolean, {"property": …}, {"date": …} or {"timestamp": …}', at);
  }

  private operand(v: Json, at: string): GeometryOperand {
    if (isObject(v) && typeof v.property === 'string') return this.node({ kind: 'property', name: v.property, pos: at });
    // A GeoJSON geometry may carry its own "bbox" member: only an object without "type" is a bbox literal.
    const g = isObject(v) && v.type === undefined && Array.isArray(v.bbox) ? this.bbox(v.bbox, at) : this.geometry(v, at, 0);
    try {
      // The checks the text's WKT gets: ranges, closed rings of 4 positions, lines of 2 (else a database error).
      checkGeometry(g, this.limits.maxPositions);
    } catch (err) {
      if (err instanceof GeometryError) throw new Cql2Error(`invalid geometry: ${err.message}`, at);
      throw err;
    }
    return this.node({ kind: 'geometry', geometry: g, pos: at });
  }

  /** A GeoJSON geometry, checked for shape: the database says later whether it is valid as a figure. */
  private geometry(v: Json, at: string, depth: number): Geometry {
    if (!isObject(v) || typeof v.type !== 'string' || !GEOMETRY_TYPES.includes(v.type))
      throw new Cql2Error(`expected the geometry property, {"bbox": […]} or a GeoJSON geometry (${GEOMETRY_TYPES.join(', ')})`, at);
    const c = v.coordinates ?? null;
    const at2 = `${at}/coordinates`;
    switch (v.type) {
      case 'Point':
        return { type: 'Point', coordinates: this.position(c, at2) };
      case 'LineString':
      case 'MultiPoint':
        return { type: v.type, coordinates: this.array(c, at2, (p, a) => this.position(p, a)) };
      case 'Polygon':
      case 'MultiLineString':
        return { type: v.type, coordinates: this.array(c, at2, (r, a) => this.array(r, a, (p, b) => this.position(p, b))) };
      case 'MultiPolygon':
        return { type: 'MultiPolygon', coordinates: this.array(c, at2, (g, a) => this.array(g, a, (r, b) => this.array(r, b, (p, d) => this.position(p, d)))) };
      default: {
        if (depth >= MAX_COLLECTION_DEPTH) throw new Cql2Error('geometry collections are nested too deeply', at);
        return { type: 'GeometryCollection', geometries: this.array(v.geometries ?? null, `${at}/geometries`, (g, a) => this.geometry(g, a, depth + 1)) };
      }
    }
  }

  private array<T>(v: Json, at: string, item: (x: Json, at: string) => T): T[] {
    if (!Array.isArray(v) || v.length === 0) throw new Cql2Error('expected a non-empty array', at);
    return v.map((x, i) => item(x, `${at}/${i}`));
  }

  private position(v: Json, at: string): Position {
    if (!Array.isArray(v) || v.length < 2 || v.length > 3 || !v.every((n) => typeof n === 'number' && Number.isFinite(n)))
      throw new Cql2Error('expected a position: [longitude, latitude] or [longitude, latitude, height]', at);
    if (++this.positions > this.limits.maxPositions) throw new Cql2Error(`geometries have too many positions (more than ${this.limits.maxPositions})`, at);
    return v as number[];
  }

  private bbox(v: Json[], at: string): Geometry {
    if (!v.every((n) => typeof n === 'number' && Number.isFinite(n))) throw new Cql2Error('"bbox" takes numbers', at);
    const box = bboxPolygon(v as number[]);
    if (typeof box === 'string') throw new Cql2Error(`"bbox" ${box}`, at);
    return box;
  }

  private node<T extends { pos: Pos }>(n: T): T {
    if (++this.nodes > this.limits.maxNodes) throw new Cql2Error(`the filter has too many terms (more than ${this.limits.maxNodes})`, n.pos);
    return n;
  }
}
