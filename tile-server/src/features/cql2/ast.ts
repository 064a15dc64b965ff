import type { Geometry } from 'geojson';

/** The CQL2 subset CityBase understands, as a tree. Every node keeps its position for error messages. */

/** Where a node was written: a 1-based character in CQL2-text, or a JSON Pointer into CQL2-JSON ("/args/1"). */
export type Pos = number | string;

export type ComparisonOp = '=' | '<>' | '<' | '>' | '<=' | '>=';

export const SPATIAL_FUNCTIONS = [
  'S_INTERSECTS',
  'S_EQUALS',
  'S_DISJOINT',
  'S_TOUCHES',
  'S_WITHIN',
  'S_OVERLAPS',
  'S_CROSSES',
  'S_CONTAINS',
] as const;
export type SpatialFunction = (typeof SPATIAL_FUNCTIONS)[number];

export type Scalar =
  | { kind: 'property'; name: string; pos: Pos }
  | { kind: 'string'; value: string; pos: Pos }
  | { kind: 'number'; text: string; value: number; pos: Pos }
  | { kind: 'boolean'; value: boolean; pos: Pos }
  | { kind: 'date'; value: string; pos: Pos }
  | { kind: 'timestamp'; value: string; pos: Pos };

export type GeometryOperand = { kind: 'property'; name: string; pos: Pos } | { kind: 'geometry'; geometry: Geometry; pos: Pos };

export type Expr =
  | { kind: 'and' | 'or'; args: Expr[]; pos: Pos }
  | { kind: 'not'; arg: Expr; pos: Pos }
  | { kind: 'literal'; value: boolean; pos: Pos }
  | { kind: 'compare'; op: ComparisonOp; left: Scalar; right: Scalar; pos: Pos }
  | { kind: 'like'; negated: boolean; value: Scalar; pattern: Scalar; pos: Pos }
  | { kind: 'between'; negated: boolean; value: Scalar; low: Scalar; high: Scalar; pos: Pos }
  | { kind: 'in'; negated: boolean; value: Scalar; list: Scalar[]; pos: Pos }
  | { kind: 'isNull'; negated: boolean; value: Scalar; pos: Pos }
  | { kind: 'spatial'; fn: SpatialFunction; a: GeometryOperand; b: GeometryOperand; pos: Pos }
  | { kind: 'dwithin'; a: GeometryOperand; b: GeometryOperand; metres: number; pos: Pos };

/**
 * The expression written back as canonical CQL2-text: keywords upper case, properties double-quoted, literals
 * normalised, geometries as GeoJSON. Equal filters written differently get the same text, which keys the tile
 * cache and the next links.
 */
export function toText(e: Expr): string {
  switch (e.kind) {
    case 'and':
    case 'or':
      return `(${e.args.map(toText).join(e.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `NOT ${toText(e.arg)}`;
    case 'literal':
      return e.value ? 'TRUE' : 'FALSE';
    case 'compare':
      return `${scalar(e.left)} ${e.op} ${scalar(e.right)}`;
    case 'like':
      return `${scalar(e.value)}${e.negated ? ' NOT' : ''} LIKE ${scalar(e.pattern)}`;
    case 'between':
      return `${scalar(e.value)}${e.negated ? ' NOT' : ''} BETWEEN ${scalar(e.low)} AND ${scalar(e.high)}`;
    case 'in':
      return `${scalar(e.value)}${e.negated ? ' NOT' : ''} IN (${e.list.map(scalar).join(', ')})`;
    case 'isNull':
      return `${scalar(e.value)} IS${e.negated ? ' NOT' : ''} NULL`;
    case 'spatial':
      return `${e.fn}(${operand(e.a)}, ${operand(e.b)})`;
    case 'dwithin':
      return `S_DWITHIN(${operand(e.a)}, ${operand(e.b)}, ${e.metres})`;
  }
}

function scalar(s: Scalar): string {
  switch (s.kind) {
    case 'property':
      return `"${s.name}"`;
    case 'string':
      return `'${s.value.replaceAll("'", "''")}'`;
    case 'number':
      // The text, not the double: numeric columns compare exactly, so 0.1 and 0.10000000000000001 differ.
      return s.text.replace(/^\+/, '');
    case 'boolean':
      return s.value ? 'TRUE' : 'FALSE';
    case 'date':
      return `DATE('${s.value}')`;
    case 'timestamp':
      return `TIMESTAMP('${s.value}')`;
  }
}

function operand(g: GeometryOperand): string {
  return g.kind === 'property' ? `"${g.name}"` : JSON.stringify(g.geometry);
}
