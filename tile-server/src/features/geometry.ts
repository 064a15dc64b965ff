import type { Geometry } from 'geojson';

/** A GeoJSON geometry that cannot be used; the message names the place (`coordinates[0][3]`) and the problem. */
export class GeometryError extends Error {}

/** Positions one geometry may have (a district outline drawn or imported has a few thousand). */
export const MAX_POSITIONS = 100_000;
export const MAX_COLLECTION_DEPTH = 4;

/**
 * Check that a value is a GeoJSON geometry in CRS84 that PostGIS will read as meant (RFC 7946): a known type,
 * positions of 2 or 3 finite numbers with longitude in -180..180 and latitude in -90..90, lines of 2+
 * positions, closed rings of 4+, no empty parts, at most `maxPositions` positions. Throws GeometryError.
 */
export function checkGeometry(g: unknown, maxPositions = MAX_POSITIONS, path = 'geometry'): asserts g is Geometry {
  const counter = { left: maxPositions, limit: maxPositions };
  check(g, path, counter, 0);
}

type Counter = { left: number; limit: number };

function check(g: unknown, path: string, counter: Counter, depth: number): void {
  if (typeof g !== 'object' || g === null || Array.isArray(g)) throw new GeometryError(`${path}: must be a GeoJSON geometry object`);
  const { type } = g as { type?: unknown };
  const coordinates = (g as { coordinates?: unknown }).coordinates;
  const at = `${path}.coordinates`;
  switch (type) {
    case 'Point':
      return position(coordinates, at, counter);
    case 'MultiPoint':
      return parts(coordinates, at, (p, i) => position(p, i, counter));
    case 'LineString':
      return line(coordinates, at, counter);
    case 'MultiLineString':
      return parts(coordinates, at, (l, i) => line(l, i, counter));
    case 'Polygon':
      return polygon(coordinates, at, counter);
    case 'MultiPolygon':
      return parts(coordinates, at, (p, i) => polygon(p, i, counter));
    case 'GeometryCollection': {
      if (depth >= MAX_COLLECTION_DEPTH) throw new GeometryError(`${path}: geometry collections are nested too deeply`);
      const { geometries } = g as { geometries?: unknown };
      return parts(geometries, `${path}.geometries`, (m, i) => check(m, i, counter, depth + 1));
    }
    default:
      throw new GeometryError(
        `${path}.type: must be Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon or GeometryCollection, got ${JSON.stringify(type)?.slice(0, 40)}`,
      );
  }
}

function parts(v: unknown, path: string, each: (item: unknown, path: string) => void): void {
  if (!Array.isArray(v)) throw new GeometryError(`${path}: must be an array`);
  if (v.length === 0) throw new GeometryError(`${path}: is empty`);
  v.forEach((item, i) => each(item, `${path}[${i}]`));
}

function position(v: unknown, path: string, counter: Counter): void {
  if (--counter.left < 0) throw new GeometryError(`${path}: too many positions (the limit is ${counter.limit})`);
  if (!Array.isArray(v) || v.length < 2 || v.length > 3 || !v.every((n) => typeof n === 'number' && Number.isFinite(n)))
    throw new GeometryError(`${path}: a position is [longitude, latitude] or [longitude, latitude, height] of finite numbers`);
  const [lon, lat] = v as [number, number];
  if (lon < -180 || lon > 180) throw new GeometryError(`${path}: longitude ${lon} is outside -180..180`);
  if (lat < -90 || lat > 90) throw new GeometryError(`${path}: latitude ${lat} is outside -90..90`);
}

function line(v: unknown, path: string, counter: Counter): void {
  parts(v, path, (p, i) => position(p, i, counter));
  if ((v as unknown[]).length < 2) throw new GeometryError(`${path}: a line needs at least 2 positions`);
}

function polygon(v: unknown, path: string, counter: Counter): void {
  parts(v, path, (ring, i) => {
    parts(ring, i, (p, j) => position(p, j, counter));
    const r = ring as number[][];
    if (r.length < 4) throw new GeometryError(`${i}: a ring needs at least 4 positions (it ends where it starts)`);
    const [first, last] = [r[0]!, r[r.length - 1]!];
    if (first[0] !== last[0] || first[1] !== last[1] || first[2] !== last[2])
      throw new GeometryError(`${i}: the ring is not closed (its last position must equal its first)`);
  });
}
