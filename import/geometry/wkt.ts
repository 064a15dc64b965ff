import type { Geometry, Ordinates, Position } from './types.ts';

/** (E)WKT → the importer's geometry model. Parsed here rather than in PostGIS so one bad row is a rejected row. */
export class WktError extends Error {}

const TYPES: Record<string, Geometry['type']> = {
  POINT: 'Point',
  LINESTRING: 'LineString',
  POLYGON: 'Polygon',
  MULTIPOINT: 'MultiPoint',
  MULTILINESTRING: 'MultiLineString',
  MULTIPOLYGON: 'MultiPolygon',
  GEOMETRYCOLLECTION: 'GeometryCollection',
};

/** Does this text look like WKT (for finding a WKT column among CSV columns)? */
export function looksLikeWkt(text: string): boolean {
  return /^\s*(SRID=\d+;\s*)?(POINT|LINESTRING|POLYGON|MULTIPOINT|MULTILINESTRING|MULTIPOLYGON|GEOMETRYCOLLECTION)\b/i.test(text);
}

export function parseWkt(text: string): { geometry: Geometry; ordinates: Ordinates; srid: number | null } {
  const tokens = text.match(/[A-Za-z]+|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[(),;=]|\S/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => {
    const t = tokens[i++];
    if (t === undefined) throw new WktError('WKT ends too early');
    return t;
  };
  const expect = (t: string) => {
    const got = next();
    if (got !== t) throw new WktError(`expected "${t}" in WKT, found "${got}"`);
  };
  let srid: number | null = null;
  if (peek()?.toUpperCase() === 'SRID') {
    next();
    expect('=');
    srid = Number(next());
    expect(';');
  }
  let ordinates: Ordinates | null = null;
  const number = () => {
    const t = next();
    const v = Number(t);
    if (!/^[-+]?(\d|\.\d)/.test(t) || !Number.isFinite(v)) throw new WktError(`"${t}" is not a number in WKT`);
    return v;
  };
  const position = (): Position => {
    const p: Position = [number(), number()];
    while (peek() !== undefined && peek() !== ',' && peek() !== ')') p.push(number());
    if (p.length > 4) throw new WktError('a WKT position has more than 4 ordinates');
    ordinates ??= { z: p.length >= 3, m: p.length === 4 };
    return p;
  };
  const list = <T>(item: () => T): T[] => {
    expect('(');
    const out = [item()];
    while (peek() === ',') {
      next();
      out.push(item());
    }
    expect(')');
    return out;
  };
  const positions = () => list(position);
  const geometry = (depth: number): Geometry => {
    if (depth > 32) throw new WktError('WKT nests too deeply');
    let word = next().toUpperCase();
    let tag = '';
    const glued = /^(.*?)(ZM|Z|M)$/.exec(word);
    if (!TYPES[word] && glued && TYPES[glued[1]!]) [word, tag] = [glued[1]!, glued[2]!];
    const type = TYPES[word];
    if (!type) throw new WktError(`unknown WKT geometry type "${word}"`);
    if (['Z', 'M', 'ZM'].includes(peek()?.toUpperCase() ?? '')) tag = next().toUpperCase();
    if (tag && !ordinates) ordinates = { z: tag.includes('Z'), m: tag.includes('M') };
    if (peek()?.toUpperCase() === 'EMPTY') {
      next();
      return type === 'GeometryCollection' ? { type, geometries: [] } : ({ type, coordinates: [] } as Geometry);
    }
    switch (type) {
      case 'Point':
        return { type, coordinates: list(position)[0]! };
      case 'LineString':
        return { type, coordinates: positions() };
      case 'Polygon':
        return { type, coordinates: list(positions) };
      case 'MultiPoint':
        // Both MULTIPOINT((1 2),(3 4)) and MULTIPOINT(1 2, 3 4) are in use.
        return { type, coordinates: list(() => (peek() === '(' ? list(position)[0]! : position())) };
      case 'MultiLineString':
        return { type, coordinates: list(positions) };
      case 'MultiPolygon':
        return { type, coordinates: list(() => list(positions)) };
      case 'GeometryCollection':
        return { type, geometries: list(() => geometry(depth + 1)) };
    }
  };
  const g = geometry(0);
  if (i < tokens.length) throw new WktError(`unexpected "${tokens[i]}" after the WKT geometry`);
  return { geometry: g, ordinates: ordinates ?? { z: false, m: false }, srid };
}
