import type { RawFix } from './read.ts';

/**
 * The bad-fix filters of a vehicle log, after Traccar's FilterHandler (vehicle-tracking.md §1.5), applied to the
 * fixes in time order:
 *  - invalid: no time, coordinates missing or out of range, the (0, 0) "no fix" position, a time in the future;
 *  - duplicate: the same instant as the previous kept fix (a vehicle is in one place at a time);
 *  - jump: an isolated outlier, judged by its neighbours on both sides: a spike out and back whose legs in and
 *    out both imply more than the maximum speed (default 180 km/h) and whose way through is more than twice the
 *    way past it. Sustained fast motion (a train at 150-240 km/h) is consistent with its neighbours and kept; a
 *    real relocation after a data gap (one fast leg) is kept; a bad first or last fix is dropped instead of
 *    every good fix beside it.
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
  const max = opts.maxSpeedKmh;
  for (let i = 0; i < unique.length; i++) {
    const f = unique[i]!;
    const prev = kept[kept.length - 1];
    const before = kept[kept.length - 2];
    const next = unique[i + 1];
    const inTooFast = prev ? legSpeed(prev, f) > max : false;
    const outTooFast = next ? legSpeed(f, next) > max : false;
    // A spike goes out and comes back: both legs too fast, and the way through it is far longer than the way
    // past it. A train at 200 km/h has both legs fast too, but each fix lies on the way: that is motion, kept.
    const spike = prev && next && inTooFast && outTooFast && detour(prev, f, next) > 2;
    // At the ends only one side is known: an end fix is an outlier when its leg is too fast and the fixes beyond
    // it are not (a bad first fix; a last fix flung away from a vehicle moving slowly).
    const firstOutlier = !prev && next && outTooFast && unique[i + 2] !== undefined && legSpeed(next, unique[i + 2]!) <= max;
    const lastOutlier = !next && prev && inTooFast && before !== undefined && legSpeed(before, prev) <= max;
    if (spike || firstOutlier || lastOutlier) {
      const speed = prev ? legSpeed(prev, f) : legSpeed(f, next!);
      jumps.push({ row: f.row, reason: `jump: implies ${Math.round(speed)} km/h (more than ${max})` });
      continue;
    }
    kept.push(f);
  }
  return { fixes: kept, invalid, duplicates, jumps };
}

/** How much longer the way through `f` is than the way from `a` to `b` past it (1 = on the way). */
function detour(a: Fix, f: Fix, b: Fix): number {
  return (haversine(a, f) + haversine(f, b)) / Math.max(haversine(a, b), 1);
}

/** Per track of the log (a GPX <trk>; the whole file otherwise): its fixes, what was kept, what was dropped and why. */
export interface TrackReport {
  track: string;
  fixes: number;
  kept: number;
  invalid: number;
  duplicates: number;
  jumps: number;
  /** The first 20 dropped fixes of the track: "row 18: jump: implies 720 km/h (more than 180)". */
  dropped: string[];
}

export function trackReports(raw: RawFix[], cleaned: Cleaned, whole: string): TrackReport[] {
  const reports = new Map<string, TrackReport>();
  const trackOfRow = new Map<number, TrackReport>();
  for (const f of raw) {
    const name = f.track ?? whole;
    let r = reports.get(name);
    if (!r) reports.set(name, (r = { track: name, fixes: 0, kept: 0, invalid: 0, duplicates: 0, jumps: 0, dropped: [] }));
    r.fixes++;
    trackOfRow.set(f.row, r);
  }
  for (const f of cleaned.fixes) trackOfRow.get(f.row)!.kept++;
  for (const kind of ['invalid', 'duplicates', 'jumps'] as const)
    for (const d of cleaned[kind]) {
      const r = trackOfRow.get(d.row)!;
      r[kind]++;
      if (r.dropped.length < 20) r.dropped.push(`row ${d.row}: ${d.reason}`);
    }
  return [...reports.values()];
}

function normaliseCourse(c: number | undefined): number | undefined {
  if (c === undefined || !Number.isFinite(c)) return undefined;
  return ((c % 360) + 360) % 360;
}
