import type { Geometry, Position } from 'geojson';
import { GeometryError, MAX_COLLECTION_DEPTH, checkGeometry } from '../geometry.ts';
import { Cql2Error } from './errors.ts';
import type { Token } from './lexer.ts';

const TYPES = ['POINT', 'LINESTRING', 'POLYGON', 'MULTIPOINT', 'MULTILINESTRING', 'MULTIPOLYGON', 'GEOMETRYCOLLECTION', 'BBOX'];

/**
 * Reads the geometry literals of CQL2-text (WKT in CRS84, and BBOX(w, s, e, n)) from the token stream into
 * GeoJSON geometries, which then reach SQL as one bind parameter (ST_GeomFromGeoJSON). Coordinates are checked
 * like any GeoJSON input (geometry.ts): ranges, closed rings, a bounded number of positions.
 */
export class WktReader {
  private positions = 0;

  constructor(
    private readonly peek: () => Token,
    private readonly next: () => Token,
    private readonly maxPositions: number,
  ) {}

  starts(upper: string): boolean {
    return TYPES.includes(upper);
  }

  geometry(depth = 0): Geometry {
    const start = this.peek();
    const g = this.tagged(depth);
    try {
      if (depth === 0) checkGeometry(g);
    } catch (err) {
      if (err instanceof GeometryError) throw new Cql2Error(`invalid geometry: ${err.message}`, start.pos);
      throw err;
    }
    return g;
  }

  private tagged(depth: number): Geometry {
    const t = this.next();
    const type = t.kind === 'word' ? t.upper : '';
    if (!TYPES.includes(type)) throw new Cql2Error(`expected a geometry (${TYPES.join(', ')})`, t.pos);
    if (type === 'BBOX') return this.bbox();
    const z = this.peek();
    if (z.kind === 'word' && z.upper === 'Z') this.next();
    switch (type) {
      case 'POINT':
        return { type: 'Point', coordinates: this.one() };
      case 'LINESTRING':
        return { type: 'LineString', coordinates: this.list(() => this.position()) };
      case 'POLYGON':
        return { type: 'Polygon', coordinates: this.list(() => this.list(() => this.position())) };
      case 'MULTIPOINT':
        // Both MULTIPOINT((1 2), (3 4)) (the standard) and MULTIPOINT(1 2, 3 4) (common) are written.
        return { type: 'MultiPoint', coordinates: this.list(() => (this.peek().kind === '(' ? this.one() : this.position())) };
      case 'MULTILINESTRING':
        return { type: 'MultiLineString', coordinates: this.list(() => this.list(() => this.position())) };
      case 'MULTIPOLYGON':
        return { type: 'MultiPolygon', coordinates: this.list(() => this.list(() => this.list(() => this.position()))) };
      default: {
        if (depth >= MAX_COLLECTION_DEPTH) throw new Cql2Error('geometry collections are nested too deeply', t.pos);
        return { type: 'GeometryCollection', geometries: this.list(() => this.tagged(depth + 1)) };
      }
    }
  }

  /** "(" position ")" */
  private one(): Position {
    this.expect('(');
    const p = this.position();
    this.expect(')');
    return p;
  }

  /** "(" item {"," item} ")" */
  private list<T>(item: () => T): T[] {
    this.expect('(');
    const out = [item()];
    while (this.peek().kind === ',') {
      this.next();
      out.push(item());
    }
    this.expect(')');
    return out;
  }

  private position(): Position {
    const p: Position = [this.number(), this.number()];
    if (this.peek().kind === 'number') p.push(this.number());
    if (++this.positions > this.maxPositions) throw new Cql2Error(`geometries have too many positions (more than ${this.maxPositions})`, this.peek().pos);
    return p;
  }

  private bbox(): Geometry {
    const start = this.peek();
    const n = this.list(() => this.number());
    const box = bboxPolygon(n);
    if (typeof box === 'string') throw new Cql2Error(`BBOX ${box}`, start.pos);
    return box;
  }

  private number(): number {
    const t = this.next();
    const v = t.kind === 'number' ? Number(t.text) : NaN;
    if (!Number.isFinite(v)) throw new Cql2Error(`expected a coordinate, got ${t.kind === 'end' ? 'the end of the filter' : `"${'text' in t ? t.text.slice(0, 40) : t.kind}"`}`, t.pos);
    return v;
  }

  private expect(kind: '(' | ')'): void {
    const t = this.next();
    if (t.kind !== kind) throw new Cql2Error(`expected "${kind}" in a geometry, got ${t.kind === 'end' ? 'the end of the filter' : `"${'text' in t ? t.text.slice(0, 40) : t.kind}"`}`, t.pos);
  }
}

/**
 * A CQL2 bbox (west, south, east, north, or with heights west, south, min, east, north, max) as the polygon it
 * covers, or what is wrong with it. Shared by the text (BBOX(…)) and JSON ({"bbox": […]}) encodings.
 */
export function bboxPolygon(n: readonly number[]): Geometry | string {
  if (n.length !== 4 && n.length !== 6) return 'takes 4 numbers (west, south, east, north) or 6 with heights';
  const [w, s, e, north] = n.length === 4 ? (n as [number, number, number, number]) : [n[0]!, n[1]!, n[3]!, n[4]!];
  if (w > e || s > north) return 'must be west, south, east, north with west <= east and south <= north';
  return { type: 'Polygon', coordinates: [[[w, s], [e, s], [e, north], [w, north], [w, s]]] };
}
