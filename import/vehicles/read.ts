import fs from 'node:fs';
import path from 'node:path';
import { decodeText, detectEncoding, normaliseEncoding } from '../encoding.ts';
import { ImportError } from '../errors.ts';
import { openCsv } from '../formats/csv.ts';
import { gpxPoint } from '../formats/gpx.ts';
import type { InputFile } from '../formats/source.ts';
import { childElements, childText, readXml } from '../formats/xml.ts';
import { looksLikeJt808, readJt808Log } from './jt808.ts';
import { parseFixTime } from './time.ts';

/**
 * GPS logs → raw fixes, whatever the source: GPX tracks (trkpt; rtept when a file has no track), CSV logs from
 * terminals and platforms (time, lon, lat, speed km/h, course, altitude columns found by name), GeoLife .plt
 * files (6 header lines, then lat,lon,0,altitude in feet,days,date,time in GMT), and raw JT/T 808 frame logs
 * (jt808.ts).
 */
export interface RawFix {
  row: number;
  lon: number;
  lat: number;
  /** Epoch milliseconds, or null when the time is missing or unreadable. */
  time: number | null;
  speedKmh?: number | undefined;
  course?: number | undefined;
  altitudeM?: number | undefined;
  /** Why this fix cannot be used, when the reader already knows. */
  problem?: string | undefined;
  /** The track it belongs to, when the log has several (a GPX <trk> by name or number). */
  track?: string | undefined;
}

export interface FixLog {
  format: 'gpx' | 'csv' | 'plt' | 'jt808';
  encoding: string | null;
  fixes: RawFix[];
  /** What the summary should mention about the log (e.g. frames without a position). */
  notes?: string[];
}

const TIME = ['time', 'datetime', 'date_time', 'gps_time', 'gpstime', 'fix_time', 'fixtime', 'timestamp', 'utc', 'gpsdatetime', '定位时间', '时间', '日期时间', 'gps时间'];
const SPEED = ['speed', 'speed_kmh', 'velocity', '速度', 'gps_speed'];
const COURSE = ['course', 'direction', 'heading', 'angle', 'azimuth', 'bearing', '方向', '航向'];
const ALTITUDE = ['altitude', 'alt', 'ele', 'elevation', 'height', '高程', '海拔'];

export async function readFixes(input: InputFile, opts: { encoding?: string | undefined; lon?: string | undefined; lat?: string | undefined; timezone: string }): Promise<FixLog> {
  const ext = path.extname(input.name).toLowerCase();
  if (fs.statSync(input.path).size === 0) throw new ImportError(`${input.name} is empty (0 bytes)`);
  if (ext === '.gpx') return readGpxFixes(input, opts);
  if (ext === '.plt') return readPlt(input, opts);
  const head = fs.readFileSync(input.path, { encoding: 'latin1' }).slice(0, 4096);
  if (['.log', '.hex', '.jt808', '.txt', '.csv'].includes(ext) && looksLikeJt808(head)) {
    const log = readJt808Log(input, opts);
    const notes = [];
    if (log.skipped) notes.push(`${log.skipped} JT/T 808 frames carry no position (registration, heartbeat, replies) and were skipped`);
    if (log.terminals.length > 1) notes.push(`frames from ${log.terminals.length} terminals (${log.terminals.join(', ')}) were all stored as this vehicle`);
    return { ...log, notes };
  }
  if (['.csv', '.txt', '.tsv'].includes(ext)) return readCsvFixes(input, opts);
  throw new ImportError(`${input.name}: vehicle tracks are read from GPX, CSV, GeoLife .plt or JT/T 808 frame logs`, 'bad_option');
}

