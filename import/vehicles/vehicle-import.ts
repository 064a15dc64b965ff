import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { withImportConnection } from '../connection.ts';
import { converterFor, parseSrsOption } from '../crs/srs.ts';
import { ImportError } from '../errors.ts';
import type { RunOptions } from '../layer-import.ts';
import { resolveOptions, type ImportOptions, type Rejected } from '../options.ts';
import { cleanFixes, trackReports, type Fix, type TrackReport } from './clean.ts';
import { readFixes } from './read.ts';
import { detectStops, detectTrips } from './staypoints.ts';
import { copyFixes, INSERT_POSITIONS_SQL, replaceDerived, WINDOW_FIXES_SQL, WINDOW_SQL } from './store.ts';

/**
 * A GPS log → the vehicle positions store, in one transaction: fixes read and cleaned, stored (partitioned by
 * month; an instant already stored is skipped, so a re-import adds nothing), and the stops and trips from just
 * before the new fixes to the end of the log derived again.
 */
export interface VehicleSummary {
  vehicle: string;
  table: 'vehicles.positions';
  format: string;
  read: number;
  imported: number;
  /** Fixes already stored (same vehicle, same instant). */
  already_stored: number;
  rejected: number;
  invalid: number;
  duplicates: number;
  jumps: number;
  /** Per track (GPX <trk>; else the file): fixes read and kept, and what was dropped and why. */
  tracks: TrackReport[];
  first_fix: string | null;
  last_fix: string | null;
  /** Stops and trips derived again by this import (from just before its fixes to the end of the log). */
  stops: number;
  trips: number;
  encoding: string | null;
  source_srs: string;
  timezone: string;
  bbox: [number, number, number, number] | null;
  seconds: number;
  warnings: string[];
  rejected_rows: Rejected[];
}

