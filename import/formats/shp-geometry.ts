import Flatbush from 'flatbush';
import type { Geometry, Ordinates, Position } from '../geometry/types.ts';

/**
 * Shape records (ESRI Shapefile Technical Description, 1998) → geometry, including the Z and M variants that the
 * `shapefile` npm package flattens to 2D. Z shapes give [x, y, z] (their optional M is not read); M shapes give
 * [x, y, m]. Polygon rings are grouped the ESRI way: clockwise rings are shells, counter-clockwise rings are holes
 * of the shell that contains them.
 */
export class ShapeError extends Error {}

export function ordinatesOf(shapeType: number): Ordinates {
  return { z: [11, 13, 15, 18].includes(shapeType), m: [21, 23, 25, 28].includes(shapeType) };
}

export function readShape(rec: Buffer, fileType: number): Geometry | null {
  if (rec.length < 4) throw new ShapeError('the record is empty');
  const type = rec.readInt32LE(0);
  if (type === 0) return null;
  if (type !== fileType) throw new ShapeError(`shape type ${type} in a file of shape type ${fileType}`);
  const { z, m } = ordinatesOf(type);
  const need = (n: number) => {
    if (n > rec.length) throw new ShapeError(`the record is shorter (${rec.length} bytes) than its shape needs (${n})`);
  };
  switch (type) {
    case 1:
    case 11:
    case 21: {
      need(20 + (z || m ? 8 : 0));
      const p: Position = [rec.readDoubleLE(4), rec.readDoubleLE(12)];
      if (z || m) p.push(rec.readDoubleLE(20));
      return { type: 'Point', coordinates: p };
    }
    case 8:
    case 18:
    case 28: {
      need(40);
      const n = rec.readInt32LE(36);
      const points = readPoints(rec, 40, n, z || m, need);
      return { type: 'MultiPoint', coordinates: points };
    }
    case 3:
    case 13:
    case 23:
    case 5:
    case 15:
    case 25: {
      need(44);
      const parts = rec.readInt32LE(36);
      const n = rec.readInt32LE(40);
      if (parts < 0 || n < 0 || parts > n + 1) throw new ShapeError(`the record claims ${parts} parts and ${n} points`);
      need(44 + parts * 4);
      const starts = Array.from({ length: parts }, (_, i) => rec.readInt32LE(44 + i * 4));
      const points = readPoints(rec, 44 + parts * 4, n, z || m, need);
      const rings = starts.map((s, i) => {
        const e = i + 1 < parts ? starts[i + 1]! : n;
        if (s < 0 || e > n || s > e) throw new ShapeError('a part index points outside the record');
        return points.slice(s, e);
      });
      if ([3, 13, 23].includes(type)) return rings.length === 1 ? { type: 'LineString', coordinates: rings[0]! } : { type: 'MultiLineString', coordinates: rings };
      return assemblePolygons(rings);
    }
    default:
      throw new ShapeError(`unsupported shape type ${type}`);
  }
}

/** x,y pairs, then (for Z/M shapes) a range and one value per point, appended as the third ordinate. */
function readPoints(rec: Buffer, at: number, n: number, third: boolean, need: (n: number) => void): Position[] {
  if (n < 0) throw new ShapeError(`the record claims ${n} points`);
  need(at + n * 16 + (third ? 16 + n * 8 : 0));
  const points: Position[] = new Array(n);
  for (let i = 0; i < n; i++) points[i] = [rec.readDoubleLE(at + i * 16), rec.readDoubleLE(at + i * 16 + 8)];
  if (third) {
    const base = at + n * 16 + 16;
    for (let i = 0; i < n; i++) points[i]!.push(rec.readDoubleLE(base + i * 8));
  }
  return points;
}

/**
 * Shapefile polygons are a flat list of rings: clockwise ones are shells, counter-clockwise ones holes, and a
 * hole belongs to the smallest shell that contains it. Shells are indexed by their boxes (Flatbush, an R-tree
 * built once), so each hole tests only the shells whose box holds its own, smallest first: near-linear where
 * the pairwise search took 20 s for 10,000 shells and 10,000 holes, with the event loop blocked throughout.
 */
function assemblePolygons(rings: Position[][]): Geometry {
  const shells: Array<{ rings: Position[][]; box: Box; area: number }> = [];
  const holes: Array<{ ring: Position[]; box: Box }> = [];
  for (const ring of rings) {
    const box = boxOf(ring);
    if (clockwise(ring)) shells.push({ rings: [ring], box, area: (box[2] - box[0]) * (box[3] - box[1]) });
    else holes.push({ ring, box });
  }
  if (holes.length > 0 && shells.length > 0) {
    const index = new Flatbush(shells.length);
    for (const s of shells) index.add(s.box[0], s.box[1], s.box[2], s.box[3]);
    index.finish();
    const orphans: Position[][] = [];
    for (const hole of holes) {
      const [minX, minY, maxX, maxY] = hole.box;
      // Shells whose box meets the hole's (a sloppy hole may stick out of its shell's box), smallest first.
      const candidates = index.search(minX, minY, maxX, maxY).sort((a, b) => shells[a]!.area - shells[b]!.area);
      const owner = candidates.find((i) => containsSome(shells[i]!.rings[0]!, hole.ring));
      if (owner !== undefined) shells[owner]!.rings.push(hole.ring);
      else orphans.push(hole.ring);
    }
    // A lone counter-clockwise ring: written with the wrong orientation, still an area.
    for (const ring of orphans) shells.push({ rings: [ring], box: boxOf(ring), area: 0 });
  } else for (const hole of holes) shells.push({ rings: [hole.ring], box: hole.box, area: 0 });
  return shells.length === 1
    ? { type: 'Polygon', coordinates: shells[0]!.rings }
    : { type: 'MultiPolygon', coordinates: shells.map((s) => s.rings) };
}

type Box = [number, number, number, number];

function boxOf(ring: Position[]): Box {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const p of ring) {
    const x = p[0]!, y = p[1]!;
    if (x < minX) minX = x;
    if (y < minY) minY = y;
    if (x > maxX) maxX = x;
    if (y > maxY) maxY = y;
  }
  return [minX, minY, maxX, maxY];
}

function clockwise(ring: Position[]): boolean {
  let area = 0;
  for (let i = 0, n = ring.length, j = n - 1; i < n; j = i++) area += (ring[i]![0]! - ring[j]![0]!) * (ring[i]![1]! + ring[j]![1]!);
  return area > 0;
}

function containsSome(shell: Position[], hole: Position[]): boolean {
  for (const p of hole) {
    const c = contains(shell, p);
    if (c !== 0) return c > 0;
  }
  return false;
}

/** 1 inside, -1 outside, 0 on the boundary. */
function contains(ring: Position[], [x, y]: Position): number {
  let inside = -1;
  for (let i = 0, n = ring.length, j = n - 1; i < n; j = i++) {
    const [xi, yi] = ring[i]! as [number, number];
    const [xj, yj] = ring[j]! as [number, number];
    if (onSegment(xi, yi, xj, yj, x!, y!)) return 0;
    if (yi > y! !== yj > y! && x! < ((xj - xi) * (y! - yi)) / (yj - yi) + xi) inside = -inside;
  }
  return inside;
}

function onSegment(x1: number, y1: number, x2: number, y2: number, x: number, y: number): boolean {
  const cross = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1);
  if (Math.abs(cross) > 1e-12 * (Math.abs(x2 - x1) + Math.abs(y2 - y1) + 1)) return false;
  return Math.min(x1, x2) <= x && x <= Math.max(x1, x2) && Math.min(y1, y2) <= y && y <= Math.max(y1, y2);
}
