import type { RawFix } from './read.ts';

/**
 * The bad-fix filters of a vehicle log, after Traccar's FilterHandler (vehicle-tracking.md §1.5), applied to the
 * fixes in time order:
 *  - invalid: no time, coordinates missing or out of range, the (0, 0) "no fix" position, a time in the future;
 *  - duplicate: the same instant as the previous kept fix (a vehicle is in one place at a time);
 *  - jump: a spike whose legs in and out both imply more than the maximum speed (default 180 km/h). Requiring
 *    both legs keeps a real relocation after a data gap, and lets a bad *first* fix be dropped instead of
 *    every good fix after it.
 */
export interface Fix {
  row: number;
  lon: number;
  lat: number;
  time: number;
  speedKmh?: number | undefined;
  course?: number | undefined;
  altitudeM?: number | undefined;
}

export interface Cleaned {
  fixes: Fix[];
  invalid: Array<{ row: number; reason: string }>;
  duplicates: Array<{ row: number; reason: string }>;
  jumps: Array<{ row: number; reason: string }>;
}

const EARTH_RADIUS_M = 6371008.8;

export function haversine(a: { lon: number; lat: number }, b: { lon: number; lat: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** km/h between two fixes; Infinity when they share an instant but not a place. */
export function legSpeed(a: Fix, b: Fix): number {
  const d = haversine(a, b);
  const dt = Math.abs(b.time - a.time) / 1000;
  return dt === 0 ? (d === 0 ? 0 : Infinity) : (d / dt) * 3.6;
}

export function cleanFixes(raw: RawFix[], opts: { maxSpeedKmh: number; now?: number }): Cleaned {
  const now = opts.now ?? Date.now();
  const invalid: Cleaned['invalid'] = [];
  const usable: Fix[] = [];
  for (const f of raw) {
    const reason =
      f.problem ??
      (f.time === null
        ? 'no readable time'
        : !Number.isFinite(f.lon) || !Number.isFinite(f.lat)
          ? 'no coordinates'
          : Math.abs(f.lon) > 180 || Math.abs(f.lat) > 90
            ? `coordinates out of range (${f.lon}, ${f.lat})`
            : f.lon === 0 && f.lat === 0
              ? 'zero position (0, 0): the terminal had no fix'
              : f.time > now + 86_400_000
                ? 'time is in the future'
                : null);
    if (reason) invalid.push({ row: f.row, reason });
    else usable.push({ row: f.row, lon: f.lon, lat: f.lat, time: f.time!, speedKmh: f.speedKmh, course: normaliseCourse(f.course), altitudeM: f.altitudeM });
  }
  usable.sort((a, b) => a.time - b.time || a.row - b.row);

  const duplicates: Cleaned['duplicates'] = [];
  const unique: Fix[] = [];
  for (const f of usable) {
    const prev = unique[unique.length - 1];
    if (prev && prev.time === f.time) duplicates.push({ row: f.row, reason: `duplicate: same instant as row ${prev.row}` });
    else unique.push(f);
  }

  const jumps: Cleaned['jumps'] = [];
  const kept: Fix[] = [];
  for (let i = 0; i < unique.length; i++) {
    const f = unique[i]!;
    const prev = kept[kept.length - 1];
    const next = unique[i + 1];
    const inTooFast = prev ? legSpeed(prev, f) > opts.maxSpeedKmh : false;
    const outTooFast = next ? legSpeed(f, next) > opts.maxSpeedKmh : true;
    const firstOutlier = !prev && next && outTooFast && unique[i + 2] !== undefined && legSpeed(next, unique[i + 2]!) <= opts.maxSpeedKmh;
    if ((inTooFast && outTooFast) || firstOutlier) {
      const speed = prev ? legSpeed(prev, f) : legSpeed(f, next!);
      jumps.push({ row: f.row, reason: `jump: implies ${Math.round(speed)} km/h (more than ${opts.maxSpeedKmh})` });
      continue;
    }
    kept.push(f);
  }
  return { fixes: kept, invalid, duplicates, jumps };
}

function normaliseCourse(c: number | undefined): number | undefined {
  if (c === undefined || !Number.isFinite(c)) return undefined;
  return ((c % 360) + 360) % 360;
}
