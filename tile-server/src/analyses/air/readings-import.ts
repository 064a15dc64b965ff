import { once } from 'node:events';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parse } from 'csv-parse';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { realtimeAqi, standardInForce } from '../aqi/aqi.ts';

/**
 * Import of hourly station readings in the CNEMC CSV layout: `timepoint,stationcode,longitude,latitude,…` and the
 * pollutant columns below (µg/m³, CO mg/m³), missing values empty, NA or / (as CNEMC publishes them). Unknown columns (aqi, quality,
 * primarypollutant, …) are reported and ignored: the platform computes the AQI itself, with the standard in force
 * on the reading's day. A timepoint without an offset is China time (UTC+8). All or nothing: any bad row rejects
 * the file, each problem named with its line.
 */
export const POLLUTANT_COLUMNS = ['so2', 'so2_24h', 'no2', 'no2_24h', 'co', 'co_24h', 'o3', 'o3_8h', 'pm10', 'pm10_24h', 'pm2_5', 'pm2_5_24h'] as const;
const REQUIRED = ['timepoint', 'stationcode', 'longitude', 'latitude'] as const;
const OPTIONAL = ['positionname'] as const;
const MAX_PROBLEMS = 20;

export class ReadingsImportError extends Error {
  constructor(readonly problems: string[]) {
    super(`the readings were not imported: ${problems.join('; ')}`);
  }
}

export interface ReadingsImportResult {
  readings: number;
  stations: number;
  stationsCreated: number;
  /** Hours in which no pollutant could be evaluated (all missing). */
  withoutAqi: number;
  ignoredColumns: string[];
}

interface Reading {
  line: number;
  station: string;
  name: string | null;
  lon: number;
  lat: number;
  observedAt: string; // ISO with offset
  values: Record<(typeof POLLUTANT_COLUMNS)[number], number | null>;
}

// 2026-03-10 15:00, 2026-03-10T15:00:00+08:00, and CNEMC's archived 2026-03-10T1500.
const TIMEPOINT = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):?(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?$/;
const DECIMAL = /^\d+(\.\d+)?$/;

/** Header names as CNEMC writes them in its various exports: PM2.5 / pm2_5 / PM2_5, mixed case. */
const normalise = (h: string) => h.trim().toLowerCase().replace(/\./g, '_');

/** CSV field for COPY: empty for null, the value otherwise (no value here contains a comma or a quote). */
const field = (v: unknown) => (v === null || v === undefined ? '' : Array.isArray(v) ? `"{${v.join(',')}}"` : String(v));

/** The columns of a header, or why it will not do. */
function readHeader(cells: string[]): { col: (name: string) => number; ignored: string[] } {
  const header = cells.map(normalise);
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (missing.length) throw new ReadingsImportError([`missing column(s) ${missing.join(', ')} (the header must name them)`]);
  const known = new Set<string>([...REQUIRED, ...OPTIONAL, ...POLLUTANT_COLUMNS]);
  return { col: (name) => header.indexOf(name), ignored: header.filter((h) => !known.has(h)) };
}

/** One row as a reading, or the problem with it. */
function readRow(cells: string[], line: number, col: (name: string) => number): Reading | string {
  const cell = (name: string) => (col(name) >= 0 ? cells[col(name)]! : '');
  const m = TIMEPOINT.exec(cell('timepoint'));
  const station = cell('stationcode');
  const lon = Number(cell('longitude'));
  const lat = Number(cell('latitude'));
  if (!m) return `timepoint "${cell('timepoint')}" is not YYYY-MM-DD HH:mm[:ss][offset]`;
  const offset = m[5] === undefined ? '+08:00' : m[5].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const observedAt = `${m[1]}T${m[2]}:${m[3]}:${m[4] ?? '00'}${offset}`;
  if (Number.isNaN(Date.parse(observedAt))) return `timepoint "${cell('timepoint')}" is not a real time`;
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(station)) return `stationcode "${station}" is not a station code`;
  if (!DECIMAL.test(cell('longitude').replace(/^-/, '')) || Math.abs(lon) > 180) return `longitude "${cell('longitude')}" is not a longitude`;
  if (!DECIMAL.test(cell('latitude').replace(/^-/, '')) || Math.abs(lat) > 90) return `latitude "${cell('latitude')}" is not a latitude`;
  const values = {} as Reading['values'];
  for (const p of POLLUTANT_COLUMNS) {
    const v = cell(p);
    // CNEMC's files write a missing value as NA or /, as well as leaving it empty.
    if (v === '' || v === 'NA' || v === '/') values[p] = null;
    else if (DECIMAL.test(v)) values[p] = Number(v);
    else return `${p} "${v}" is not a concentration (a number of 0 or more, or empty when missing)`;
  }
  return { line, station, name: cell('positionname') || null, lon, lat, observedAt, values };
}

/**
 * Import one CSV on a client that is inside a transaction (the caller commits or rolls back). The text is read
 * as a stream: each row is checked, given its AQI and copied into a temporary table as it arrives, so memory
 * holds one row and the stations, not the file (a 60 MB file took the server from 228 MB to 1 GB). Repeated
 * hours are found by the database at the end.
 */
