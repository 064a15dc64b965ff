import * as gcoordModule from 'gcoord';
import { ImportError } from '../errors.ts';

// gcoord is CommonJS with ESM-style typings: the runtime default is the API, the types put it under .default.
interface Gcoord {
  transform(p: [number, number], from: string, to: string): [number, number];
  GCJ02: string;
  BD09: string;
  WGS84: string;
}
const gcoord = ((gcoordModule as { default?: unknown }).default ?? gcoordModule) as Gcoord;

/**
 * Where a file's coordinates are. Every EPSG code PostGIS knows is transformed by PostGIS (ST_Transform); the
 * Chinese consumer-map offsets GCJ-02 (高德, 腾讯) and BD-09 (百度) are not EPSG systems and are undone in JS with
 * gcoord (its GCJ-02 → WGS84 is the iterative inverse, ~0.1 m), after which the data is WGS84.
 */
export interface SourceSrs {
  /** The SRID geometries are tagged with before ST_Transform (4326 for GCJ-02/BD-09, converted in JS). */
  srid: number;
  offset: 'gcj02' | 'bd09' | null;
  /** As the summary shows it: "EPSG:4549", "GCJ-02", "BD-09". */
  label: string;
  /** Given on the command line, declared by the file, or assumed (WGS84: nothing said otherwise). */
  origin: 'option' | 'file' | 'assumed';
  /** How it was found, e.g. `x.prj "CGCS2000_3_Degree_GK_CM_120E" matched by name`. */
  detail?: string | undefined;
}

export const WGS84_ASSUMED: SourceSrs = Object.freeze({ srid: 4326, offset: null, label: 'EPSG:4326', origin: 'assumed' as const });

export function parseSrsOption(text: string): SourceSrs {
  const t = text.trim().toLowerCase();
  if (['gcj02', 'gcj-02', 'gcj', 'amap', 'mars'].includes(t)) return { srid: 4326, offset: 'gcj02', label: 'GCJ-02', origin: 'option' };
  if (['bd09', 'bd-09', 'baidu', 'bd09ll'].includes(t)) return { srid: 4326, offset: 'bd09', label: 'BD-09', origin: 'option' };
  if (['wgs84', 'wgs-84'].includes(t)) return { srid: 4326, offset: null, label: 'EPSG:4326', origin: 'option' };
  const m = /^(?:epsg:)?(\d{4,6})$/.exec(t);
  if (!m) throw new ImportError(`--srs "${text}" is not understood: use EPSG:<code>, gcj02 or bd09`, 'bad_option');
  return { srid: Number(m[1]), offset: null, label: `EPSG:${m[1]}`, origin: 'option' };
}

export function epsg(srid: number, origin: SourceSrs['origin'], detail?: string): SourceSrs {
  return { srid, offset: null, label: `EPSG:${srid}`, origin, detail };
}

/** The JS conversion to WGS84 for an offset system, applied per position. */
export function converterFor(srs: SourceSrs): ((lon: number, lat: number) => [number, number]) | undefined {
  if (!srs.offset) return undefined;
  const from = srs.offset === 'gcj02' ? gcoord.GCJ02 : gcoord.BD09;
  return (lon, lat) => gcoord.transform([lon, lat], from, gcoord.WGS84);
}

/**
 * Coordinates that cannot be degrees while no CRS was given: say what they probably are. The values of
 * Huai'an data in CGCS2000 3-degree Gauss-Kruger CM 120E are around (408613, 3720871).
 */
export function projectedHint(x: number, y: number): string {
  const sample = `(${round(x)}, ${round(y)})`;
  if (Math.abs(x) <= 90 && Math.abs(y) > 90 && Math.abs(y) <= 180)
    return `coordinates ${sample} look like latitude and longitude swapped: check which column is which (--lon/--lat)`;
  const zone = Math.floor(x / 1e6);
  // Web mercator first when the point would be in China: a Huai'an platform sees far more 3857 than GK zone 13.
  const lon = (x / 6378137) * (180 / Math.PI);
  const lat = (2 * Math.atan(Math.exp(y / 6378137)) - Math.PI / 2) * (180 / Math.PI);
  const mercatorInChina = Math.abs(x) > 1000 && lon >= 73 && lon <= 135 && lat >= 18 && lat <= 54;
  let code: number;
  let name: string;
  if (mercatorInChina) [code, name] = [3857, 'web mercator'];
  else if (y > 1e6 && y < 6.5e6 && x > 1e5 && x < 9e5) [code, name] = [4549, "CGCS2000 3-degree Gauss-Kruger CM 120E, Huai'an's zone"];
  else if (y > 1e6 && y < 6.5e6 && zone >= 25 && zone <= 45) [code, name] = [4513 + zone - 25, `CGCS2000 3-degree Gauss-Kruger zone ${zone}`];
  else if (y > 1e6 && y < 6.5e6 && zone >= 13 && zone <= 23) [code, name] = [4491 + zone - 13, `CGCS2000 Gauss-Kruger zone ${zone}`];
  else if (Math.abs(x) <= 1000 && Math.abs(y) <= 1000)
    return `coordinates ${sample} are not degrees (longitude -180..180, latitude -90..90): check the columns, or pass --srs EPSG:<code>`;
  else if (Math.abs(x) <= 20037509 && Math.abs(y) <= 20048967) [code, name] = [3857, 'web mercator'];
  else return `coordinates ${sample} are neither degrees nor a projection this platform recognises; pass --srs EPSG:<code>`;
  return `coordinates ${sample} look like projected metres, not degrees; pass --srs EPSG:${code}? (${name})`;
}

const round = (v: number) => (Math.abs(v) >= 1000 ? Math.round(v) : Math.round(v * 1e6) / 1e6);
