/**
 * Track processing for playback (pure functions, no I/O): distances, stay-point (stop) detection and
 * Douglas–Peucker simplification in metres. Algorithms and parameters from the literature the desk follows
 * (docs: vehicle-tracking notes §4): stops after Li et al. 2008 (a run of fixes that stays within `radiusM` of its
 * first fix for at least `minDurationS`), as trackintel's staypoints and Traccar's new trip logic.
 */
export interface Fix {
  /** Epoch ms. */
  t: number;
  lon: number;
  lat: number;
  speedKmh: number | null;
  course: number | null;
}

export interface Stop {
  /** Mean position of the fixes of the stop. */
  lon: number;
  lat: number;
  arrive: number;
  leave: number;
  /** Index of the first and last fix of the stop in the track. */
  first: number;
  last: number;
}

const R = 6_371_008.8;
const rad = Math.PI / 180;

/** Great-circle distance in metres. */
export function haversineM(a: { lon: number; lat: number }, b: { lon: number; lat: number }): number {
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Length of the track through every fix, metres. */
export function lengthM(fixes: readonly Fix[]): number {
  let d = 0;
  for (let i = 1; i < fixes.length; i++) d += haversineM(fixes[i - 1]!, fixes[i]!);
  return d;
}

/**
 * Stay points: from fix i, extend j while fix j is within `radiusM` of fix i; if the fixes i..j−1 span at least
 * `minDurationS`, they are a stop (also across a gap in reporting: a terminal that goes quiet while parked and
 * reports again from the same place has stopped). Fixes are in time order.
 */
export function detectStops(fixes: readonly Fix[], opts: { radiusM: number; minDurationS: number }): Stop[] {
  const stops: Stop[] = [];
  let i = 0;
  while (i < fixes.length) {
    let j = i + 1;
    while (j < fixes.length && haversineM(fixes[i]!, fixes[j]!) <= opts.radiusM) j++;
    const last = j - 1;
    if (fixes[last]!.t - fixes[i]!.t >= opts.minDurationS * 1000) {
      let lon = 0;
      let lat = 0;
      for (let k = i; k <= last; k++) {
        lon += fixes[k]!.lon;
        lat += fixes[k]!.lat;
      }
      const n = last - i + 1;
      stops.push({ lon: lon / n, lat: lat / n, arrive: fixes[i]!.t, leave: fixes[last]!.t, first: i, last });
      i = j;
    } else {
      i++;
    }
  }
  return stops;
}

/**
 * Douglas–Peucker with a tolerance in metres (positions projected to a local equirectangular plane around the
 * track's mean latitude: exact enough within a city). Keeps the end points; returns the indexes kept, in order.
 */
export function simplifyIndexes(points: ReadonlyArray<{ lon: number; lat: number }>, toleranceM: number): number[] {
  const n = points.length;
  if (n <= 2 || toleranceM <= 0) return points.map((_, i) => i);
  let meanLat = 0;
  for (const p of points) meanLat += p.lat;
  const k = Math.cos((meanLat / n) * rad) * rad * R;
  const xs = points.map((p) => p.lon * k);
  const ys = points.map((p) => p.lat * rad * R);
  const keep = new Uint8Array(n);
  keep[0] = 1;
  keep[n - 1] = 1;
  const stack: Array<[number, number]> = [[0, n - 1]];
  const tol2 = toleranceM * toleranceM;
  while (stack.length) {
    const [a, b] = stack.pop()!;
    let worst = -1;
    let worstD = tol2;
    const dx = xs[b]! - xs[a]!;
    const dy = ys[b]! - ys[a]!;
    const len2 = dx * dx + dy * dy;
    for (let i = a + 1; i < b; i++) {
      let px = xs[i]! - xs[a]!;
      let py = ys[i]! - ys[a]!;
      if (len2 > 0) {
        const u = Math.max(0, Math.min(1, (px * dx + py * dy) / len2));
        px -= u * dx;
        py -= u * dy;
      }
      const d2 = px * px + py * py;
      if (d2 > worstD) {
        worstD = d2;
        worst = i;
      }
    }
    if (worst > 0) {
      keep[worst] = 1;
      stack.push([a, worst], [worst, b]);
    }
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (keep[i]) out.push(i);
  return out;
}

export interface Trip {
  first: number;
  last: number;
  start: number;
  end: number;
  distanceM: number;
  maxSpeedKmh: number;
}

/**
 * Trips: the runs of fixes between stops (from the start of the range to the first stop, between stops, from the
 * last stop to the end), each beginning at the fix that left a stop and ending at the one that reached the next;
 * runs shorter than `minDistanceM` are not trips (Traccar's minimal trip distance, GPS drift while parked).
 */
export function tripsBetween(fixes: readonly Fix[], stops: readonly Stop[], minDistanceM: number): Trip[] {
  const trips: Trip[] = [];
  const bounds: Array<[number, number]> = [];
  let from = 0;
  for (const s of stops) {
    bounds.push([from, s.first]);
    from = s.last;
  }
  bounds.push([from, fixes.length - 1]);
  for (const [a, b] of bounds) {
    if (b <= a) continue;
    const run = fixes.slice(a, b + 1);
    const distanceM = lengthM(run);
    if (distanceM < minDistanceM) continue;
    trips.push({ first: a, last: b, start: fixes[a]!.t, end: fixes[b]!.t, distanceM, maxSpeedKmh: Math.max(0, ...run.map((f) => f.speedKmh ?? 0)) });
  }
  return trips;
}
