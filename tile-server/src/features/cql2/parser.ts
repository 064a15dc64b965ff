import { SPATIAL_FUNCTIONS, type ComparisonOp, type Expr, type GeometryOperand, type Pos, type Scalar, type SpatialFunction } from './ast.ts';
import { Cql2Error } from './errors.ts';
import { tokenize, type Token } from './lexer.ts';
import { WktReader } from './wkt.ts';

/**
 * Bounds on what one filter may cost to read. A hostile 10,000-term expression is refused by counting, before
 * any recursion gets deep: nesting is bounded by maxDepth, flat AND/OR chains are loops bounded by maxNodes.
 */
export interface Cql2Limits {
  maxLength: number;
  maxTokens: number;
  maxDepth: number;
  maxNodes: number;
  maxPositions: number;
}

export const DEFAULT_LIMITS: Cql2Limits = { maxLength: 65_536, maxTokens: 40_000, maxDepth: 32, maxNodes: 500, maxPositions: 10_000 };

/** Words that cannot name a property unless double-quoted. */
const RESERVED = new Set(['AND', 'OR', 'NOT', 'LIKE', 'BETWEEN', 'IN', 'IS', 'NULL', 'TRUE', 'FALSE']);

/**
 * Parse CQL2-text (OGC 21-065: basic CQL2, advanced comparison operators, spatial functions, plus S_DWITHIN in
 * metres) into an expression tree, or throw a Cql2Error naming the problem and its position.
 *
 *   expr      = and {OR and}          and = factor {AND factor}        factor = [NOT] primary
 *   primary   = "(" expr ")" | S_xxx "(" operand "," operand ")" | predicate | TRUE | FALSE
 *   predicate = scalar (op scalar | [NOT] LIKE scalar | [NOT] BETWEEN scalar AND scalar
 *                       | [NOT] IN "(" scalar {"," scalar} ")" | IS [NOT] NULL)
 *   scalar    = property | "quoted" | 'string' | number | TRUE | FALSE | DATE('…') | TIMESTAMP('…')
 */
export function parseCql2(text: string, limits: Cql2Limits = DEFAULT_LIMITS): Expr {
  if (text.length > limits.maxLength) throw new Cql2Error(`the filter is too long (more than ${limits.maxLength} characters)`, limits.maxLength + 1);
  if (text.trim() === '') throw new Cql2Error('the filter is empty', 1);
  const p = new Parser(tokenize(text, limits.maxTokens), limits);
  const e = p.expression();
  p.expectEnd();
  return e;
}

class Parser {
  private i = 0;
  private depth = 0;
  private nodes = 0;
  private readonly wkt: WktReader;

  constructor(
    private readonly tokens: Token[],
    private readonly limits: Cql2Limits,
  ) {
    this.wkt = new WktReader(() => this.peek(), () => this.next(), limits.maxPositions);
  }

  expression(): Expr {
    this.enter();
    const first = this.and();
    const args = [first];
    while (this.isWord('OR')) {
      this.next();
      args.push(this.and());
    }
    this.depth--;
    return args.length === 1 ? first : this.node({ kind: 'or', args, pos: first.pos });
  }

  expectEnd(): void {
    const t = this.peek();
    if (t.kind !== 'end') throw new Cql2Error(`unexpected ${show(t)} after the end of the expression`, t.pos);
  }

  private and(): Expr {
    const first = this.factor();
    const args = [first];
    while (this.isWord('AND')) {
      this.next();
      args.push(this.factor());
    }
    return args.length === 1 ? first : this.node({ kind: 'and', args, pos: first.pos });
  }

  private factor(): Expr {
    if (!this.isWord('NOT')) return this.primary();
    const pos = this.next().pos;
    this.enter();
    const arg = this.factor();
    this.depth--;
    return this.node({ kind: 'not', arg, pos });
  }

  private primary(): Expr {
    const t = this.peek();
    if (t.kind === '(') {
      this.next();
      const e = this.expression();
      this.expect(')', 'a closing parenthesis');
      return e;
    }
    if (t.kind === 'word' && (SPATIAL_FUNCTIONS as readonly string[]).includes(t.upper)) return this.spatial(t.upper as SpatialFunction);
    if (t.kind === 'word' && t.upper === 'S_DWITHIN') return this.dwithin();
    const left = this.scalar();
    return this.predicate(left);
  }