function readGpxFixes(input: InputFile, opts: { encoding?: string | undefined; timezone: string }): FixLog {
  const { doc, encoding, how } = readXml(input.path, input.name, opts.encoding);
  const root = doc.documentElement;
  const named = (el: Element, kind: string, i: number) => childText(el, 'name') || `${kind} ${i + 1}`;
  let points = childElements(root, 'trk').flatMap((t, ti) => childElements(t, 'trkseg').flatMap((s) => childElements(s, 'trkpt').map((el) => ({ el, track: named(t, 'track', ti) }))));
  if (points.length === 0) points = childElements(root, 'rte').flatMap((r, ri) => childElements(r, 'rtept').map((el) => ({ el, track: named(r, 'route', ri) })));
  const fixes = points.map(({ el, track }, i): RawFix => {
    const p = gpxPoint(el);
    if (!p) return { row: i + 1, lon: NaN, lat: NaN, time: null, problem: 'no usable lat/lon', track };
    return {
      track,
      row: i + 1,
      lon: p.lon,
      lat: p.lat,
      time: p.time ? parseFixTime(p.time, opts.timezone) : null,
      speedKmh: p.speed === undefined ? undefined : p.speed * 3.6,
      course: p.course,
      altitudeM: p.ele,
    };
  });
  return { format: 'gpx', encoding: `${encoding} (${how})`, fixes };
}

function readPlt(input: InputFile, opts: { encoding?: string | undefined }): FixLog {
  const bytes = fs.readFileSync(input.path);
  const encoding = opts.encoding ? normaliseEncoding(opts.encoding, '--encoding') : detectEncoding(bytes).encoding;
  const lines = decodeText(bytes, encoding, () => input.name).split(/\r?\n/);
  if (!/^Geolife trajectory/i.test(lines[0] ?? '')) throw new ImportError(`${input.name} is not a GeoLife .plt file (its first line is not "Geolife trajectory")`);
  const fixes: RawFix[] = [];
  for (let i = 6; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    const f = line.split(',');
    const row = i + 1;
    const [lat, lon, alt] = [Number(f[0]), Number(f[1]), Number(f[3])];
    // Times are GMT (GeoLife User Guide 1.3); altitude is in feet, -777 when unknown.
    const time = f[5] && f[6] ? parseFixTime(`${f[5]} ${f[6]}`, 'UTC') : null;
    fixes.push({
      row,
      lon,
      lat,
      time,
      altitudeM: Number.isFinite(alt) && alt !== -777 ? alt * 0.3048 : undefined,
      problem: f.length < 7 ? `expected 7 values, found ${f.length}` : undefined,
    });
  }
  return { format: 'plt', encoding, fixes };
}

async function readCsvFixes(input: InputFile, opts: { encoding?: string | undefined; lon?: string | undefined; lat?: string | undefined; timezone: string }): Promise<FixLog> {
  const source = await openCsv(input, opts);
  const names = source.fields!.map((f) => f.name.trim().toLowerCase());
  const find = (candidates: string[]) => names.findIndex((n) => candidates.includes(n));
  const timeAt = find(TIME);
  if (timeAt < 0) throw new ImportError(`${input.name}: no time column (looked for ${TIME.slice(0, 8).join(', ')}, 时间 …); columns: ${source.fields!.map((f) => f.name).join(', ')}`);
  const [speedAt, courseAt, altAt] = [find(SPEED), find(COURSE), find(ALTITUDE)];
  const num = (v: unknown) => (v === undefined || v === null || String(v).trim() === '' || !Number.isFinite(Number(v)) ? undefined : Number(v));
  const fixes: RawFix[] = [];
  try {
    for await (const batch of source.batches()) for (const rec of batch) {
      const values = rec.values as unknown[];
      const timeText = String(values[timeAt] ?? '');
      const time = timeText.trim() ? parseFixTime(timeText, opts.timezone) : null;
      const [lon, lat] = rec.geometry?.type === 'Point' ? (rec.geometry.coordinates as [number, number]) : [NaN, NaN];
      fixes.push({
        row: rec.row,
        lon,
        lat,
        time,
        speedKmh: speedAt >= 0 ? num(values[speedAt]) : undefined,
        course: courseAt >= 0 ? num(values[courseAt]) : undefined,
        altitudeM: altAt >= 0 ? num(values[altAt]) : undefined,
        problem: rec.problem ?? (timeText.trim() && time === null ? `time ${JSON.stringify(timeText.slice(0, 40))} is not understood` : undefined),
      });
    }
  } finally {
    await source.close();
  }
  return { format: 'csv', encoding: source.encoding, fixes };
}