export async function importReadings(client: pg.ClientBase, input: string | AsyncIterable<Buffer | string>): Promise<ReadingsImportResult> {
  await client.query(
    `CREATE TEMP TABLE air_readings_in (
       line integer, station text, observed_at timestamptz, ${POLLUTANT_COLUMNS.map((c) => `${c} numeric`).join(', ')},
       aqi integer, level smallint, category text, color text, primary_pollutants text[], standard text
     ) ON COMMIT DROP`,
  );
  const stations = new Map<string, { code: string; name: string | null; lon: number; lat: number }>();
  const problems: string[] = [];
  let columns: { col: (name: string) => number; ignored: string[] } | null = null;
  let rows = 0;
  let withoutAqi = 0;

  const copy = client.query(copyFrom(`COPY air_readings_in FROM STDIN (FORMAT csv)`));
  const parser = parse({ bom: true, skip_empty_lines: true, trim: true, relax_column_count: false });
  // The source is piped into the parser; its own errors (a body over the limit, a client gone) end the parse too.
  const source = typeof input === 'string' ? Readable.from([input]) : Readable.from(input);
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);
  try {
    for await (const cells of parser as AsyncIterable<string[]>) {
      if (!columns) {
        columns = readHeader(cells);
        continue;
      }
      const line = ++rows + 1;
      const r = readRow(cells, line, columns.col);
      if (typeof r === 'string') {
        if (problems.length < MAX_PROBLEMS) problems.push(`line ${line}: ${r}`);
        continue;
      }
      if (problems.length) continue; // the file is refused; read on only to name its other problems
      stations.set(r.station, { code: r.station, name: r.name ?? stations.get(r.station)?.name ?? null, lon: r.lon, lat: r.lat });
      const standard = standardInForce(shanghaiDay(r.observedAt));
      const aqi = standard ? realtimeAqi(r.values, standard) : null;
      if (!aqi) withoutAqi++;
      const text = `${[line, r.station, r.observedAt, ...POLLUTANT_COLUMNS.map((c) => r.values[c]), aqi?.aqi, aqi?.level, aqi?.category, aqi?.color, aqi ? aqi.primary_pollutants : [], aqi?.standard]
        .map(field)
        .join(',')}\n`;
      if (!copy.write(text)) await once(copy, 'drain');
    }
  } catch (err) {
    copy.destroy();
    await finished(copy).catch(() => {});
    if (err instanceof ReadingsImportError || !(err instanceof Error) || !('code' in err) || !String(err.code).startsWith('CSV_')) throw err;
    throw new ReadingsImportError([`not a readable CSV file: ${err.message}`]);
  }
  copy.end();
  await finished(copy);
  if (!columns) throw new ReadingsImportError(['the file holds no readings']);
  if (problems.length) throw new ReadingsImportError(problems);
  if (rows === 0) throw new ReadingsImportError(['the file holds no readings']);

  const repeats = await client.query<{ station: string; first: number; line: number }>(
    `SELECT station, min(line) AS first, max(line) AS line FROM air_readings_in GROUP BY station, observed_at HAVING count(*) > 1 ORDER BY 3 LIMIT ${MAX_PROBLEMS}`,
  );
  if (repeats.rows.length)
    throw new ReadingsImportError(repeats.rows.map((r) => `line ${r.line}: station ${r.station} at the same hour repeats line ${r.first}`));

  const upsert = await client.query<{ created: boolean }>(
    `INSERT INTO environment.air_stations AS s (code, name, kind, district_code, geom)
     SELECT code, coalesce(name, code), CASE WHEN code ~ '^\\d{4}A$' THEN '国控' ELSE '市控' END,
            (SELECT adcode FROM basemap.districts d WHERE ST_Intersects(d.geom, ST_SetSRID(ST_Point(lon, lat), 4326)) ORDER BY adcode LIMIT 1),
            ST_SetSRID(ST_Point(lon, lat), 4326)
     FROM jsonb_to_recordset($1::jsonb) AS x (code text, name text, lon float8, lat float8)
     ON CONFLICT (code) DO UPDATE
       -- A file without positionname keeps the station's name.
       SET name = CASE WHEN EXCLUDED.name = EXCLUDED.code THEN s.name ELSE EXCLUDED.name END,
           geom = EXCLUDED.geom, district_code = EXCLUDED.district_code
     RETURNING (xmax = 0) AS created`,
    [JSON.stringify([...stations.values()])],
  );
  const inserted = await client.query(
    `INSERT INTO environment.air_readings (station_id, observed_at, ${POLLUTANT_COLUMNS.join(', ')},
                                           aqi, level, category, color, primary_pollutants, standard)
     SELECT s.id, i.observed_at, ${POLLUTANT_COLUMNS.map((c) => `i.${c}`).join(', ')},
            i.aqi, i.level, i.category, i.color, i.primary_pollutants, i.standard
     FROM air_readings_in i JOIN environment.air_stations s ON s.code = i.station
     ON CONFLICT (station_id, observed_at) DO UPDATE SET
       ${[...POLLUTANT_COLUMNS, 'aqi', 'level', 'category', 'color', 'primary_pollutants', 'standard'].map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`,
  );
  await client.query(`DROP TABLE air_readings_in`);
  return {
    readings: inserted.rowCount ?? 0,
    stations: stations.size,
    stationsCreated: upsert.rows.filter((r) => r.created).length,
    withoutAqi,
    ignoredColumns: columns.ignored,
  };
}

/** The calendar day in China time (UTC+8, no daylight saving) of an instant. */
export function shanghaiDay(iso: string): string {
  return new Date(Date.parse(iso) + 8 * 3600_000).toISOString().slice(0, 10);
}