  private predicate(left: Scalar): Expr {
    const t = this.peek();
    const pos = left.pos;
    if (t.kind === 'op') {
      this.next();
      return this.node({ kind: 'compare', op: t.text as ComparisonOp, left, right: this.scalar(), pos });
    }
    if (t.kind === 'word' && t.upper === 'IS') {
      this.next();
      const negated = this.isWord('NOT') && !!this.next();
      if (!this.isWord('NULL')) throw new Cql2Error(`expected NULL after IS${negated ? ' NOT' : ''}, got ${show(this.peek())}`, this.peek().pos);
      this.next();
      return this.node({ kind: 'isNull', negated, value: left, pos });
    }
    const negated = this.isWord('NOT') && !!this.next();
    const op = this.peek();
    if (op.kind === 'word' && op.upper === 'LIKE') {
      this.next();
      return this.node({ kind: 'like', negated, value: left, pattern: this.scalar(), pos });
    }
    if (op.kind === 'word' && op.upper === 'BETWEEN') {
      this.next();
      const low = this.scalar();
      if (!this.isWord('AND')) throw new Cql2Error(`expected AND in BETWEEN, got ${show(this.peek())}`, this.peek().pos);
      this.next();
      return this.node({ kind: 'between', negated, value: left, low, high: this.scalar(), pos });
    }
    if (op.kind === 'word' && op.upper === 'IN') {
      this.next();
      this.expect('(', 'a list in parentheses after IN');
      const list = [this.scalar()];
      while (this.peek().kind === ',') {
        this.next();
        list.push(this.scalar());
      }
      this.expect(')', 'a closing parenthesis after the IN list');
      return this.node({ kind: 'in', negated, value: left, list, pos });
    }
    if (negated) throw new Cql2Error(`expected LIKE, BETWEEN or IN after NOT, got ${show(op)}`, op.pos);
    if (left.kind === 'boolean') return this.node({ kind: 'literal', value: left.value, pos });
    throw new Cql2Error(`expected a comparison after ${describeScalar(left)}, got ${show(op)}`, op.pos);
  }

  private scalar(): Scalar {
    const t = this.next();
    switch (t.kind) {
      case 'quoted':
        return this.node({ kind: 'property', name: t.text, pos: t.pos });
      case 'string':
        return this.node({ kind: 'string', value: t.text, pos: t.pos });
      case 'number': {
        const value = Number(t.text);
        if (!Number.isFinite(value)) throw new Cql2Error(`number ${t.text.slice(0, 40)} is out of range`, t.pos);
        return this.node({ kind: 'number', text: t.text, value, pos: t.pos });
      }
      case 'word': {
        if (t.upper === 'TRUE' || t.upper === 'FALSE') return this.node({ kind: 'boolean', value: t.upper === 'TRUE', pos: t.pos });
        if (this.peek().kind === '(') {
          if (t.upper === 'DATE') return this.node({ kind: 'date', value: this.instant(t, isDate, "DATE('YYYY-MM-DD')"), pos: t.pos });
          if (t.upper === 'TIMESTAMP')
            return this.node({ kind: 'timestamp', value: this.instant(t, isTimestamp, "TIMESTAMP('YYYY-MM-DDTHH:MM:SSZ')"), pos: t.pos });
          throw new Cql2Error(`unsupported function ${t.text.slice(0, 64)}`, t.pos);
        }
        if (RESERVED.has(t.upper)) throw new Cql2Error(`unexpected ${t.upper} where a property or value belongs`, t.pos);
        return this.node({ kind: 'property', name: t.text, pos: t.pos });
      }
      default:
        throw new Cql2Error(`expected a property or value, got ${show(t)}`, t.pos);
    }
  }

  /** The 'text' of DATE('…') or TIMESTAMP('…'), checked to be a real calendar instant. */
  private instant(fn: Token, valid: (s: string) => boolean, form: string): string {
    this.expect('(', form);
    const s = this.next();
    if (s.kind !== 'string' || !valid(s.text)) throw new Cql2Error(`${form} expected`, fn.pos);
    this.expect(')', form);
    return s.text;
  }

