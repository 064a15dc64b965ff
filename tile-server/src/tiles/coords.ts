import { badRequest } from '../errors.ts';

export interface TileCoord {
  readonly z: number;
  readonly x: number;
  readonly y: number;
}

/** [west, south, east, north] in degrees (WGS84). */
export type LonLatBox = readonly [number, number, number, number];

export const MAX_ZOOM = 30;
const MAX_LAT = 85.0511287798066;

const integer = /^(0|[1-9][0-9]{0,9})$/;

/** Parse path segments into a tile address; anything but small non-negative integers in range is a 400. */
export function parseTile(zs: string, xs: string, ys: string): TileCoord {
  for (const [name, v] of [['z', zs], ['x', xs], ['y', ys]] as const) {
    if (!integer.test(v)) throw badRequest('invalid_tile', `${name} must be a non-negative integer, got "${v.slice(0, 40)}"`);
  }
  const z = Number(zs);
  const x = Number(xs);
  const y = Number(ys);
  if (z > MAX_ZOOM) throw badRequest('invalid_tile', `z must be between 0 and ${MAX_ZOOM}, got ${z}`);
  const n = 2 ** z;
  if (x >= n || y >= n) throw badRequest('invalid_tile', `x and y must be between 0 and ${n - 1} at zoom ${z}, got ${x}/${y}`);
  return { z, x, y };
}

/** Fractional tile column/row of a longitude/latitude at zoom 0 (0..1, y downwards). */
function mercatorX(lon: number): number {
  return (Math.min(Math.max(lon, -180), 180) + 180) / 360;
}
function mercatorY(lat: number): number {
  const phi = (Math.min(Math.max(lat, -MAX_LAT), MAX_LAT) * Math.PI) / 180;
  return (1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2;
}

export interface TileRange {
  readonly z: number;
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
}

/**
 * The tiles at zoom z whose content can depend on a box: every tile whose area, widened by the tile buffer
 * (as a fraction of a tile), touches it. A feature in the buffer of a neighbour appears in that neighbour too.
 */
export function tilesCovering(box: LonLatBox, z: number, bufferFraction: number): TileRange {
  const n = 2 ** z;
  const clamp = (v: number) => Math.min(Math.max(v, 0), n - 1);
  return {
    z,
    minX: clamp(Math.floor(mercatorX(box[0]) * n - bufferFraction)),
    maxX: clamp(Math.floor(mercatorX(box[2]) * n + bufferFraction)),
    minY: clamp(Math.floor(mercatorY(box[3]) * n - bufferFraction)),
    maxY: clamp(Math.floor(mercatorY(box[1]) * n + bufferFraction)),
  };
}

export function inRange(r: TileRange, x: number, y: number): boolean {
  return x >= r.minX && x <= r.maxX && y >= r.minY && y <= r.maxY;
}

export function rangeSize(r: TileRange): number {
  return (r.maxX - r.minX + 1) * (r.maxY - r.minY + 1);
}

/** Bounds of a tile in degrees, for tests and diagnostics. */
export function tileBounds({ z, x, y }: TileCoord): LonLatBox {
  const n = 2 ** z;
  const lon = (c: number) => (c / n) * 360 - 180;
  const lat = (r: number) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * r) / n))) * 180) / Math.PI;
  return [lon(x), lat(y + 1), lon(x + 1), lat(y)];
}
