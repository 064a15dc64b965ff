import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Column, columnName } from '../columns.ts';
import { checkCoordinates } from '../crs/check.ts';
import { converterFor, projectedHint, WGS84_ASSUMED, type SourceSrs } from '../crs/srs.ts';
import { ident } from '../db.ts';
import { ImportError } from '../errors.ts';
import { cleanGeometry, type Box, type CleanOptions } from '../geometry/clean.ts';
import { toHexEwkb } from '../geometry/ewkb.ts';
import { familyOf, type Family, type GeometryType } from '../geometry/types.ts';
import type { FeatureRecord, FeatureSource } from '../formats/source.ts';
import { copyField, jsonField } from './copy-text.ts';
import { createTableSql, describeSrid, HUAIAN_BOX, qualified, STAGE_TABLE, stageTableSql } from './sql.ts';

/**
 * Reading → PostgreSQL, in one streaming pass: each record is cleaned (cleanGeometry), converted out of
 * GCJ-02/BD-09 when asked, encoded as hex EWKB, and written with its attributes into a COPY in ~64 KB batches.
 * Rows that cannot be used are counted and kept with their row number and reason.
 *
 * Where the rows go depends on the first 10,000: if they are 2D points already in WGS84 (a CSV of lon/lat, a
 * point GeoJSON) and this is a replace, straight into the new layer table, typed from what the sample showed —
 * nothing is left for PostGIS to transform or repair, and a second copy of the data is saved. Should a later row
 * not fit (another geometry type, a wider value, a new property) the direct load gives up (`DirectLoadMisfit`) and
 * the caller starts again through the staging table. Otherwise, into a temporary staging table, from which
 * publish.ts transforms, repairs and types everything in one statement.
 */
export interface Rejection {
  row: number;
  reason: string;
}

export interface Extent {
  count: number;
  bbox: Box;
  inside: number;
  outside: number;
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
  /** Per geometry family: count, extent and Huai'an inside/outside counts of the staged positions (after any
   * GCJ-02/BD-09 conversion). Exact for the stored layer when PostGIS neither transforms nor repairs. */
  extents: Map<Family, Extent>;
  /** The new layer table the rows were written to directly, or null when they are in the staging table. */
  direct: string | null;
}

export interface StageOptions {
  srs: SourceSrs | null;
  /** The rows checked for "projected metres in a file said to be in degrees" before they are merely rejected. */
  sanityRows?: number;
  /** Name for a new layer table (in schema imports) the rows may be written to directly; null = always stage. */
  directTable: string | null;
  onRow?: (read: number) => void;
  signal?: AbortSignal | undefined;
}

/** The direct load met a row the table made from the sample cannot hold; start again through staging. */
export class DirectLoadMisfit extends Error {}

/** Rejections kept in memory; beyond this only the count grows. */
const KEEP_REJECTIONS = 100_000;
const BATCH = 64 * 1024;
const SAMPLE = 10_000;

interface Row {
  row: number;
  ordinal: number;
  ewkb: string;
  type: GeometryType;
  hasZ: boolean;
  /** Attribute texts, in the order of `columns` when the row was read. */
  texts: Array<string | null>;
  props?: Record<string, unknown> | undefined;
}