  private spatial(fn: SpatialFunction): Expr {
    const pos = this.next().pos;
    this.expect('(', `${fn}(geometry, geometry)`);
    const a = this.operand();
    this.expect(',', `${fn}(geometry, geometry)`);
    const b = this.operand();
    this.expect(')', `${fn}(geometry, geometry)`);
    return this.node({ kind: 'spatial', fn, a, b, pos });
  }

  private dwithin(): Expr {
    const pos = this.next().pos;
    const form = 'S_DWITHIN(geometry, geometry, metres)';
    this.expect('(', form);
    const a = this.operand();
    this.expect(',', form);
    const b = this.operand();
    this.expect(',', form);
    const d = this.next();
    const metres = d.kind === 'number' ? Number(d.text) : NaN;
    if (!(metres >= 0 && metres <= 1_000_000)) throw new Cql2Error(`${form}: the distance must be a number of metres from 0 to 1000000`, d.pos);
    this.expect(')', form);
    return this.node({ kind: 'dwithin', a, b, metres, pos });
  }

  private operand(): GeometryOperand {
    const t = this.peek();
    if (t.kind === 'quoted') return this.node({ kind: 'property', name: (this.next() as { text: string }).text, pos: t.pos });
    if (t.kind === 'word' && this.wkt.starts(t.upper)) return this.node({ kind: 'geometry', geometry: this.wkt.geometry(), pos: t.pos });
    if (t.kind === 'word' && !RESERVED.has(t.upper) && this.tokens[this.i + 1]?.kind !== '(') {
      this.next();
      return this.node({ kind: 'property', name: t.text, pos: t.pos });
    }
    throw new Cql2Error(`expected the geometry property or a geometry (POINT, LINESTRING, POLYGON, …, BBOX), got ${show(t)}`, t.pos);
  }

  private node<T extends { pos: Pos }>(n: T): T {
    if (++this.nodes > this.limits.maxNodes) throw new Cql2Error(`the filter has too many terms (more than ${this.limits.maxNodes})`, n.pos);
    return n;
  }

  private enter(): void {
    if (++this.depth > this.limits.maxDepth) throw new Cql2Error(`the filter is nested too deeply (more than ${this.limits.maxDepth} levels)`, this.peek().pos);
  }

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private next(): Token {
    const t = this.tokens[this.i]!;
    if (t.kind !== 'end') this.i++;
    return t;
  }

  private isWord(upper: string): boolean {
    const t = this.peek();
    return t.kind === 'word' && t.upper === upper;
  }

  private expect(kind: '(' | ')' | ',', what: string): void {
    const t = this.next();
    if (t.kind !== kind) throw new Cql2Error(`expected ${what}, got ${show(t)}`, t.pos);
  }
}

/** A token as an error message shows it. */
export function show(t: Token): string {
  switch (t.kind) {
    case 'end':
      return 'the end of the filter';
    case 'word':
    case 'number':
      return `"${t.text.slice(0, 64)}"`;
    case 'quoted':
      return `property "${t.text.slice(0, 64)}"`;
    case 'string':
      return `string '${t.text.slice(0, 64)}'`;
    case 'op':
      return `"${t.text}"`;
    default:
      return `"${t.kind}"`;
  }
}

function describeScalar(s: Scalar): string {
  return s.kind === 'property' ? `property "${s.name.slice(0, 64)}"` : `a ${s.kind}`;
}

/** YYYY-MM-DD that exists in the calendar. */
export function isDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/** RFC 3339 date-time with Z or an offset: 2024-05-01T08:30:00Z, 2024-05-01T08:30:00.5+08:00. */
export function isTimestamp(s: string): boolean {
  const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/.exec(s);
  if (!m || !isDate(m[1]!)) return false;
  const [h, min, sec] = [Number(m[2]), Number(m[3]), Number(m[4])];
  const offsetOk = m[7] === undefined || (Number(m[7]) <= 23 && Number(m[8]) <= 59);
  return h <= 23 && min <= 59 && sec <= 60 && offsetOk;
}
