import type { Geometry, Position } from './types.ts';

/**
 * Hex EWKB, the input PostGIS parses fastest (it is what ogr2ogr sends too). Positions are x,y or x,y,z as
 * cleanGeometry() leaves them; `hasZ` must say which.
 */
const CODES: Record<Geometry['type'], number> = {
  Point: 1,
  LineString: 2,
  Polygon: 3,
  MultiPoint: 4,
  MultiLineString: 5,
  MultiPolygon: 6,
  GeometryCollection: 7,
};
const Z_FLAG = 0x80000000;
const SRID_FLAG = 0x20000000;

class Writer {
  buf = Buffer.allocUnsafe(256);
  at = 0;
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.at);
    this.at += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.at);
    this.at += 8;
  }
}

function header(w: Writer, type: Geometry['type'], hasZ: boolean, srid: number | null): void {
  w.u8(1); // little endian
  w.u32(CODES[type] | (hasZ ? Z_FLAG : 0) | (srid !== null ? SRID_FLAG : 0));
  if (srid !== null) w.u32(srid);
}

function positions(w: Writer, ps: Position[], hasZ: boolean): void {
  w.u32(ps.length);
  for (const p of ps) {
    w.f64(p[0]!);
    w.f64(p[1]!);
    if (hasZ) w.f64(p[2] ?? 0);
  }
}

function write(w: Writer, g: Geometry, hasZ: boolean, srid: number | null): void {
  header(w, g.type, hasZ, srid);
  switch (g.type) {
    case 'Point':
      w.f64(g.coordinates[0]!);
      w.f64(g.coordinates[1]!);
      if (hasZ) w.f64(g.coordinates[2] ?? 0);
      return;
    case 'LineString':
      return positions(w, g.coordinates, hasZ);
    case 'Polygon':
      w.u32(g.coordinates.length);
      for (const ring of g.coordinates) positions(w, ring, hasZ);
      return;
    case 'MultiPoint':
      w.u32(g.coordinates.length);
      for (const p of g.coordinates) write(w, { type: 'Point', coordinates: p }, hasZ, null);
      return;
    case 'MultiLineString':
      w.u32(g.coordinates.length);
      for (const l of g.coordinates) write(w, { type: 'LineString', coordinates: l }, hasZ, null);
      return;
    case 'MultiPolygon':
      w.u32(g.coordinates.length);
      for (const p of g.coordinates) write(w, { type: 'Polygon', coordinates: p }, hasZ, null);
      return;
    case 'GeometryCollection':
      w.u32(g.geometries.length);
      for (const part of g.geometries) write(w, part, hasZ, null);
      return;
  }
}

const point = Buffer.alloc(25);

export function toHexEwkb(g: Geometry, hasZ: boolean, srid: number): string {
  if (g.type === 'Point' && !hasZ) {
    // The common case (CSV points) without the general writer.
    point[0] = 1;
    point.writeUInt32LE((1 | SRID_FLAG) >>> 0, 1);
    point.writeUInt32LE(srid, 5);
    point.writeDoubleLE(g.coordinates[0]!, 9);
    point.writeDoubleLE(g.coordinates[1]!, 17);
    return point.toString('hex');
  }
  const w = new Writer();
  write(w, g, hasZ, srid);
  return w.buf.toString('hex', 0, w.at);
}
