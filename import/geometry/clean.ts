import type { Geometry, Ordinates, Position } from './types.ts';

/**
 * Make a reader's geometry safe to hand to PostGIS, or say why it cannot be used. PostGIS's WKB parser rejects
 * unclosed rings, rings under 4 positions and lines under 2 with an error that would abort the whole COPY, so
 * those are settled here, per row: rings are closed and degenerate parts dropped (counted as repaired), and a
 * geometry with nothing left is rejected with its reason. Topology (self-intersections) is PostGIS's job
 * (ST_MakeValid, after the transform).
 */
export interface CleanOptions {
  /** Ordinates after x,y in the reader's positions; 'auto' = GeoJSON style, a third value is Z. */
  ordinates: Ordinates | 'auto';
  /** The source CRS is in degrees: longitudes must lie in -180..180, latitudes in -90..90. */
  geographic: boolean;
  /** Coordinate conversion applied after the checks (GCJ-02 / BD-09 → WGS84). */
  convert?: ((lon: number, lat: number) => [number, number]) | undefined;
}

export type Cleaned =
  | { ok: true; geometry: Geometry; hasZ: boolean; droppedM: boolean; fixed: boolean; /** [xmin, ymin, xmax, ymax] of the cleaned positions */ bbox: Box }
  | { ok: false; reason: string };

export type Box = [number, number, number, number];

class Unusable extends Error {}

export function cleanGeometry(g: Geometry | null | undefined, opts: CleanOptions): Cleaned {
  if (!g) return { ok: false, reason: 'no geometry' };
  if (g.type === 'Point' && opts.ordinates === 'auto' && g.coordinates?.length === 2) return cleanPoint(g.coordinates, opts);
  const state = { z: null as boolean | null, droppedM: false, fixed: false };
  const box: Box = [Infinity, Infinity, -Infinity, -Infinity];
  const pos = (p: Position): Position => {
    let x = p[0]!;
    let y = p[1]!;
    if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y))
      throw new Unusable(`coordinate is not a number (${String(p[0])}, ${String(p[1])})`);
    if (opts.geographic && (x < -180 || x > 180 || y < -90 || y > 90)) {
      const d = clampDegrees(x, y);
      if (typeof d === 'string') throw new Unusable(d);
      [x, y] = d;
    }
    if (opts.convert) [x, y] = opts.convert(x, y);
    if (x < box[0]) box[0] = x;
    if (y < box[1]) box[1] = y;
    if (x > box[2]) box[2] = x;
    if (y > box[3]) box[3] = y;
    const hasZ = opts.ordinates === 'auto' ? p.length >= 3 : opts.ordinates.z;
    if (opts.ordinates !== 'auto' && opts.ordinates.m) state.droppedM = true;
    state.z ??= hasZ;
    if (!state.z) return [x, y];
    const z = hasZ ? p[2]! : 0;
    return [x, y, Number.isFinite(z) ? z : 0];
  };
  const line = (ps: Position[], what: string): Position[] => {
    if (!Array.isArray(ps)) throw new Unusable(`${what} has no positions`);
    const out = ps.map(pos);
    if (out.length < 2) throw new Unusable(`${what} has fewer than 2 positions`);
    return out;
  };
  const ring = (ps: Position[]): Position[] | null => {
    if (!Array.isArray(ps)) return null;
    const out = ps.map(pos);
    const [first, last] = [out[0], out[out.length - 1]];
    if (first && last && (first[0] !== last[0] || first[1] !== last[1])) {
      out.push([...first]);
      state.fixed = true;
    }
    return out.length >= 4 ? out : null;
  };
  const polygon = (rings: Position[][]): Position[][] | null => {
    if (!Array.isArray(rings) || rings.length === 0) return null;
    const shell = ring(rings[0]!);
    if (!shell) return null;
    const holes = rings.slice(1).map(ring);
    const kept = holes.filter((h): h is Position[] => h !== null);
    if (kept.length !== holes.length) state.fixed = true;
    return [shell, ...kept];
  };
  const geometry = (g: Geometry): Geometry | null => {
    switch (g.type) {
      case 'Point':
        return Array.isArray(g.coordinates) && g.coordinates.length >= 2 ? { type: 'Point', coordinates: pos(g.coordinates) } : null;
      case 'MultiPoint': {
        const pts = (g.coordinates ?? []).filter((p) => Array.isArray(p) && p.length >= 2).map(pos);
        return pts.length ? { type: 'MultiPoint', coordinates: pts } : null;
      }
      case 'LineString':
        return g.coordinates?.length ? { type: 'LineString', coordinates: line(g.coordinates, 'line') } : null;
      case 'MultiLineString': {
        // A part of one position (a GPS track segment holding a single fix) is dropped, not the whole line.
        const all = (g.coordinates ?? []).filter((l) => l?.length);
        const parts = all.filter((l) => !Array.isArray(l) || l.length >= 2).map((l) => line(l, 'line part'));
        if (parts.length !== all.length) {
          if (parts.length === 0) throw new Unusable('line part has fewer than 2 positions');
          state.fixed = true;
        }
        return parts.length ? { type: 'MultiLineString', coordinates: parts } : null;
      }
      case 'Polygon': {
        if (!g.coordinates?.length) return null;
        const p = polygon(g.coordinates);
        if (!p) throw new Unusable('polygon ring has fewer than 4 positions');
        return { type: 'Polygon', coordinates: p };
      }
      case 'MultiPolygon': {
        const all = (g.coordinates ?? []).filter((p) => p?.length);
        const parts = all.map(polygon).filter((p): p is Position[][] => p !== null);
        if (parts.length !== all.length) {
          if (parts.length === 0) throw new Unusable('polygon ring has fewer than 4 positions');
          state.fixed = true;
        }
        return parts.length ? { type: 'MultiPolygon', coordinates: parts } : null;
      }
      case 'GeometryCollection': {
        const parts = (g.geometries ?? []).map(geometry).filter((p): p is Geometry => p !== null);
        return parts.length ? homogenise(parts) : null;
      }
      default:
        throw new Unusable(`unknown geometry type ${JSON.stringify((g as { type?: unknown }).type)}`);
    }
  };
  try {
    const out = geometry(g);
    if (!out) return { ok: false, reason: 'empty geometry' };
    return { ok: true, geometry: out, hasZ: state.z === true, droppedM: state.droppedM, fixed: state.fixed, bbox: box };
  } catch (err) {
    if (err instanceof Unusable) return { ok: false, reason: err.message };
    throw err;
  }
}

