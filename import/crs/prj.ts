import { ImportError } from '../errors.ts';
import type { Queryable } from '../db.ts';
import { child, children, nameOf, numberAt, parseWktTree, PrjSyntaxError, type WktNode } from './esri-wkt.ts';

/**
 * A .prj (ESRI WKT1) → the EPSG code PostGIS knows, found in this order:
 *  1. an AUTHORITY["EPSG", n] / ID["EPSG", n] on the definition itself;
 *  2. its name, after rewriting ESRI's spelling of the common Chinese and world systems into EPSG's
 *     (CGCS2000_3_Degree_GK_CM_120E → "CGCS2000 / 3-degree Gauss-Kruger CM 120E" = EPSG:4549), looked up in
 *     spatial_ref_sys;
 *  3. its parameters (projection, central meridian, false easting, scale, ellipsoid) against the proj4text of
 *     every EPSG entry with the same projection, preferring the same datum name.
 * The answer says which rule matched, and the import summary says which EPSG code was chosen.
 */
export interface PrjMatch {
  srid: number;
  name: string;
  how: 'authority' | 'name' | 'parameters';
}

/** ESRI names → EPSG names. ESRI writes GK for Gauss-Kruger, WGS_1984 for WGS 84, and a GCS_ prefix. */
const DATUMS = '(CGCS2000|Xian_1980|Beijing_1954|New_Beijing)';
const REWRITES: Array<[RegExp, string]> = [
  [new RegExp(`^${DATUMS}_3_Degree_GK_CM_(\\d+)E$`, 'i'), '$1 / 3-degree Gauss-Kruger CM $2E'],
  [new RegExp(`^${DATUMS}_3_Degree_GK_Zone_(\\d+)$`, 'i'), '$1 / 3-degree Gauss-Kruger zone $2'],
  [new RegExp(`^${DATUMS}_GK_CM_(\\d+)E$`, 'i'), '$1 / Gauss-Kruger CM $2E'],
  [new RegExp(`^${DATUMS}_GK_Zone_(\\d+)$`, 'i'), '$1 / Gauss-Kruger zone $2'],
  [/^GCS_China_Geodetic_Coordinate_System_2000$/i, 'China Geodetic Coordinate System 2000'],
  [/^GCS_WGS_1984$/i, 'WGS 84'],
  [/^WGS_1984_UTM_Zone_(\d+)([NS])$/i, 'WGS 84 / UTM zone $1$2'],
  [/^WGS_1984_Web_Mercator(_Auxiliary_Sphere)?$/i, 'WGS 84 / Pseudo-Mercator'],
  [/^GCS_(Beijing_1954|Xian_1980|New_Beijing)$/i, '$1'],
];

const normalise = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

const BY_NAME_SQL = `
SELECT srid, substring(srtext from '^[A-Z]+\\["([^"]+)"') AS name
FROM spatial_ref_sys
WHERE auth_name = 'EPSG' AND srtext LIKE $2 || '[%'
  AND lower(regexp_replace(substring(srtext from '^[A-Z]+\\["([^"]+)"'), '[^A-Za-z0-9]', '', 'g')) = $1
ORDER BY srtext LIKE '%deprecated%', srid
LIMIT 1`;

const BY_PROJECTION_SQL = `
SELECT srid, substring(srtext from '^[A-Z]+\\["([^"]+)"') AS name,
       substring(srtext from 'DATUM\\["([^"]+)"') AS datum, proj4text, srtext LIKE '%deprecated%' AS deprecated
FROM spatial_ref_sys
WHERE auth_name = 'EPSG' AND srtext LIKE $2 || '[%' AND proj4text ~ $1
ORDER BY srid`;

