import type pg from 'pg';
import { badRequest } from '../../errors.ts';
import { detectStops, lengthM, simplifyIndexes, tripsBetween, type Fix } from './track.ts';

/** Limits of one playback request (Traccar has `report.maxPositions` 50,000 and no period limit by default). */
export const PLAYBACK_MAX_DAYS = 7;
export const PLAYBACK_MAX_FIXES = 100_000;

export interface PlaybackQuery {
  from: Date;
  to: Date;
  /** Display simplification of the drawn line, metres (0: every fix). */
  toleranceM: number;
  stopRadiusM: number;
  stopMinS: number;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

function instant(v: unknown, name: string): Date {
  if (typeof v !== 'string' || !v) throw badRequest('invalid_range', `${name} is required (an ISO 8601 time with its offset, e.g. 2026-12-03T08:00:00+08:00)`);
  const t = ISO.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw badRequest('invalid_range', `${name} "${v.slice(0, 40)}" is not an ISO 8601 time with its offset (e.g. 2026-12-03T08:00:00+08:00)`);
  return new Date(t);
}

function bounded(v: unknown, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'string' && /^\d{1,7}(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) throw badRequest('invalid_parameter', `${name} is a number from ${min} to ${max}`);
  return n;
}

/** The query string of GET /api/vehicles/:id/track, checked: a bad range is a 400 naming the problem. */
export function parsePlaybackQuery(q: Record<string, unknown>): PlaybackQuery {
  const from = instant(q.from, 'from');
  const to = instant(q.to, 'to');
  if (to.getTime() <= from.getTime()) throw badRequest('invalid_range', `to (${to.toISOString()}) must be after from (${from.toISOString()})`);
  if (to.getTime() - from.getTime() > PLAYBACK_MAX_DAYS * 86_400_000)
    throw badRequest('range_too_long', `a playback covers at most ${PLAYBACK_MAX_DAYS} days; ask for a shorter range`);
  return {
    from,
    to,
    toleranceM: bounded(q.tolerance, 'tolerance (metres)', 5, 0, 5000),
    stopRadiusM: bounded(q.stop_radius, 'stop_radius (metres)', 100, 10, 2000),
    stopMinS: bounded(q.stop_min, 'stop_min (seconds)', 180, 30, 86_400),
  };
}

// The fixes of one vehicle in a range (the partition key bounds the day partitions scanned), and its alarms.
const FIXES_SQL = `SELECT (extract(epoch FROM fix_time) * 1000)::float8 AS t, ST_X(geom) AS lon, ST_Y(geom) AS lat,
  speed_kmh AS "speedKmh", course
FROM vehicles.positions
WHERE vehicle_id = $1 AND fix_time >= $2 AND fix_time < $3
ORDER BY fix_time
LIMIT $4`;

const ALARMS_SQL = `SELECT id, type, state, fence_id AS "fenceId", first_at AS "firstAt", last_at AS "lastAt", repeats, lon, lat
FROM vehicles.alarms
WHERE vehicle_id = $1 AND first_at < $3 AND last_at >= $2
ORDER BY first_at, id`;

/** The fixes of a range, in time order (400 beyond PLAYBACK_MAX_FIXES). */
export async function readFixes(pool: pg.Pool, vehicleId: string, q: Pick<PlaybackQuery, 'from' | 'to'>): Promise<Fix[]> {
  const { rows } = await pool.query<Fix>(FIXES_SQL, [vehicleId, q.from, q.to, PLAYBACK_MAX_FIXES + 1]);
  if (rows.length > PLAYBACK_MAX_FIXES) throw badRequest('range_too_long', `more than ${PLAYBACK_MAX_FIXES} fixes in this range; ask for a shorter range`);
  return rows;
}

export const exportFormats = { gpx: 'application/gpx+xml', kml: 'application/vnd.google-earth.kml+xml', csv: 'text/csv; charset=utf-8' } as const;
export type ExportFormat = keyof typeof exportFormats;

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A track as a file: GPX 1.1 (a track segment with times), KML 2.2 (the line) or CSV (every fix). */
export function exportTrack(format: ExportFormat, vehicle: { id: string; plate: string | null }, fixes: readonly Fix[]): string {
  const name = xml(vehicle.plate ?? vehicle.id);
  const iso = (t: number) => new Date(t).toISOString();
  switch (format) {
    case 'gpx':
      return (
        `<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="CityBase" xmlns="http://www.topografix.com/GPX/1/1">\n<trk><name>${name}</name><trkseg>\n` +
        fixes.map((f) => `<trkpt lat="${f.lat}" lon="${f.lon}"><time>${iso(f.t)}</time></trkpt>`).join('\n') +
        `\n</trkseg></trk>\n</gpx>\n`
      );
    case 'kml':
      return (
        `<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>${name}</name>\n` +
        `<Placemark><name>${name}</name><TimeSpan><begin>${fixes[0] ? iso(fixes[0].t) : ''}</begin><end>${fixes.length ? iso(fixes[fixes.length - 1]!.t) : ''}</end></TimeSpan>` +
        `<LineString><tessellate>1</tessellate><coordinates>${fixes.map((f) => `${f.lon},${f.lat}`).join(' ')}</coordinates></LineString></Placemark>\n</Document></kml>\n`
      );
    case 'csv':
      return '\ufefftime,lon,lat,speed_kmh,course\r\n' + fixes.map((f) => `${iso(f.t)},${f.lon},${f.lat},${f.speedKmh ?? ''},${f.course ?? ''}`).join('\r\n') + '\r\n';
  }
}

type Position = [number, number];
const pos = (f: { lon: number; lat: number }): Position => [round(f.lon), round(f.lat)];
const round = (x: number) => Math.round(x * 1e7) / 1e7;

/**
 * A vehicle's playback as GeoJSON: the fixes at full resolution in time order (a MultiPoint with parallel
 * `times`/`speeds`/`courses`, what the player steps through), the line simplified for display, the stops with
 * arrival and departure, the trips between them (no geometry: indexes into the fixes), and the alarms of the range. Foreign members: `vehicle`, `from`, `to`, `stats`.
 */
export async function playback(pool: pg.Pool, vehicle: { id: string; plate: string | null; type: string }, q: PlaybackQuery) {
  const [fixes, alarmRes] = await Promise.all([readFixes(pool, vehicle.id, q), pool.query(ALARMS_SQL, [vehicle.id, q.from, q.to])]);
  const stops = detectStops(fixes, { radiusM: q.stopRadiusM, minDurationS: q.stopMinS });
  const trips = tripsBetween(fixes, stops, 200);
  const kept = simplifyIndexes(fixes, q.toleranceM);
  const features: unknown[] = [];
  features.push({
    type: 'Feature',
    id: 'fixes',
    geometry: { type: 'MultiPoint', coordinates: fixes.map(pos) },
    properties: {
      kind: 'fixes',
      times: fixes.map((f) => f.t),
      speeds: fixes.map((f) => f.speedKmh),
      courses: fixes.map((f) => f.course),
    },
  });
  if (fixes.length >= 2)
    features.push({
      type: 'Feature',
      id: 'track',
      geometry: { type: 'LineString', coordinates: kept.map((i) => pos(fixes[i]!)) },
      properties: { kind: 'track', toleranceM: q.toleranceM, vertices: kept.length, fixes: fixes.length },
    });
  stops.forEach((s, n) =>
    features.push({
      type: 'Feature',
      id: `stop-${n + 1}`,
      geometry: { type: 'Point', coordinates: pos(s) },
      properties: { kind: 'stop', arrive: new Date(s.arrive).toISOString(), leave: new Date(s.leave).toISOString(), durationS: Math.round((s.leave - s.arrive) / 1000), fixes: s.last - s.first + 1 },
    }),
  );
  // Trips carry no geometry of their own: `first`/`last` index the fixes.
  trips.forEach((tr, n) =>
    features.push({
      type: 'Feature',
      id: `trip-${n + 1}`,
      geometry: null,
      properties: { kind: 'trip', start: new Date(tr.start).toISOString(), end: new Date(tr.end).toISOString(), durationS: Math.round((tr.end - tr.start) / 1000), distanceKm: Math.round(tr.distanceM) / 1000, maxSpeedKmh: tr.maxSpeedKmh, first: tr.first, last: tr.last },
    }),
  );
  for (const a of alarmRes.rows)
    if (a.lon !== null && a.lat !== null)
      features.push({
        type: 'Feature',
        id: `alarm-${a.id}`,
        geometry: { type: 'Point', coordinates: pos(a) },
        properties: { kind: 'alarm', alarmId: Number(a.id), type: a.type, state: a.state, fenceId: a.fenceId, at: (a.firstAt as Date).toISOString(), lastAt: (a.lastAt as Date).toISOString(), repeats: a.repeats },
      });
  let maxSpeed = 0;
  for (const f of fixes) if (f.speedKmh !== null && f.speedKmh > maxSpeed) maxSpeed = f.speedKmh;
  return {
    type: 'FeatureCollection' as const,
    vehicle: { id: vehicle.id, plate: vehicle.plate, type: vehicle.type },
    from: q.from.toISOString(),
    to: q.to.toISOString(),
    stats: {
      fixes: fixes.length,
      distanceKm: Math.round(lengthM(fixes)) / 1000,
      maxSpeedKmh: maxSpeed,
      stops: stops.length,
      trips: trips.length,
      stoppedS: Math.round(stops.reduce((s, x) => s + (x.leave - x.arrive), 0) / 1000),
      first: fixes[0] ? new Date(fixes[0].t).toISOString() : null,
      last: fixes.length ? new Date(fixes[fixes.length - 1]!.t).toISOString() : null,
    },
    features,
  };
}
