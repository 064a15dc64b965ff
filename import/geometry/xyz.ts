import type { Geometry, Ordinates } from './types.ts';

/**
 * Positions as x,y[,z] for sources whose rows differ in ordinates (WKT per CSV row, WKB per GeoPackage row):
 * such sources declare 'auto' ordinates (a third value is Z), so M is dropped here, per geometry.
 */
export function toXYZ(g: Geometry, o: Ordinates): Geometry {
  if (!o.m) return g;
  const fix = (p: number[]) => (o.z ? [p[0]!, p[1]!, p[2]!] : [p[0]!, p[1]!]);
  const walk = (x: unknown): unknown => (Array.isArray(x) && typeof x[0] === 'number' ? fix(x as number[]) : Array.isArray(x) ? x.map(walk) : x);
  if (g.type === 'GeometryCollection') return { type: g.type, geometries: g.geometries.map((p) => toXYZ(p, o)) };
  return { type: g.type, coordinates: walk(g.coordinates) } as Geometry;
}
