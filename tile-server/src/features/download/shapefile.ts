/**
 * An ESRI Shapefile (.shp, .shx, .dbf) written from GeoJSON geometries in one CRS, east first; the .prj and .cpg
 * come from the caller (download.ts). Polygons must arrive with outer rings clockwise and holes anticlockwise
 * (PostGIS ST_ForcePolygonCW), as the format requires. Text is UTF-8 (declared in the .cpg).
 */
export type FieldKind = 'integer' | 'number' | 'boolean' | 'date' | 'text';

export interface Field {
  name: string;
  kind: FieldKind;
}

const SHAPE = { null: 0, point: 1, polyline: 3, polygon: 5, multipoint: 8 } as const;
type Family = 'point' | 'multipoint' | 'polyline' | 'polygon';

function familyOf(g: GeoJSON.Geometry): Family | null {
  switch (g.type) {
    case 'Point':
      return 'point';
    case 'MultiPoint':
      return 'multipoint';
    case 'LineString':
    case 'MultiLineString':
      return 'polyline';
    case 'Polygon':
    case 'MultiPolygon':
      return 'polygon';
    default:
      return null;
  }
}

/** The parts (rings or lines) of a geometry as lists of [x, y]. */
function partsOf(g: GeoJSON.Geometry): number[][][] {
  switch (g.type) {
    case 'Point':
      return [[g.coordinates]];
    case 'MultiPoint':
      return [g.coordinates];
    case 'LineString':
      return [g.coordinates];
    case 'MultiLineString':
    case 'Polygon':
      return g.coordinates;
    case 'MultiPolygon':
      return g.coordinates.flat();
    default:
      return [];
  }
}

export class MixedGeometryError extends Error {}

/** The one shape type of a file: a Shapefile holds a single geometry family. */
export function shapeFamily(geometries: ReadonlyArray<GeoJSON.Geometry | null>): Family {
  const families = new Set(geometries.flatMap((g) => (g ? [familyOf(g)] : [])));
  if (families.has(null) || families.size > 1)
    throw new MixedGeometryError(`the selection mixes geometry types (${[...families].map((f) => f ?? 'collection').join(', ')}), which one Shapefile cannot hold`);
  // 'point' and 'multipoint' together would be multipoint; an empty selection is written as points.
  return ([...families][0] as Family | undefined) ?? 'point';
}

function shapeRecord(g: GeoJSON.Geometry | null, family: Family): Buffer {
  if (!g) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(SHAPE.null, 0);
    return b;
  }
  if (family === 'point') {
    const [x, y] = (g as GeoJSON.Point).coordinates as [number, number];
    const b = Buffer.alloc(20);
    b.writeInt32LE(SHAPE.point, 0);
    b.writeDoubleLE(x, 4);
    b.writeDoubleLE(y, 12);
    return b;
  }
  const parts = partsOf(g);
  const points = parts.flat();
  const box = bboxOf(points);
  if (family === 'multipoint') {
    const b = Buffer.alloc(40 + 16 * points.length);
    b.writeInt32LE(SHAPE.multipoint, 0);
    box.forEach((v, i) => b.writeDoubleLE(v, 4 + 8 * i));
    b.writeInt32LE(points.length, 36);
    points.forEach(([x, y], i) => {
      b.writeDoubleLE(x!, 40 + 16 * i);
      b.writeDoubleLE(y!, 48 + 16 * i);
    });
    return b;
  }
  const b = Buffer.alloc(44 + 4 * parts.length + 16 * points.length);
  b.writeInt32LE(SHAPE[family], 0);
  box.forEach((v, i) => b.writeDoubleLE(v, 4 + 8 * i));
  b.writeInt32LE(parts.length, 36);
  b.writeInt32LE(points.length, 40);
  let start = 0;
  parts.forEach((part, i) => {
    b.writeInt32LE(start, 44 + 4 * i);
    start += part.length;
  });
  const at = 44 + 4 * parts.length;
  points.forEach(([x, y], i) => {
    b.writeDoubleLE(x!, at + 16 * i);
    b.writeDoubleLE(y!, at + 16 * i + 8);
  });
  return b;
}

function bboxOf(points: number[][]): [number, number, number, number] {
  if (points.length === 0) return [0, 0, 0, 0];
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of points) {
    w = Math.min(w, x!);
    e = Math.max(e, x!);
    s = Math.min(s, y!);
    n = Math.max(n, y!);
  }
  return [w, s, e, n];
}

function fileHeader(type: number, words: number, box: [number, number, number, number]): Buffer {
  const b = Buffer.alloc(100);
  b.writeInt32BE(9994, 0);
  b.writeInt32BE(words, 24);
  b.writeInt32LE(1000, 28);
  b.writeInt32LE(type, 32);
  box.forEach((v, i) => b.writeDoubleLE(v, 36 + 8 * i));
  return b;
}