/** The common case (a CSV row, a GeoJSON point) without the general walk: same rules, no allocation but the result. */
function cleanPoint([x0, y0]: Position, opts: CleanOptions): Cleaned {
  let x = x0!;
  let y = y0!;
  if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y))
    return { ok: false, reason: `coordinate is not a number (${String(x0)}, ${String(y0)})` };
  if (opts.geographic && (x < -180 || x > 180 || y < -90 || y > 90)) {
    const d = clampDegrees(x, y);
    if (typeof d === 'string') return { ok: false, reason: d };
    [x, y] = d;
  }
  if (opts.convert) [x, y] = opts.convert(x, y);
  return { ok: true, geometry: { type: 'Point', coordinates: [x, y] }, hasZ: false, droppedM: false, fixed: false, bbox: [x, y, x, y] };
}

/** Rounding noise (180.00000000000006, common in Natural Earth) is clamped; real excursions are the reason. */
function clampDegrees(x: number, y: number): [number, number] | string {
  if (Math.abs(x) - 180 > 1e-9) return `longitude ${x} is outside -180..180`;
  if (Math.abs(y) - 90 > 1e-9) return `latitude ${y} is outside -90..90`;
  return [Math.max(-180, Math.min(180, x)), Math.max(-90, Math.min(90, y))];
}

/**
 * A collection whose members are all of one kind is that kind's Multi* (a KML MultiGeometry of polygons, a
 * gx:MultiTrack's lines): a layer of MultiPolygons, not of GeometryCollections. A truly mixed one stays a collection.
 */
function homogenise(parts: Geometry[]): Geometry {
  const kinds = new Set(parts.map((p) => p.type.replace(/^Multi/, '')));
  if (kinds.size !== 1) return { type: 'GeometryCollection', geometries: parts };
  const flat = <T>(p: Geometry, single: string): T[] => {
    const c = (p as unknown as { coordinates: unknown }).coordinates;
    return (p.type === single ? [c] : c) as T[];
  };
  switch ([...kinds][0]) {
    case 'Point':
      return { type: 'MultiPoint', coordinates: parts.flatMap((p) => flat<Position>(p, 'Point')) };
    case 'LineString':
      return { type: 'MultiLineString', coordinates: parts.flatMap((p) => flat<Position[]>(p, 'LineString')) };
    case 'Polygon':
      return { type: 'MultiPolygon', coordinates: parts.flatMap((p) => flat<Position[][]>(p, 'Polygon')) };
    default:
      return { type: 'GeometryCollection', geometries: parts };
  }
}
