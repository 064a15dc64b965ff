/**
 * Coordinates typed into a search box, read as a planner writes them:
 * - decimal degrees `119.02,33.60`, `119.02 33.60`, `33.60, 119.02` (latitude first is recognised by range);
 * - degrees, minutes, seconds `119°1'12"E 33°36'N`, `119度1分12秒 33度36分`, `N33°36′ E119°01′12″`;
 * - CGCS2000 3° Gauss-Krüger metres, x (northing) and y (easting) in either order: `3719000, 501900` (the city's
 *   zone, CM 120°E, EPSG:4549) or with the zone prefix `40501900` (zone 40 → EPSG:4528; zones 25–45).
 * Pure text work: projected metres are returned with their EPSG code and transformed by PostGIS.
 */
export type ParsedCoordinate =
  | { kind: 'degrees'; lon: number; lat: number; notation: 'decimal' | 'dms' }
  | { kind: 'projected'; x: number; y: number; srid: number; notation: 'gk' | 'gk-zone' };

const NUMBER = String.raw`[+-]?\d+(?:\.\d+)?`;

/** Full-width digits and punctuation, and the Chinese units, to their ASCII forms. */
function normalise(text: string): string {
  return text
    .replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[、，]/g, ',')
    .replace(/度/g, '°')
    .replace(/[分′’]/g, "'")
    .replace(/[秒″”]/g, '"')
    .replace(/''/g, '"')
    .replace(/北纬/g, 'N')
    .replace(/南纬/g, 'S')
    .replace(/东经/g, 'E')
    .replace(/西经/g, 'W')
    .trim();
}

const DMS = new RegExp(
  String.raw`([NSEW])?\s*(\d+(?:\.\d+)?)\s*°\s*(?:(\d+(?:\.\d+)?)\s*'\s*)?(?:(\d+(?:\.\d+)?)\s*"\s*)?([NSEW])?`,
  'gi',
);

function parseDms(text: string): ParsedCoordinate | null {
  if (!text.includes('°')) return null;
  const parts = [...text.matchAll(DMS)].filter((m) => m[0].trim());
  // Everything but the two angles and separators must be absent.
  const rest = text.replace(DMS, '').replace(/[\s,;/]/g, '');
  if (parts.length !== 2 || rest !== '') return null;
  const angles = parts.map((m) => {
    const [d, mi, s] = [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
    if (mi >= 60 || s >= 60) return null;
    const hemi = (m[1] ?? m[5] ?? '').toUpperCase();
    const value = (d + mi / 60 + s / 3600) * (hemi === 'S' || hemi === 'W' ? -1 : 1);
    return { value, axis: hemi === 'N' || hemi === 'S' ? 'lat' : hemi === 'E' || hemi === 'W' ? 'lon' : null };
  });
  if (angles.some((a) => a === null)) return null;
  const [a, b] = angles as Array<{ value: number; axis: 'lat' | 'lon' | null }>;
  const latFirst = a!.axis === 'lat' || b!.axis === 'lon' || (a!.axis === null && b!.axis === null && looksLatLon(a!.value, b!.value));
  const [lon, lat] = latFirst ? [b!.value, a!.value] : [a!.value, b!.value];
  return degreesInRange(lon, lat) ? { kind: 'degrees', lon, lat, notation: 'dms' } : null;
}

/** Latitude first: the first fits a latitude and the second only a longitude. */
const looksLatLon = (a: number, b: number) => Math.abs(a) <= 90 && Math.abs(b) > 90;
const degreesInRange = (lon: number, lat: number) => Math.abs(lon) <= 180 && Math.abs(lat) <= 90;

/** CGCS2000 3-degree GK with zone prefix: EPSG:4513 (zone 25, CM 75°E) … EPSG:4533 (zone 45, CM 135°E). */
const zoneSrid = (zone: number) => (zone >= 25 && zone <= 45 ? 4513 + zone - 25 : null);
/** Without the prefix the city's own zone is meant: CM 120°E, EPSG:4549. */
export const CITY_GK_SRID = 4549;

function parsePair(text: string): ParsedCoordinate | null {
  const m = new RegExp(String.raw`^(${NUMBER})\s*(?:[,;/]\s*|\s+)(${NUMBER})$`).exec(text);
  if (!m) return null;
  const a = Number(m[1]);
  const b = Number(m[2]);
  if (Math.abs(a) <= 180 && Math.abs(b) <= 180) {
    const [lon, lat] = looksLatLon(a, b) ? [b, a] : [a, b];
    return degreesInRange(lon, lat) ? { kind: 'degrees', lon, lat, notation: 'decimal' } : null;
  }
  // Projected metres: the northing of China is 2,000,000–6,000,000; the easting 0–1,000,000 in a zone, or
  // zone × 1,000,000 + that with the prefix.
  const northing = [a, b].find((v) => v >= 1_000_000 && v < 7_000_000);
  const easting = [a, b].find((v) => v !== northing);
  if (northing === undefined || easting === undefined || easting < 0) return null;
  if (easting < 1_000_000) return { kind: 'projected', x: easting, y: northing, srid: CITY_GK_SRID, notation: 'gk' };
  const srid = zoneSrid(Math.floor(easting / 1_000_000));
  return srid ? { kind: 'projected', x: easting, y: northing, srid, notation: 'gk-zone' } : null;
}

/** The coordinate a search text means, or null when it is not one. */
export function parseCoordinate(text: string): ParsedCoordinate | null {
  const s = normalise(text);
  if (s.length > 80) return null;
  return parseDms(s) ?? parsePair(s);
}