export async function matchPrj(text: string, sql: Queryable, file: string): Promise<PrjMatch> {
  let root: WktNode;
  try {
    root = parseWktTree(text.replace(/^\uFEFF/, '').trim());
  } catch (err) {
    const why = err instanceof PrjSyntaxError ? err.message : String(err);
    throw new ImportError(`${file} is not a valid ESRI projection (WKT): ${why}; pass --srs EPSG:<code>`, 'unknown_crs');
  }
  const kind = root.keyword === 'PROJCS' || root.keyword === 'PROJCRS' ? 'PROJCS' : root.keyword === 'GEOGCS' || root.keyword === 'GEOGCRS' ? 'GEOGCS' : null;
  if (!kind) throw new ImportError(`${file} is not a projection definition (it starts with ${root.keyword}); pass --srs EPSG:<code>`, 'unknown_crs');
  const name = nameOf(root);

  const authority = child(root, 'AUTHORITY') ?? child(root, 'ID');
  if (authority && nameOf(authority).toUpperCase() === 'EPSG') {
    const srid = Number(authority.values[1]);
    if (Number.isInteger(srid)) return { srid, name, how: 'authority' };
  }

  const candidates = [name, ...REWRITES.filter(([re]) => re.test(name)).map(([re, to]) => name.replace(re, to).replace(/_/g, ' '))];
  for (const candidate of candidates.reverse()) {
    const { rows } = await sql.query<{ srid: number; name: string }>(BY_NAME_SQL, [normalise(candidate), kind]);
    if (rows[0]) return { srid: rows[0].srid, name: rows[0].name, how: 'name' };
  }

  const byParams = await matchParameters(root, kind, sql);
  if (byParams) return byParams;
  throw new ImportError(
    `cannot match the projection in ${file} ("${name}") to an EPSG code PostGIS knows; pass --srs EPSG:<code>`,
    'unknown_crs',
  );
}

// ---- parameter matching ----

interface Params {
  proj: string;
  lat_0: number;
  lon_0: number;
  k: number;
  x_0: number;
  y_0: number;
  lat_1?: number | undefined;
  lat_2?: number | undefined;
  a: number;
  rf: number;
}

const PROJECTIONS: Record<string, string> = {
  transverse_mercator: 'tmerc',
  gauss_kruger: 'tmerc',
  mercator: 'merc',
  mercator_auxiliary_sphere: 'merc',
  lambert_conformal_conic: 'lcc',
  albers: 'aea',
  albers_conic_equal_area: 'aea',
};

const ELLIPSOIDS: Record<string, [number, number]> = {
  GRS80: [6378137, 298.257222101],
  WGS84: [6378137, 298.257223563],
  krass: [6378245, 298.3],
  IAU76: [6378140, 298.257],
  intl: [6378388, 297],
  bessel: [6377397.155, 299.1528128],
  clrk66: [6378206.4, 294.9786982],
  clrk80: [6378249.145, 293.465],
  airy: [6377563.396, 299.3249646],
};

function esriParams(root: WktNode, kind: 'PROJCS' | 'GEOGCS'): Params | null {
  const geog = kind === 'GEOGCS' ? root : child(root, 'GEOGCS');
  const spheroid = child(child(geog ?? root, 'DATUM') ?? root, 'SPHEROID');
  const a = numberAt(spheroid, 1);
  const rf = numberAt(spheroid, 2);
  if (a === undefined || rf === undefined) return null;
  if (kind === 'GEOGCS') return { proj: 'longlat', lat_0: 0, lon_0: 0, k: 1, x_0: 0, y_0: 0, a, rf };
  const proj = PROJECTIONS[nameOf(child(root, 'PROJECTION')).toLowerCase()];
  const unit = numberAt(children(root, 'UNIT').at(-1), 1) ?? 1;
  if (!proj || Math.abs(unit - 1) > 1e-9) return null;
  const p: Record<string, number> = {};
  for (const param of children(root, 'PARAMETER')) p[nameOf(param).toLowerCase()] = numberAt(param, 1) ?? NaN;
  return {
    proj,
    lat_0: p.latitude_of_origin ?? 0,
    lon_0: p.central_meridian ?? p.longitude_of_center ?? 0,
    k: p.scale_factor ?? 1,
    x_0: p.false_easting ?? 0,
    y_0: p.false_northing ?? 0,
    lat_1: p.standard_parallel_1,
    lat_2: p.standard_parallel_2,
    a,
    rf,
  };
}

