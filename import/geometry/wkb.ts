import type { Geometry, Ordinates, Position } from './types.ts';

/** Reads WKB (OGC/ISO type codes 1000/2000/3000 for Z/M/ZM, or EWKB flags) into the importer's geometry model. */
export class WkbError extends Error {}

const TYPES: Record<number, Geometry['type']> = {
  1: 'Point',
  2: 'LineString',
  3: 'Polygon',
  4: 'MultiPoint',
  5: 'MultiLineString',
  6: 'MultiPolygon',
  7: 'GeometryCollection',
};

export function readWkb(bytes: Uint8Array): { geometry: Geometry; ordinates: Ordinates } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let top: Ordinates | null = null;
  const need = (n: number) => {
    if (at + n > bytes.byteLength) throw new WkbError('WKB is truncated');
  };
  const read = (depth: number): Geometry => {
    if (depth > 32) throw new WkbError('WKB nests too deeply');
    need(5);
    const le = view.getUint8(at) === 1;
    const raw = view.getUint32(at + 1, le);
    at += 5;
    let z = (raw & 0x80000000) !== 0;
    let m = (raw & 0x40000000) !== 0;
    if (raw & 0x20000000) {
      need(4);
      at += 4; // EWKB SRID: the container says the SRS
    }
    let code = raw & 0x0fffffff;
    if (code >= 1000) {
      const iso = Math.floor(code / 1000);
      code %= 1000;
      z ||= iso === 1 || iso === 3;
      m ||= iso === 2 || iso === 3;
    }
    const type = TYPES[code];
    if (!type) throw new WkbError(`unsupported WKB geometry type ${code}`);
    top ??= { z, m };
    const width = 2 + (z ? 1 : 0) + (m ? 1 : 0);
    const u32 = () => {
      need(4);
      const v = view.getUint32(at, le);
      at += 4;
      return v;
    };
    const position = (): Position => {
      need(8 * width);
      const p: Position = [];
      for (let i = 0; i < width; i++, at += 8) p.push(view.getFloat64(at, le));
      return p;
    };
    const list = (): Position[] => {
      const n = u32();
      if (n * 8 * width > bytes.byteLength - at) throw new WkbError('WKB is truncated');
      return Array.from({ length: n }, position);
    };
    const parts = <T>(f: () => T): T[] => Array.from({ length: u32() }, f);
    switch (type) {
      case 'Point': {
        const p = position();
        return { type, coordinates: Number.isNaN(p[0]) && Number.isNaN(p[1]) ? [] : p };
      }
      case 'LineString':
        return { type, coordinates: list() };
      case 'Polygon':
        return { type, coordinates: parts(list) };
      case 'MultiPoint':
        return { type, coordinates: parts(() => (read(depth + 1) as { coordinates: Position }).coordinates) };
      case 'MultiLineString':
        return { type, coordinates: parts(() => (read(depth + 1) as { coordinates: Position[] }).coordinates) };
      case 'MultiPolygon':
        return { type, coordinates: parts(() => (read(depth + 1) as { coordinates: Position[][] }).coordinates) };
      case 'GeometryCollection':
        return { type, geometries: parts(() => read(depth + 1)) };
    }
  };
  const geometry = read(0);
  return { geometry, ordinates: top ?? { z: false, m: false } };
}

/**
 * A GeoPackage geometry blob: "GP", version, flags, srs_id, an optional envelope, then standard WKB
 * (GeoPackage 1.3, §2.1.3). Returns null for the empty-geometry flag.
 */
export function readGpkgBlob(blob: Uint8Array): { geometry: Geometry; ordinates: Ordinates; srsId: number } | null {
  if (blob.byteLength < 8 || blob[0] !== 0x47 || blob[1] !== 0x50) throw new WkbError('not a GeoPackage geometry blob');
  const flags = blob[3]!;
  const le = (flags & 1) === 1;
  const envelope = [0, 32, 48, 48, 64][(flags >> 1) & 7];
  if (envelope === undefined) throw new WkbError('invalid GeoPackage envelope flag');
  const srsId = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getInt32(4, le);
  if (flags & 0x10) return null;
  return { ...readWkb(blob.subarray(8 + envelope)), srsId };
}