export async function stage(client: pg.PoolClient, source: FeatureSource, opts: StageOptions): Promise<StageResult> {
  const fields = source.fields;
  const jsonMode = fields === null;
  const taken = new Set<string>();
  const columns: Column[] = jsonMode ? [] : fields.map((f) => new Column(f.name, columnName(f.name, taken), !!f.fromText, f.type ?? null));
  const byKey = new Map<string, number>();
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
    extents: new Map(),
    direct: null,
  };
  const note = extentNoter(result.extents);
  const reject = (row: number, reason: string) => {
    result.rejectedTotal++;
    if (result.rejected.length < KEEP_REJECTIONS) result.rejected.push({ row, reason });
  };

  // Records arrive in batches; `take()` hands them out one by one and awaits only to fetch the next batch.
  const iterator = source.batches()[Symbol.asyncIterator]();
  let current: FeatureRecord[] = [];
  let at = 0;
  let exhausted = false;
  const refill = async (): Promise<boolean> => {
    while (at >= current.length) {
      if (exhausted) return false;
      const n = await iterator.next();
      if (n.done) exhausted = true;
      else [current, at] = [n.value, 0];
    }
    return true;
  };
  await refill();
  // The CRS is settled before the first row is cleaned: a GeoJSON `crs` member precedes its features.
  const srs = opts.srs ?? source.srs() ?? WGS84_ASSUMED;
  result.srs = srs;
  const described = await describeSrid(client, srs.srid);
  if (!described) throw new ImportError(`${srs.label} is not a coordinate system PostGIS knows (spatial_ref_sys)`, 'unknown_crs');
  const clean: CleanOptions = { ordinates: source.ordinates, geographic: described.geographic, convert: converterFor(srs) };
  const sanityRows = srs.origin === 'assumed' && described.geographic ? (opts.sanityRows ?? 1000) : 0;
  const srid = srs.offset ? 4326 : srs.srid;
  // A declared geographic CRS whose first rows hold values beyond degrees: the .prj (or --srs) is checked below.
  let outOfRange: [number, number] | null = null;

  /** Clean one record and note its attribute types: a Row to write, or null (rejected). */
  const process = (rec: FeatureRecord, ordinal: number): Row | null => {
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
      if (!outOfRange && srs.origin !== 'assumed' && ordinal <= SAMPLE && / is outside -(180|90)\.\./.test(c.reason)) outOfRange = firstPosition(rec.geometry);
      reject(rec.row, c.reason);
      return null;
    }
    result.types.add(c.geometry.type);
    note(familyOf(c.geometry.type), c.bbox);
    if (c.hasZ) result.hasZ = true;
    if (c.droppedM) result.droppedM = true;
    if (c.fixed) result.fixed++;
    const texts: Array<string | null> = [];
    let props: Record<string, unknown> | undefined;
    if (jsonMode) {
      props = rec.values as Record<string, unknown>;
      for (const key of Object.keys(props)) {
        let i = byKey.get(key);
        if (i === undefined) {
          i = columns.push(new Column(key, columnName(key, taken))) - 1;
          byKey.set(key, i);
        }
        texts[i] = columns[i]!.observe(props[key]);
      }
    } else {
      const values = rec.values as unknown[];
      for (let i = 0; i < columns.length; i++) texts.push(columns[i]!.observe(values[i]));
    }
    return { row: rec.row, ordinal, ewkb: toHexEwkb(c.geometry, c.hasZ, srid), type: c.geometry.type, hasZ: c.hasZ, texts, props };
  };

  /** The next record cleaned, null when it was rejected; call only after refill() said there is one. */
  const advance = (): Row | null => {
    const ordinal = ++result.read;
    const row = process(current[at++]!, ordinal);
    if ((ordinal & 1023) === 0) {
      if (opts.signal?.aborted) throw new ImportError('the import was cancelled', 'cancelled');
      opts.onRow?.(ordinal);
    }
    return row;
  };

  let copy: ReturnType<typeof copyFrom> | null = null;
  try {
    // The sample decides where the rows go.
    const sample: Row[] = [];
    while (result.read < SAMPLE && (at < current.length || (await refill()))) {
      const row = advance();
      if (row) sample.push(row);
    }
    // The coordinates must fit the CRS the file or --srs declares before anything is loaded (crs/check.ts).
    if (srs.origin !== 'assumed') await checkCoordinates(client, { srs, geographic: described.geographic, box: sampleBox(result.extents), outOfRange });
    const direct = opts.directTable !== null && srid === 4326 && sample.length > 0 && sample.every((r) => r.type === 'Point' && !r.hasZ);
    const widths = columns.length;
    const changes = () => columns.reduce((n, c) => n + c.changes, 0);
    const settled = changes();
    let target: string;
    if (direct) {
      result.direct = opts.directTable;
      const table = qualified(opts.directTable!);
      await client.query(createTableSql(table, 'Point', columns.map((c) => ({ name: c.name, type: c.type }))));
      target = `${table} (fid, geom${columns.map((c) => `, ${ident(c.name)}`).join('')})`;
    } else {
      await client.query(stageTableSql(jsonMode ? null : columns.length));
      target = STAGE_TABLE;
    }
    const render = direct
      ? (r: Row) => {
          let line = `${r.ordinal}\t${r.ewkb}`;
          for (let i = 0; i < widths; i++) line += `\t${copyField(r.texts[i] ?? null)}`;
          return `${line}\n`;
        }
      : (r: Row) => {
          let line = `${r.row}\t${r.ordinal}\t${r.ewkb}`;
          if (jsonMode) line += `\t${jsonField(r.props)}`;
          else for (const t of r.texts) line += `\t${copyField(t)}`;
          return `${line}\n`;
        };

    const stream = client.query(copyFrom(`COPY ${target} FROM STDIN`));
    copy = stream;
    const copied = new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
    });
    copied.catch(() => {}); // surfaced below
    let batch = '';
    /** Add a row; true when the batch is full and must be flushed. */
    const add = (r: Row): boolean => {
      batch += render(r);
      result.staged++;
      return batch.length >= BATCH;
    };
    const flush = async () => {
      if (!stream.write(batch)) await Promise.race([once(stream, 'drain'), copied]);
      batch = '';
    };
    for (const r of sample) if (add(r)) await flush();
    sample.length = 0;
    while (at < current.length || (await refill())) {
      const row = advance();
      if (!row) continue;
      if (direct && (row.type !== 'Point' || row.hasZ || columns.length !== widths || changes() !== settled))
        throw new DirectLoadMisfit(`row ${row.row} does not fit the table made from the first rows`);
      if (add(row)) await flush();
    }
    stream.end(batch);
    await copied;
  } catch (err) {
    await iterator.return?.();
    if (copy) {
      // A COPY cut short is failed on the server (CopyFail); wait for that before the caller's next statement.
      const ended = new Promise((r) => copy!.once('error', r).once('close', r));
      copy.destroy(err as Error);
      await ended;
    }
    throw err;
  }
  opts.onRow?.(result.read);
  // A GeoJSON may declare its CRS after the features: srs() throws if that contradicts what was assumed.
  if (!opts.srs) source.srs();
  return result;
}

