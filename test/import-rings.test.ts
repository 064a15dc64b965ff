import test from 'ava';
import { readShape } from '../import/formats/shp-geometry.ts';
import type { Position } from '../import/geometry/types.ts';

/**
 * Polygon records are a flat list of rings; clockwise ones are shells, counter-clockwise ones holes of the smallest
 * shell holding them (ESRI Shapefile Technical Description). Issue 16 §2: a record of 10,000 shells with 10,000
 * holes blocked the server for 20 s with a pairwise search; the shells are now indexed by box.
 */
function polygonRecord(rings: Position[][]): Buffer {
  const n = rings.reduce((a, r) => a + r.length, 0);
  const b = Buffer.alloc(44 + 4 * rings.length + 16 * n);
  b.writeInt32LE(5, 0);
  b.writeInt32LE(rings.length, 36);
  b.writeInt32LE(n, 40);
  let at = 0;
  rings.forEach((r, i) => {
    b.writeInt32LE(at, 44 + 4 * i);
    at += r.length;
  });
  let o = 44 + 4 * rings.length;
  for (const p of rings.flat()) {
    b.writeDoubleLE(p[0]!, o);
    b.writeDoubleLE(p[1]!, o + 8);
    o += 16;
  }
  return b;
}
/** A closed square ring; clockwise (a shell) or counter-clockwise (a hole). */
const square = (x: number, y: number, size: number, cw: boolean): Position[] => {
  const r: Position[] = [[x, y], [x, y + size], [x + size, y + size], [x + size, y], [x, y]];
  return cw ? r : r.reverse();
};

test('a hole goes to the smallest shell holding it: an island inside a lake has its own pond', (t) => {
  const outer = square(0, 0, 100, true);
  const lake = square(10, 10, 80, false);
  const island = square(20, 20, 60, true);
  const pond = square(30, 30, 10, false);
  const g = readShape(polygonRecord([outer, island, lake, pond]), 5) as { type: string; coordinates: unknown };
  t.is(g.type, 'MultiPolygon');
  t.deepEqual(g.coordinates, [[outer, lake], [island, pond]]);
});

test('a hole sticking out of its shell’s box is still its hole, and a lone counter-clockwise ring is an area', (t) => {
  const shell = square(0, 0, 10, true);
  const sloppy: Position[] = [[1, 1], [11, 1], [1, 2], [1, 1]]; // counter-clockwise, crossing the shell's edge
  const lone = square(50, 50, 5, false);
  const g = readShape(polygonRecord([shell, sloppy, lone]), 5) as { type: string; coordinates: unknown };
  t.deepEqual(g.coordinates, [[shell, sloppy], [lone]]);
});

test('10,000 shells with a hole each are assembled, every hole in its own shell', (t) => {
  const rings: Position[][] = [];
  for (let i = 0; i < 10_000; i++) rings.push(square((i % 100) * 10, Math.floor(i / 100) * 10, 8, true));
  for (let i = 9_999; i >= 0; i--) rings.push(square((i % 100) * 10 + 2, Math.floor(i / 100) * 10 + 2, 4, false));
  const g = readShape(polygonRecord(rings), 5) as { type: string; coordinates: unknown };
  t.is(g.type, 'MultiPolygon');
  const polygons = g.coordinates as Position[][][];
  t.is(polygons.length, 10_000);
  t.true(polygons.every((p, i) => p.length === 2 && p[1]![0]![0] === (i % 100) * 10 + 2 && p[1]![0]![1] === Math.floor(i / 100) * 10 + 2));
});