/** proj4text → the same parameters; UTM is transverse Mercator with fixed values. */
export function proj4Params(text: string): Params | null {
  const kv = new Map<string, string>();
  for (const m of text.matchAll(/\+([a-z_0-9]+)(?:=(\S+))?/g)) kv.set(m[1]!, m[2] ?? '');
  const num = (k: string, d: number) => (kv.has(k) ? Number(kv.get(k)) : d);
  let [a, rf] = ELLIPSOIDS[kv.get('ellps') ?? (kv.get('datum') === 'WGS84' ? 'WGS84' : 'GRS80')] ?? [NaN, NaN];
  if (kv.has('a')) {
    a = num('a', a);
    rf = kv.has('rf') ? num('rf', rf) : kv.has('b') ? (a === num('b', a) ? 0 : a / (a - num('b', a))) : rf;
  }
  const proj = kv.get('proj');
  if (proj === 'utm') {
    const zone = num('zone', 0);
    return { proj: 'tmerc', lat_0: 0, lon_0: zone * 6 - 183, k: 0.9996, x_0: 500000, y_0: kv.has('south') ? 10000000 : 0, a, rf };
  }
  if (!proj) return null;
  return {
    proj,
    lat_0: num('lat_0', 0),
    lon_0: num('lon_0', 0),
    k: num('k', num('k_0', 1)),
    x_0: num('x_0', 0),
    y_0: num('y_0', 0),
    lat_1: kv.has('lat_1') ? num('lat_1', 0) : undefined,
    lat_2: kv.has('lat_2') ? num('lat_2', 0) : undefined,
    a,
    rf,
  };
}

const close = (x: number | undefined, y: number | undefined, tol: number) =>
  x === undefined || y === undefined ? x === y : Math.abs(x - y) <= tol;

function sameParams(p: Params, q: Params): boolean {
  return (
    p.proj === q.proj &&
    close(p.lat_0, q.lat_0, 1e-7) &&
    close(p.lon_0, q.lon_0, 1e-7) &&
    close(p.k, q.k, 1e-9) &&
    close(p.x_0, q.x_0, 1e-3) &&
    close(p.y_0, q.y_0, 1e-3) &&
    close(p.lat_1, q.lat_1, 1e-7) &&
    close(p.lat_2, q.lat_2, 1e-7) &&
    close(p.a, q.a, 1e-2) &&
    close(p.rf, q.rf, 1e-6)
  );
}

async function matchParameters(root: WktNode, kind: 'PROJCS' | 'GEOGCS', sql: Queryable): Promise<PrjMatch | null> {
  const wanted = esriParams(root, kind);
  if (!wanted) return null;
  const pattern = wanted.proj === 'tmerc' ? '\\+proj=(tmerc|utm) ' : `\\+proj=${wanted.proj} `;
  const { rows } = await sql.query<{ srid: number; name: string; datum: string | null; proj4text: string; deprecated: boolean }>(
    BY_PROJECTION_SQL,
    [pattern, kind],
  );
  const datum = normalise(nameOf(child(kind === 'GEOGCS' ? root : (child(root, 'GEOGCS') ?? root), 'DATUM')).replace(/^D_/i, ''));
  const matches = rows.filter((r) => {
    const p = proj4Params(r.proj4text);
    return p !== null && sameParams(wanted, p);
  });
  matches.sort((x, y) => rank(x) - rank(y) || x.srid - y.srid);
  function rank(r: { datum: string | null; deprecated: boolean }) {
    return (normalise(r.datum ?? '') === datum ? 0 : 2) + (r.deprecated ? 1 : 0);
  }
  const best = matches[0];
  return best ? { srid: best.srid, name: best.name, how: 'parameters' } : null;
}
