import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Column, columnName } from '../columns.ts';
import { converterFor, projectedHint, WGS84_ASSUMED, type SourceSrs } from '../crs/srs.ts';
import { ImportError } from '../errors.ts';
import { cleanGeometry, type CleanOptions } from '../geometry/clean.ts';
import { toHexEwkb } from '../geometry/ewkb.ts';
import type { GeometryType } from '../geometry/types.ts';
import type { FeatureRecord, FeatureSource } from '../formats/source.ts';
import { copyField, jsonField } from './copy-text.ts';
import { describeSrid, STAGE_TABLE, stageTableSql } from './sql.ts';

/**
 * Reading → a temporary staging table, in one streaming pass: each record is cleaned (cleanGeometry), converted
 * out of GCJ-02/BD-09 when asked, encoded as hex EWKB with its source SRID, and written with its attributes into
 * `COPY import_stage FROM STDIN` in ~64 KB batches. Rows that cannot be used are counted and kept with their
 * row number and reason. Transforming, repairing and typing happen afterwards in PostGIS, in one statement.
 */
export interface Rejection {
  row: number;
  reason: string;
}

export interface StageResult {
  read: number;
  staged: number;
  /** The first rejections (up to 100,000) with their row numbers; `rejectedTotal` counts them all. */
  rejected: Rejection[];
  rejectedTotal: number;
  columns: Column[];
  /** Attributes are staged as one jsonb column (schema-less sources) rather than one text column each. */
  jsonMode: boolean;
  types: Set<GeometryType>;
  hasZ: boolean;
  droppedM: boolean;
  /** Geometries fixed on the way (rings closed, degenerate parts dropped). */
  fixed: number;
  srs: SourceSrs;
}

export interface StageOptions {
  srs: SourceSrs | null;
  /** The rows checked for "projected metres in a file said to be in degrees" before they are merely rejected. */
  sanityRows?: number;
  onRow?: (read: number) => void;
  signal?: AbortSignal | undefined;
}

/** Rejections kept in memory; beyond this only the count grows. */
const KEEP_REJECTIONS = 100_000;
const BATCH = 64 * 1024;

export async function stage(client: pg.PoolClient, source: FeatureSource, opts: StageOptions): Promise<StageResult> {
  const fields = source.fields;
  const jsonMode = fields === null;
  const taken = new Set<string>();
  const columns: Column[] = jsonMode ? [] : fields.map((f) => new Column(f.name, columnName(f.name, taken), !!f.fromText, f.type ?? null));
  const byKey = new Map<string, Column>();
  const result: StageResult = {
    read: 0,
    staged: 0,
    rejected: [],
    rejectedTotal: 0,
    columns,
    jsonMode,
    types: new Set(),
    hasZ: false,
    droppedM: false,
    fixed: 0,
    srs: WGS84_ASSUMED,
  };
  const reject = (row: number, reason: string) => {
    result.rejectedTotal++;
    if (result.rejected.length < KEEP_REJECTIONS) result.rejected.push({ row, reason });
  };

  await client.query(stageTableSql(jsonMode ? null : columns.length));
  const iterator = source.records()[Symbol.asyncIterator]();
  const first = await iterator.next();
  // The CRS is settled before the first row is cleaned: a GeoJSON `crs` member precedes its features.
  const srs = opts.srs ?? source.srs() ?? WGS84_ASSUMED;
  result.srs = srs;
  const described = await describeSrid(client, srs.srid);
  if (!described) throw new ImportError(`${srs.label} is not a coordinate system PostGIS knows (spatial_ref_sys)`, 'unknown_crs');
  const clean: CleanOptions = { ordinates: source.ordinates, geographic: described.geographic, convert: converterFor(srs) };
  const sanityRows = srs.origin === 'assumed' && described.geographic ? (opts.sanityRows ?? 1000) : 0;

  const copy = client.query(copyFrom(`COPY ${STAGE_TABLE} FROM STDIN`));
  const copied = new Promise<void>((resolve, reject) => {
    copy.on('finish', resolve);
    copy.on('error', reject);
  });
  copied.catch(() => {}); // surfaced below, after the read loop
  let batch = '';
  const flush = async () => {
    if (!copy.write(batch)) await Promise.race([once(copy, 'drain'), copied]);
    batch = '';
  };

  const line = (rec: FeatureRecord, ordinal: number): string | null => {
    if (rec.problem) {
      reject(rec.row, rec.problem);
      return null;
    }
    const c = cleanGeometry(rec.geometry, clean);
    if (!c.ok) {
      if (ordinal <= sanityRows && / is outside -(180|90)\.\./.test(c.reason)) {
        const [x, y] = firstPosition(rec.geometry);
        throw new ImportError(`${source.format} row ${rec.row}: ${projectedHint(x, y)}`, 'unknown_crs');
      }
      reject(rec.row, c.reason);
      return null;
    }
    result.types.add(c.geometry.type);
    if (c.hasZ) result.hasZ = true;
    if (c.droppedM) result.droppedM = true;
    if (c.fixed) result.fixed++;
    const ewkb = toHexEwkb(c.geometry, c.hasZ, srs.offset ? 4326 : srs.srid);
    let attrs: string;
    if (jsonMode) {
      const props = rec.values as Record<string, unknown>;
      for (const key of Object.keys(props)) {
        let col = byKey.get(key);
        if (!col) {
          col = new Column(key, columnName(key, taken));
          byKey.set(key, col);
          columns.push(col);
        }
        col.observe(props[key]);
      }
      attrs = `\t${jsonField(props)}`;
    } else {
      const values = rec.values as unknown[];
      attrs = '';
      for (let i = 0; i < columns.length; i++) attrs += `\t${copyField(columns[i]!.observe(values[i]))}`;
    }
    return `${rec.row}\t${ordinal}\t${ewkb}${attrs}\n`;
  };

  try {
    let next = first;
    while (!next.done) {
      if (opts.signal?.aborted) throw new ImportError('the import was cancelled', 'cancelled');
      const ordinal = ++result.read;
      const text = line(next.value, ordinal);
      if (text !== null) {
        batch += text;
        result.staged++;
        if (batch.length >= BATCH) await flush();
      }
      if ((ordinal & 1023) === 0) opts.onRow?.(ordinal);
      next = await iterator.next();
    }
    copy.end(batch);
    await copied;
  } catch (err) {
    await iterator.return?.();
    copy.destroy(err as Error);
    throw err;
  }
  opts.onRow?.(result.read);
  // A GeoJSON may declare its CRS after the features: srs() throws if that contradicts what was assumed.
  if (!opts.srs) source.srs();
  return result;
}

function firstPosition(g: FeatureRecord['geometry']): [number, number] {
  let c: unknown = g && 'coordinates' in g ? g.coordinates : g && 'geometries' in g ? (g.geometries[0] as { coordinates?: unknown })?.coordinates : null;
  while (Array.isArray(c) && Array.isArray(c[0])) c = c[0];
  return Array.isArray(c) ? [Number(c[0]), Number(c[1])] : [NaN, NaN];
}
