import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { parseSrsOption, type SourceSrs } from './crs/srs.ts';
import { withImportConnection } from './connection.ts';
import { ImportError } from './errors.ts';
import { openSource } from './formats/open.ts';
import { findSidecar } from './formats/sidecar.ts';
import { checkLayerId, storedDefinition } from './load/definition.ts';
import { publish } from './load/publish.ts';
import { DirectLoadMisfit, stage, type StageResult } from './load/stage.ts';
import { HUAIAN_BOX } from './load/sql.ts';
import type { FeatureSource } from './formats/source.ts';
import { resolveOptions, type ImportOptions, type ImportProgress, type ImportSummary, type ResolvedOptions } from './options.ts';

/**
 * One file → one layer (or one per geometry type, when split), atomically: everything from the staging table to
 * the table swap and the stored definition happens in a single transaction, under an advisory lock on the layer
 * id (one import per layer at a time, across processes). A bad file, a killed process or a database restart at
 * any point leaves the layer exactly as it was; on success the tile caches hear of it at commit.
 */
export interface RunOptions {
  pool: pg.Pool;
  onProgress?: ((p: ImportProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export async function importLayer(options: ImportOptions & RunOptions): Promise<ImportSummary> {
  const started = performance.now();
  const { pool, onProgress, signal, ...raw } = options;
  const opts = resolveOptions(raw);
  if (opts.vehicle) throw new ImportError('this file is a vehicle track (--vehicle): use importVehicleFile', 'bad_option');
  const layer = opts.layer;
  if (!layer) throw new ImportError('--layer is required (the id of the layer to create or update)', 'bad_option');
  const input = { path: opts.file, name: opts.fileName ?? path.basename(opts.file) };
  const srs = opts.srs ? parseSrsOption(opts.srs) : null;

  // The file is opened (and its CRS matched) before any lock is taken: a file that cannot be read changes nothing.
  const opened = await openSource(input, { ...opts, maxUnzippedBytes: opts.maxUnzippedMB * 2 ** 20 }, pool);
  try {
    const run: Run = { opts: { ...opts, layer }, input, source: opened.source, srs, started, signal, onProgress };
    return await withImportConnection(pool, (client) => importInTransaction(client, run));
  } finally {
    await opened.close();
  }
}

interface Run {
  opts: ResolvedOptions & { layer: string };
  input: { path: string; name: string };
  source: FeatureSource;
  srs: SourceSrs | null;
  started: number;
  signal: AbortSignal | undefined;
  onProgress: RunOptions['onProgress'];
}

/** Lock, read into the staging table, publish, log, commit: one transaction. */
async function importInTransaction(client: pg.PoolClient, run: Run): Promise<ImportSummary> {
  const { opts, input, source } = run;
  const layer = opts.layer;
  const progress = (phase: ImportProgress['phase'], rows: number) =>
    run.onProgress?.({ phase, rows, bytes: source.bytesRead(), totalBytes: source.totalBytes });
  await client.query('BEGIN');
  // The pool's statement_timeout is meant for tiles; an import may take minutes. Times without a zone are UTC.
  await client.query(`SET LOCAL statement_timeout = 0; SET LOCAL client_min_messages = warning; SET LOCAL maintenance_work_mem = '256MB'; SET LOCAL TimeZone = 'UTC'`);
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('citybase.import:' || $1::text))`, [layer]);
  await checkLayerId(client, layer, opts, await storedDefinition(client, layer));
  // The file's hash goes into the import log; an append needs it first (the same file is appended once).
  const hashing = fileFingerprint(input.path);
  hashing.catch(() => {});
  if (opts.mode === 'append' && (await appendedBefore(client, layer, await hashing))) {
    await client.query('ROLLBACK');
    return unchangedSummary(layer, opts.mode, source.format, run.started);
  }

  progress('reading', 0);
  const stageOnce = (directTable: string | null) => stage(client, source, { srs: run.srs, directTable, signal: run.signal, onRow: (n) => progress('reading', n) });
  // A replace may write straight into the new table; if the file turns out not to suit that, start again staged.
  await client.query('SAVEPOINT before_load');
  let staged: StageResult;
  try {
    staged = await stageOnce(opts.mode === 'replace' ? `_new_${randomBytes(6).toString('hex')}` : null);
  } catch (err) {
    if (!(err instanceof DirectLoadMisfit)) throw err;
    await client.query('ROLLBACK TO SAVEPOINT before_load');
    staged = await stageOnce(null);
  }
  if (staged.staged === 0) throw nothingUsable(input.name, staged.read, staged.rejected);
  progress('loading', staged.read);
  const published = await publish(client, staged, opts, input.name);
  const rejected = [...staged.rejected, ...published.emptied.map((row) => ({ row, reason: 'invalid geometry that is empty once repaired (ST_MakeValid)' }))].sort((a, b) => a.row - b.row);
  const rejectedTotal = staged.rejectedTotal + published.emptied.length;
  const imported = published.parts.reduce((n, p) => n + p.imported, 0);
  if (imported === 0) throw nothingUsable(input.name, staged.read, rejected);
  if (opts.maxRejected !== undefined && rejectedTotal > opts.maxRejected)
    throw new ImportError(`${rejectedTotal} rows were rejected, more than the ${opts.maxRejected} allowed (first: row ${rejected[0]?.row}: ${rejected[0]?.reason}); nothing was imported`);
  const main = published.parts[0]!;
  const summary: ImportSummary = {
    layer: main.layer,
    table: main.table,
    mode: opts.mode,
    format: source.format,
    sublayer: source.sublayer,
    read: staged.read,
    imported,
    rejected: rejectedTotal,
    repaired: published.repaired + staged.fixed,
    srid: 4326,
    bbox: union(published.parts.map((p) => p.bbox)),
    encoding: source.encoding,
    source_srs: describeSrs(staged.srs),
    geometry_type: published.parts.map((p) => p.geometryType).join(', '),
    // A source name may hold NUL (a hostile GeoJSON key), which jsonb cannot store.
    columns: staged.columns.map((c) => ({ name: c.name, type: c.type, source: c.source.replace(/\u0000/g, '') })),
    warnings: [
      ...warnings(source.warnings, staged, published.parts, imported),
      ...(published.parts.length > 1 && !opts.geometry
        ? [`the file mixes geometry kinds: split into one layer per kind (${published.parts.map((p) => `${p.layer}: ${p.imported} ${p.geometryType}`).join(', ')}); --geometry mixed keeps one layer`]
        : []),
    ],
    seconds: 0,
    ...(published.parts.length > 1
      ? { layers: published.parts.map((p) => ({ layer: p.layer, table: p.table, imported: p.imported, geometry_type: p.geometryType })) }
      : {}),
    rejected_rows: rejected,
  };
  progress('publishing', staged.read);
  await client.query(`INSERT INTO citybase.import_log (layer, mode, sha256, file_name, summary) VALUES ($1, $2, $3, $4, $5)`, [
    layer,
    opts.mode,
    await hashing,
    input.name,
    JSON.stringify({ ...summary, rejected_rows: undefined }),
  ]);
  await client.query('COMMIT');
  summary.seconds = round((performance.now() - run.started) / 1000, 3);
  progress('done', staged.read);
  return summary;
}

function nothingUsable(file: string, read: number, rejected: Array<{ row: number; reason: string }>): ImportError {
  if (read === 0) return new ImportError(`${file} holds no features`);
  const first = rejected.slice(0, 3).map((r) => `row ${r.row}: ${r.reason}`).join('; ');
  return new ImportError(`no row of ${file} could be imported (${read} read, all rejected; ${first})`);
}

/** SHA-256 of the file (and a shapefile's .dbf): an append of the very same data is done once. */
async function fileFingerprint(file: string): Promise<string> {
  const hash = createHash('sha256');
  const files = [file, ...(file.toLowerCase().endsWith('.shp') ? [findSidecar(file, '.dbf')] : [])].filter((f): f is string => !!f);
  for (const f of files) for await (const chunk of fs.createReadStream(f)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function appendedBefore(client: pg.ClientBase, layer: string, sha: string): Promise<boolean> {
  const { rows } = await client.query(
    `SELECT 1 FROM citybase.import_log l
     WHERE l.layer = $1 AND l.sha256 = $2
       AND l.imported_at >= coalesce((SELECT max(imported_at) FROM citybase.import_log WHERE layer = $1 AND mode = 'replace'), '-infinity')
       AND EXISTS (SELECT 1 FROM citybase.layer_definitions WHERE id = $1)`,
    [layer, sha],
  );
  return rows.length > 0;
}

function unchangedSummary(layer: string, mode: 'replace' | 'append', format: string, started: number): ImportSummary {
  return {
    layer,
    table: `imports.${layer}`,
    mode,
    format,
    sublayer: null,
    read: 0,
    imported: 0,
    rejected: 0,
    repaired: 0,
    srid: 4326,
    bbox: null,
    encoding: null,
    source_srs: '',
    geometry_type: '',
    columns: [],
    warnings: [`this file was already appended to layer "${layer}"; nothing was done (replace the layer to load it again)`],
    seconds: round((performance.now() - started) / 1000, 3),
    unchanged: true,
    rejected_rows: [],
  };
}

export function describeSrs(s: SourceSrs): string {
  if (s.origin === 'assumed') return `${s.label} (assumed: the file declares no coordinate system)`;
  if (s.origin === 'option') return `${s.label} (--srs)`;
  return s.detail ? `${s.label} (${s.detail})` : s.label;
}

function warnings(
  fromSource: string[],
  staged: { droppedM: boolean; fixed: number; srs: SourceSrs; columns: Array<{ name: string; nulValues: number }> },
  parts: Array<{ layer: string; imported: number; inside: number; outside: number }>,
  imported: number,
): string[] {
  const out = [...fromSource];
  if (staged.droppedM) out.push('M (measure) values were dropped: the platform stores x, y and z');
  const nul = staged.columns.filter((c) => c.nulValues > 0);
  if (nul.length)
    out.push(
      `${nul.reduce((n, c) => n + c.nulValues, 0)} values held NUL characters, which PostgreSQL cannot store: they were removed (${nul.map((c) => `${c.name}: ${c.nulValues}`).join(', ')})`,
    );
  if (staged.fixed) out.push(`${staged.fixed} geometries had unclosed rings or degenerate parts, fixed while reading`);
  const outside = parts.reduce((n, p) => n + p.outside, 0);
  const inside = parts.reduce((n, p) => n + p.inside, 0);
  // A layer that lies (almost) all in Huai'an is a Huai'an layer: its stray features are probably mistakes.
  if (outside > 0 && inside >= imported * 0.8)
    out.push(`${outside} of ${imported} features lie outside Huai'an (淮安, ${HUAIAN_BOX.join(', ')}): check their coordinates`);
  return out;
}

function union(boxes: Array<[number, number, number, number] | null>): [number, number, number, number] | null {
  const b = boxes.filter((x): x is [number, number, number, number] => x !== null);
  if (!b.length) return null;
  return [Math.min(...b.map((x) => x[0])), Math.min(...b.map((x) => x[1])), Math.max(...b.map((x) => x[2])), Math.max(...b.map((x) => x[3]))].map((v) => round(v, 7)) as [number, number, number, number];
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