function extentNoter(extents: Map<Family, Extent>): (family: Family, b: Box) => void {
  const [hw, hs, he, hn] = HUAIAN_BOX;
  return (family, b) => {
    let e = extents.get(family);
    if (!e) extents.set(family, (e = { count: 0, bbox: [Infinity, Infinity, -Infinity, -Infinity], inside: 0, outside: 0 }));
    e.count++;
    if (b[0] < e.bbox[0]) e.bbox[0] = b[0];
    if (b[1] < e.bbox[1]) e.bbox[1] = b[1];
    if (b[2] > e.bbox[2]) e.bbox[2] = b[2];
    if (b[3] > e.bbox[3]) e.bbox[3] = b[3];
    if (b[0] >= hw && b[1] >= hs && b[2] <= he && b[3] <= hn) e.inside++;
    else if (b[2] < hw || b[0] > he || b[3] < hs || b[1] > hn) e.outside++;
  };
}

function sampleBox(extents: Map<Family, Extent>): Box | null {
  const boxes = [...extents.values()].map((e) => e.bbox);
  if (!boxes.length) return null;
  return [Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1])), Math.max(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3]))];
}

function firstPosition(g: FeatureRecord['geometry']): [number, number] {
  let c: unknown = g && 'coordinates' in g ? g.coordinates : g && 'geometries' in g ? (g.geometries[0] as { coordinates?: unknown })?.coordinates : null;
  while (Array.isArray(c) && Array.isArray(c[0])) c = c[0];
  return Array.isArray(c) ? [Number(c[0]), Number(c[1])] : [NaN, NaN];
}
