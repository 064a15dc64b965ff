import fs from 'node:fs';
import path from 'node:path';
import { parse as parseSync } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { detectEncoding, normaliseEncoding } from '../encoding.ts';
import { ImportError } from '../errors.ts';
import { looksLikeWkt, parseWkt, WktError } from '../geometry/wkt.ts';
import type { Geometry } from '../geometry/types.ts';
import { toXYZ } from '../geometry/xyz.ts';
import { CsvSplitter } from './csv-splitter.ts';
import type { FeatureRecord, FeatureSource, Field, InputFile } from './source.ts';
import { byteCounter, readHead, readText } from './text-input.ts';

/**
 * CSV and TSV as departments export them from Excel and databases: comma, tab, semicolon or bar separated
 * (detected), with or without a header row (detected), UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode
 * text") or GBK. Coordinates come from a lon/lat column pair found by name (lon, lng, longitude, x, 经度 …;
 * lat, latitude, y, 纬度 …) or given with --lon/--lat (a name, or a 1-based column number), or from a WKT column.
 */
export interface CsvOptions {
  encoding?: string | undefined;
  lon?: string | undefined;
  lat?: string | undefined;
}

const LON = ['lon', 'lng', 'long', 'longitude', 'x', '经度', '东经', 'point_x', 'x坐标', 'gps_lon', 'lon_wgs84', 'wgs84_lon'];
const LAT = ['lat', 'latitude', 'y', '纬度', '北纬', 'point_y', 'y坐标', 'gps_lat', 'lat_wgs84', 'wgs84_lat'];
const WKT = ['wkt', 'geom', 'geometry', 'the_geom', 'shape', 'wkt_geom', 'geometry_wkt'];
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

export async function openCsv(input: InputFile, opts: CsvOptions): Promise<FeatureSource> {
  const file = input.name;
  const head = await readHead(input.path, 1 << 20);
  if (head.length === 0) throw new ImportError(`${file} is empty (0 bytes)`);
  const { encoding, how } = chooseEncoding(head, opts.encoding);
  const sample = sampleText(head, encoding);
  const delimiter = sniffDelimiter(sample, path.extname(file).toLowerCase() === '.tsv');
  let firstRows: string[][];
  try {
    firstRows = parseSync(sample.slice(0, lastLineBreak(sample)), { delimiter, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, to: 50 });
  } catch (err) {
    throw new ImportError(`${file} is not readable as CSV: ${(err as Error).message}`);
  }
  if (firstRows.length === 0) throw new ImportError(`${file} holds no rows`);
  const hasHeader = isHeader(firstRows);
  const header = hasHeader ? firstRows[0]!.map((h) => h.trim()) : firstRows[0]!.map((_, i) => `field_${i + 1}`);
  const geometryPlan = planGeometry(header, hasHeader, firstRows[hasHeader ? 1 : 0], opts, file);
  const attrIndexes = header.map((_, i) => i).filter((i) => i !== geometryPlan.wkt);
  const fields: Field[] = attrIndexes.map((i) => ({ name: header[i]!, fromText: true }));
  const counter = byteCounter();

  return {
    format: delimiter === '\t' ? 'tsv' : 'csv',
    encoding: `${encoding} (${how})`,
    fields,
    ordinates: 'auto',
    sublayer: null,
    warnings: [],
    totalBytes: fs.statSync(input.path).size,
    srs: () => null,
    bytesRead: () => counter.bytes,
    async close() {},
    async *batches(): AsyncGenerator<FeatureRecord[]> {
      const splitter = new CsvSplitter(delimiter);
      const text = readText(input.path, encoding, file, counter) as AsyncIterable<string>;
      let row = 0;
      const toRecords = (recs: string[][]): FeatureRecord[] => {
        const out: FeatureRecord[] = [];
        for (const rec of recs) {
          row++;
          if (row === 1 && hasHeader) continue;
          const values = geometryPlan.wkt === undefined ? rec : attrIndexes.map((i) => rec[i]);
          if (rec.length > header.length && rec.slice(header.length).some((v) => v.trim() !== ''))
            out.push({ row, geometry: null, values, problem: `has ${rec.length} values but the header has ${header.length} columns` });
          else out.push(geometryPlan.read(rec, row, values));
        }
        return out;
      };
      try {
        for await (const chunk of text) yield toRecords(splitter.push(chunk));
        yield toRecords(splitter.end());
      } catch (err) {
        if (err instanceof ImportError) throw err;
        throw new ImportError(`${file}: CSV syntax error near row ${row + 1}: ${(err as Error).message}`);
      }
    },
  };
}

function chooseEncoding(head: Buffer, given: string | undefined): { encoding: string; how: string } {
  if (given) return { encoding: normaliseEncoding(given, '--encoding'), how: 'given' };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', how: 'byte order mark' };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', how: 'byte order mark' };
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', how: 'byte order mark' };
  return { encoding: detectEncoding(head).encoding, how: 'detected' };
}

function sampleText(head: Buffer, encoding: string): string {
  const text = encoding === 'utf-8' ? head.toString('utf8') : iconv.decode(head, encoding === 'gbk' ? 'gb18030' : encoding);
  return text.replace(/^\uFEFF/, '');
}

