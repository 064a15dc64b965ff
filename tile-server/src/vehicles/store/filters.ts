import { haversine } from '../../../../import/vehicles/clean.ts';

/**
 * Live fix filters after Traccar's FilterHandler (vehicle-tracking.md §1.5), applied per vehicle as fixes
 * arrive. Each refusal names its filter and why, and is stored with the fix (vehicles.rejected_fixes).
 *  - invalid: the terminal says it has no fix (status bit 1), or coordinates out of range;
 *  - zero: (0, 0);
 *  - future: more than `futureMs` ahead of the server's clock (Traccar's filter.future, 1 day);
 *  - outdated: older than the retention (its day is dropped, or about to be);
 *  - duplicate: the same fix time as the vehicle's previous fix;
 *  - jump: the leg from the previous fix implies more than `maxSpeedKmh`.
 * A late fix (older than the previous one: backfill) is checked for validity only; the database keeps one fix
 * per vehicle and instant.
 */
export interface CandidateFix {
  time: number;
  lon: number;
  lat: number;
  /** JT/T 808 status word; bit 1 = positioned. */
  status: number;
}

export interface LastFix {
  time: number;
  lon: number;
  lat: number;
}

export interface FilterOptions {
  maxSpeedKmh: number;
  futureMs: number;
  retentionMs: number;
}

export function rejectReason(fix: CandidateFix, last: LastFix | undefined, now: number, opts: FilterOptions): string | null {
  if (!(fix.status & 0x2)) return 'invalid: the terminal reports no fix (status bit 1 is 0)';
  if (!(Math.abs(fix.lat) <= 90 && Math.abs(fix.lon) <= 180)) return `invalid: coordinates out of range (${fix.lon}, ${fix.lat})`;
  if (fix.lat === 0 && fix.lon === 0) return 'zero: position (0, 0)';
  if (fix.time > now + opts.futureMs) return `future: ${Math.round((fix.time - now) / 1000)} s ahead of the server clock`;
  if (fix.time < now - opts.retentionMs) return 'outdated: older than the positions retention';
  if (!last || fix.time < last.time) return null;
  if (fix.time === last.time) return 'duplicate: same fix time as the previous fix';
  const kmh = (haversine(last, fix) / ((fix.time - last.time) / 1000)) * 3.6;
  if (kmh > opts.maxSpeedKmh) return `jump: ${Math.round(kmh)} km/h implied from the previous fix (limit ${opts.maxSpeedKmh})`;
  return null;
}