/** .shp and .shx of the geometries, in order. */
export function writeShapes(geometries: ReadonlyArray<GeoJSON.Geometry | null>): { shp: Buffer; shx: Buffer } {
  const family = shapeFamily(geometries);
  const records = geometries.map((g) => shapeRecord(g, family));
  const box = bboxOf(geometries.flatMap((g) => (g ? partsOf(g).flat() : [])));
  const shpBytes = 100 + records.reduce((n, r) => n + 8 + r.length, 0);
  const shp = Buffer.alloc(shpBytes);
  const shx = Buffer.alloc(100 + 8 * records.length);
  fileHeader(SHAPE[family], shpBytes / 2, box).copy(shp, 0);
  fileHeader(SHAPE[family], shx.length / 2, box).copy(shx, 0);
  let at = 100;
  records.forEach((r, i) => {
    shx.writeInt32BE(at / 2, 100 + 8 * i);
    shx.writeInt32BE(r.length / 2, 104 + 8 * i);
    shp.writeInt32BE(i + 1, at);
    shp.writeInt32BE(r.length / 2, at + 4);
    r.copy(shp, at + 8);
    at += 8 + r.length;
  });
  return { shp, shx };
}

/** DBF field names: at most 10 bytes, unique (a clipped name that repeats gets a number). */
function fieldNames(fields: readonly Field[]): string[] {
  const used = new Set<string>();
  return fields.map((f) => {
    let name = clipBytes(f.name, 10);
    for (let i = 1; used.has(name.toUpperCase()); i++) name = `${clipBytes(f.name, 10 - String(i).length)}${i}`;
    used.add(name.toUpperCase());
    return name;
  });
}

/** The longest prefix of a text that fits in `max` UTF-8 bytes (never half a character). */
function clipBytes(text: string, max: number): string {
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

const NUMBER_WIDTH = 24;
const NUMBER_DECIMALS = 15;

function numberText(v: number): string {
  const fixed = v.toFixed(NUMBER_DECIMALS);
  return fixed.length <= NUMBER_WIDTH ? fixed : v.toPrecision(15);
}

/** The .dbf of the attribute rows (values as JSON gave them: numbers, strings, booleans, null). */
export function writeDbf(fields: readonly Field[], rows: ReadonlyArray<readonly unknown[]>): Buffer {
  const text = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  const specs = fields.map((f, i) => {
    switch (f.kind) {
      case 'integer':
        return { type: 'N', width: 20, decimals: 0 };
      case 'number':
        return { type: 'N', width: NUMBER_WIDTH, decimals: NUMBER_DECIMALS };
      case 'boolean':
        return { type: 'L', width: 1, decimals: 0 };
      case 'date':
        return { type: 'D', width: 8, decimals: 0 };
      default: {
        const longest = rows.reduce((m, r) => Math.max(m, Buffer.byteLength(text(r[i]))), 1);
        return { type: 'C', width: Math.min(254, longest), decimals: 0 };
      }
    }
  });
  const names = fieldNames(fields);
  const headerLength = 32 + 32 * fields.length + 1;
  const recordLength = 1 + specs.reduce((n, s) => n + s.width, 0);
  const b = Buffer.alloc(headerLength + recordLength * rows.length + 1, 0x20);
  b.fill(0, 0, headerLength);
  const now = new Date();
  b.writeUInt8(0x03, 0);
  b.writeUInt8(now.getUTCFullYear() - 1900, 1);
  b.writeUInt8(now.getUTCMonth() + 1, 2);
  b.writeUInt8(now.getUTCDate(), 3);
  b.writeUInt32LE(rows.length, 4);
  b.writeUInt16LE(headerLength, 8);
  b.writeUInt16LE(recordLength, 10);
  specs.forEach((s, i) => {
    const at = 32 + 32 * i;
    b.write(names[i]!, at, 'utf8');
    b.write(s.type, at + 11, 'latin1');
    b.writeUInt8(s.width, at + 16);
    b.writeUInt8(s.decimals, at + 17);
  });
  b.writeUInt8(0x0d, headerLength - 1);
  rows.forEach((row, r) => {
    let at = headerLength + recordLength * r + 1; // the deletion flag stays ' '
    specs.forEach((s, i) => {
      const v = row[i];
      let cell = '';
      if (v !== null && v !== undefined) {
        if (s.type === 'N') cell = s.decimals === 0 ? String(Math.trunc(Number(v))) : numberText(Number(v));
        else if (s.type === 'L') cell = v ? 'T' : 'F';
        else if (s.type === 'D') cell = String(v).slice(0, 10).replace(/-/g, '');
        else cell = clipBytes(text(v), s.width);
      }
      if (v === null || v === undefined) {
        if (s.type === 'L') cell = '?';
      }
      const bytes = Buffer.from(cell, 'utf8');
      // Numbers are right-aligned, everything else left-aligned; the rest stays blank.
      bytes.copy(b, s.type === 'N' ? at + s.width - bytes.length : at);
      at += s.width;
    });
  });
  b.writeUInt8(0x1a, b.length - 1);
  return b;
}
