import { haversine, legSpeed, type Fix } from './clean.ts';

/**
 * Stops and trips from cleaned fixes (vehicle-tracking.md §4). Stops are stay points (Li et al. 2008): from fix i,
 * extend j while fix j lies within `radiusM` of fix i; if fixes i..j-1 span at least `minSeconds`, they are a
 * stop at their mean position, arriving at i and leaving at j-1. The defaults, 200 m and 180 s, are Traccar's
 * (report.trip.minDistance / minDuration). Trips are the stretches between stops (and before the first and after
 * the last), split where the log has a gap longer than `gapSeconds` (Traccar's stopGap, 3600 s), and kept when
 * they cover at least `radiusM`.
 */
export interface StayOptions {
  radiusM: number;
  minSeconds: number;
  gapSeconds?: number;
}

export interface Stop {
  arrive: number;
  leave: number;
  lon: number;
  lat: number;
  fixes: number;
}

export interface Trip {
  start: number;
  end: number;
  distanceM: number;
  maxSpeedKmh: number | null;
  fixes: Fix[];
}

export function detectStops(fixes: Fix[], o: StayOptions): Array<Stop & { from: number; to: number }> {
  const stops: Array<Stop & { from: number; to: number }> = [];
  let i = 0;
  while (i < fixes.length) {
    let j = i + 1;
    while (j < fixes.length && haversine(fixes[i]!, fixes[j]!) <= o.radiusM) j++;
    if ((fixes[j - 1]!.time - fixes[i]!.time) / 1000 >= o.minSeconds) {
      const run = fixes.slice(i, j);
      stops.push({
        arrive: fixes[i]!.time,
        leave: fixes[j - 1]!.time,
        lon: run.reduce((s, f) => s + f.lon, 0) / run.length,
        lat: run.reduce((s, f) => s + f.lat, 0) / run.length,
        fixes: run.length,
        from: i,
        to: j - 1,
      });
      i = j;
    } else i++;
  }
  return stops;
}

export function detectTrips(fixes: Fix[], stops: Array<{ from: number; to: number }>, o: StayOptions): Trip[] {
  const gap = (o.gapSeconds ?? 3600) * 1000;
  // The moving stretches: from the last fix of a stop (leaving) to the first fix of the next (arriving).
  const bounds: Array<[number, number]> = [];
  let start = 0;
  for (const s of stops) {
    if (s.from > start) bounds.push([start, s.from]);
    start = s.to;
  }
  if (start < fixes.length - 1) bounds.push([start, fixes.length - 1]);
  const trips: Trip[] = [];
  for (const [a, b] of bounds) {
    let from = a;
    for (let k = a + 1; k <= b + 1; k++) {
      if (k <= b && fixes[k]!.time - fixes[k - 1]!.time <= gap) continue;
      const run = fixes.slice(from, k);
      from = k;
      if (run.length < 2) continue;
      let distance = 0;
      let max: number | null = null;
      for (let m = 1; m < run.length; m++) {
        distance += haversine(run[m - 1]!, run[m]!);
        const v = run[m]!.speedKmh ?? legSpeed(run[m - 1]!, run[m]!);
        if (Number.isFinite(v)) max = Math.max(max ?? 0, v);
      }
      if (distance >= o.radiusM) trips.push({ start: run[0]!.time, end: run[run.length - 1]!.time, distanceM: distance, maxSpeedKmh: max, fixes: run });
    }
  }
  return trips;
}