function lastLineBreak(text: string): number {
  const i = text.lastIndexOf('\n');
  return i > 0 && text.length >= 1 << 19 ? i + 1 : text.length;
}

/** The candidate that splits the first lines into the same number (> 0) of pieces most consistently. */
export function sniffDelimiter(sample: string, tsv: boolean): string {
  const lines = sample.split(/\r?\n/).filter((l) => l.trim() !== '').slice(0, 20);
  let best = tsv ? '\t' : ',';
  let bestScore = 0;
  for (const d of [',', '\t', ';', '|']) {
    const counts = lines.map((l) => countOutsideQuotes(l, d));
    const first = counts[0] ?? 0;
    if (first === 0) continue;
    const score = counts.filter((c) => c === first).length / counts.length + first / 1000;
    if (score > bestScore) [best, bestScore] = [d, score];
  }
  return best;
}

function countOutsideQuotes(line: string, d: string): number {
  let n = 0;
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === d && !quoted) n++;
  }
  return n;
}

/**
 * The first row is a header unless it holds a number or WKT: coordinates are numbers, so a headerless file that
 * can be imported at all has one in its first row.
 */
function isHeader(rows: string[][]): boolean {
  return !rows[0]!.some((c) => NUMBER.test(c.trim()) || looksLikeWkt(c));
}

interface GeometryPlan {
  wkt?: number | undefined;
  /** The record for a CSV row: its geometry, or the problem that keeps it from having one. */
  read(rec: string[], row: number, values: unknown[]): FeatureRecord;
}

function planGeometry(header: string[], hasHeader: boolean, firstData: string[] | undefined, opts: CsvOptions, file: string): GeometryPlan {
  const names = header.map((h) => h.trim().toLowerCase());
  const find = (given: string, what: string): number => {
    const byName = names.indexOf(given.trim().toLowerCase());
    if (byName >= 0) return byName;
    if (/^\d+$/.test(given) && Number(given) >= 1 && Number(given) <= header.length) return Number(given) - 1;
    throw new ImportError(`--${what} "${given}" is not a column of ${file} (columns: ${header.join(', ')})`, 'bad_option');
  };
  if (opts.lon || opts.lat) {
    if (!opts.lon || !opts.lat) throw new ImportError('give both --lon and --lat', 'bad_option');
    return lonLat(find(opts.lon, 'lon'), find(opts.lat, 'lat'), header);
  }
  const wktByName = names.findIndex((n) => WKT.includes(n));
  const wktByValue = firstData ? firstData.findIndex((v) => looksLikeWkt(v)) : -1;
  const wkt = wktByName >= 0 && (!firstData || looksLikeWkt(firstData[wktByName] ?? '') || firstData[wktByName] === '') ? wktByName : wktByValue;
  if (wkt >= 0) return wktColumn(wkt, header);
  const lon = names.findIndex((n) => LON.includes(n)) >= 0 ? names.findIndex((n) => LON.includes(n)) : names.findIndex((n) => n.includes('经度'));
  const lat = names.findIndex((n) => LAT.includes(n)) >= 0 ? names.findIndex((n) => LAT.includes(n)) : names.findIndex((n) => n.includes('纬度'));
  if (lon >= 0 && lat >= 0) return lonLat(lon, lat, header);
  throw new ImportError(
    hasHeader
      ? `${file}: no coordinate columns found (looked for lon/lng/longitude/x/经度 and lat/latitude/y/纬度, or WKT); name them with --lon and --lat (columns: ${header.join(', ')})`
      : `${file} has no header row: name the coordinate columns by number with --lon and --lat`,
    'bad_input',
  );
}

function lonLat(lon: number, lat: number, header: string[]): GeometryPlan {
  const coordinate = (text: string | undefined, what: string): number | string => {
    const t = (text ?? '').trim();
    if (!NUMBER.test(t)) return `${what} ${JSON.stringify(t.slice(0, 40))} in column "${header[what === 'longitude' ? lon : lat]}" is not a number`;
    return Number(t);
  };
  return {
    read(rec, row, values) {
      if (!(rec[lon] ?? '').trim() && !(rec[lat] ?? '').trim()) return { row, values, geometry: null, problem: 'no coordinates (both columns empty)' };
      const x = coordinate(rec[lon], 'longitude');
      if (typeof x === 'string') return { row, values, geometry: null, problem: x };
      const y = coordinate(rec[lat], 'latitude');
      if (typeof y === 'string') return { row, values, geometry: null, problem: y };
      return { row, values, geometry: { type: 'Point', coordinates: [x, y] } };
    },
  };
}

function wktColumn(index: number, header: string[]): GeometryPlan {
  return {
    wkt: index,
    read(rec, row, values) {
      const text = (rec[index] ?? '').trim();
      if (!text) return { row, values, geometry: null, problem: 'no geometry (the WKT cell is empty)' };
      try {
        const { geometry, ordinates } = parseWkt(text);
        return { row, values, geometry: toXYZ(geometry, ordinates) };
      } catch (err) {
        if (err instanceof WktError) return { row, values, geometry: null, problem: `column "${header[index]}": ${err.message}` };
        throw err;
      }
    },
  };
}