export async function importVehicleFile(options: ImportOptions & RunOptions): Promise<VehicleSummary> {
  const started = performance.now();
  const { pool, onProgress, signal, ...raw } = options;
  const opts = resolveOptions(raw);
  const vehicle = opts.vehicle;
  if (!vehicle) throw new ImportError('--vehicle is required for a vehicle track', 'bad_option');
  const srs = opts.srs ? parseSrsOption(opts.srs) : null;
  if (srs && srs.srid !== 4326) throw new ImportError(`vehicle tracks are read in degrees (WGS84, gcj02 or bd09), not ${srs.label}`, 'bad_option');
  const input = { path: opts.file, name: opts.fileName ?? path.basename(opts.file) };
  const size = fs.existsSync(input.path) ? fs.statSync(input.path).size : 0;
  if (!fs.existsSync(input.path)) throw new ImportError(`${input.name} does not exist`);

  const log = await readFixes(input, { encoding: opts.encoding, lon: opts.lon, lat: opts.lat, timezone: opts.timezone });
  onProgress?.({ phase: 'reading', rows: log.fixes.length, bytes: size, totalBytes: size });
  const convert = srs ? converterFor(srs) : undefined;
  if (convert) for (const f of log.fixes) if (Number.isFinite(f.lon) && Number.isFinite(f.lat) && Math.abs(f.lon) <= 180 && Math.abs(f.lat) <= 90) [f.lon, f.lat] = convert(f.lon, f.lat);
  const cleaned = cleanFixes(log.fixes, { maxSpeedKmh: opts.maxSpeedKmh });
  const rejected = [...cleaned.invalid, ...cleaned.duplicates, ...cleaned.jumps].sort((a, b) => a.row - b.row);
  if (cleaned.fixes.length === 0)
    throw new ImportError(`no fix of ${input.name} could be used (${log.fixes.length} read${rejected[0] ? `; row ${rejected[0].row}: ${rejected[0].reason}` : ''})`);

  if (signal?.aborted) throw new ImportError('the import was cancelled', 'cancelled');
  return withImportConnection(pool, async (client) => {
    if (signal?.aborted) throw new ImportError('the import was cancelled', 'cancelled');
    await client.query('BEGIN');
    await client.query(`SET LOCAL statement_timeout = 0; SET LOCAL client_min_messages = warning`);
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('citybase.vehicle:' || $1::text))`, [vehicle]);
    const owner = await client.query<{ department_id: string }>(
      `INSERT INTO vehicles.vehicles (id, department_id) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET updated_at = now() RETURNING department_id`,
      [vehicle, opts.owner],
    );
    if (owner.rows[0]!.department_id !== opts.owner)
      throw new ImportError(`vehicle ${vehicle} belongs to department ${owner.rows[0]!.department_id}`, 'forbidden');
    // Month partitions, made once each, whoever imports first.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('citybase.vehicle-partitions'))`);
    const months = [...new Set(cleaned.fixes.map((f) => new Date(f.time).toISOString().slice(0, 7)))];
    for (const m of months) await client.query(`SELECT vehicles.ensure_month($1::timestamptz)`, [`${m}-01T00:00:00Z`]);
    await copyFixes(client, cleaned.fixes);
    const source = `${log.format}:${input.name}`.slice(0, 200);
    const inserted = (await client.query(INSERT_POSITIONS_SQL, [vehicle, source])).rowCount ?? 0;
    onProgress?.({ phase: 'loading', rows: log.fixes.length, bytes: size, totalBytes: size });

    const first = cleaned.fixes[0]!.time;
    const last = cleaned.fixes[cleaned.fixes.length - 1]!.time;
    const w = (await client.query<{ lo: Date; hi: Date }>(WINDOW_SQL, [vehicle, new Date(first)])).rows[0]!;
    const windowFixes = (await client.query<Fix>(WINDOW_FIXES_SQL, [vehicle, w.lo, w.hi])).rows.map((r, i) => ({ ...r, time: Number(r.time), row: i + 1, speedKmh: r.speedKmh ?? undefined }));
    const stay = { radiusM: opts.stopRadiusM, minSeconds: opts.stopMinSeconds };
    const stops = detectStops(windowFixes, stay);
    const trips = detectTrips(windowFixes, stops, stay);
    await replaceDerived(client, vehicle, w.lo, w.hi, stops, trips);

    const lons = cleaned.fixes.map((f) => f.lon);
    const lats = cleaned.fixes.map((f) => f.lat);
    const summary: VehicleSummary = {
      vehicle,
      table: 'vehicles.positions',
      format: log.format,
      read: log.fixes.length,
      imported: inserted,
      already_stored: cleaned.fixes.length - inserted,
      rejected: rejected.length,
      invalid: cleaned.invalid.length,
      duplicates: cleaned.duplicates.length,
      jumps: cleaned.jumps.length,
      tracks: trackReports(log.fixes, cleaned, input.name),
      first_fix: new Date(first).toISOString(),
      last_fix: new Date(last).toISOString(),
      stops: stops.length,
      trips: trips.length,
      encoding: log.encoding,
      source_srs: srs ? `${srs.label} (--srs)` : 'EPSG:4326 (GPS fixes are WGS84)',
      timezone: opts.timezone,
      bbox: [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)],
      seconds: 0,
      warnings: [
        ...(log.notes ?? []),
        ...(cleaned.fixes.length - inserted > 0 ? [`${cleaned.fixes.length - inserted} fixes were already stored for ${vehicle} and were skipped`] : []),
      ],
      rejected_rows: rejected.slice(0, 100_000),
    };
    await client.query(`INSERT INTO citybase.import_log (layer, mode, sha256, file_name, summary) VALUES ($1, 'vehicle', $2, $3, $4)`, [
      `vehicle:${vehicle}`,
      createHash('sha256').update(fs.readFileSync(input.path)).digest('hex'),
      input.name,
      JSON.stringify({ ...summary, rejected_rows: undefined }),
    ]);
    await client.query('COMMIT');
    summary.seconds = Math.round(performance.now() - started) / 1000;
    onProgress?.({ phase: 'done', rows: log.fixes.length, bytes: size, totalBytes: size });
    return summary;
  });
}
