import type { Position } from '../tools/sketch.ts';

/** Whether a point lies inside a ring (even-odd rule; lon/lat treated as plane coordinates, as at city scale). */
export function pointInRing([x, y]: Position, ring: Position[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function positions(g: GeoJSON.Geometry): Position[] {
  switch (g.type) {
    case 'Point':
      return [g.coordinates as Position];
    case 'MultiPoint':
    case 'LineString':
      return g.coordinates as Position[];
    case 'MultiLineString':
    case 'Polygon':
      return g.coordinates.flat() as Position[];
    case 'MultiPolygon':
      return g.coordinates.flat(2) as Position[];
    case 'GeometryCollection':
      return g.geometries.flatMap(positions);
  }
}

function outerRings(g: GeoJSON.Geometry): Position[][] {
  if (g.type === 'Polygon') return [g.coordinates[0] as Position[]];
  if (g.type === 'MultiPolygon') return g.coordinates.map((p) => p[0] as Position[]);
  return [];
}

/**
 * Whether a feature meets a drawn polygon, near enough for counting what the map shows: a vertex of the
 * feature inside the polygon, or the polygon's first corner inside the feature (a large area around it).
 * Points are exact; the fallback's answers are labelled approximate anyway.
 */
export function meets(g: GeoJSON.Geometry, ring: Position[]): boolean {
  if (positions(g).some((p) => pointInRing(p, ring))) return true;
  return outerRings(g).some((outer) => pointInRing(ring[0]!, outer));
}
