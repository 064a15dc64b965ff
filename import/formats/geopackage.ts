import fs from 'node:fs';
import initSqlJs, { type Database } from 'sql.js';
import type { ColumnType } from '../columns.ts';
import { epsg, type SourceSrs } from '../crs/srs.ts';
import { ImportError } from '../errors.ts';
import { readGpkgBlob, WkbError } from '../geometry/wkb.ts';
import { toXYZ } from '../geometry/xyz.ts';
import type { FeatureRecord, FeatureSource, InputFile } from './source.ts';

/**
 * GeoPackage (OGC 12-128r18) through sql.js, SQLite compiled to WebAssembly: no native build. One feature table
 * per import: the only one, or the one named with --sublayer. Its SRS comes from gpkg_spatial_ref_sys (e.g.
 * rivers.gpkg is EPSG:3857). sql.js holds the database in memory, so the file's size bounds memory use.
 */
let sqlJs: Promise<Awaited<ReturnType<typeof initSqlJs>>> | null = null;

export async function openGeoPackage(input: InputFile, opts: { sublayer?: string | undefined }): Promise<FeatureSource> {
  const file = input.name;
  const bytes = fs.readFileSync(input.path);
  if (bytes.length === 0) throw new ImportError(`${file} is empty (0 bytes)`);
  if (bytes.subarray(0, 16).toString('latin1') !== 'SQLite format 3\0') throw new ImportError(`${file} is not a GeoPackage (not an SQLite database)`);
  sqlJs ??= initSqlJs();
  let db: Database;
  try {
    db = new (await sqlJs).Database(bytes);
  } catch (err) {
    throw new ImportError(`${file} cannot be opened as a GeoPackage: ${(err as Error).message}`);
  }
  try {
    const tables = query(db, file, `SELECT c.table_name, g.column_name, g.srs_id FROM gpkg_contents c JOIN gpkg_geometry_columns g ON g.table_name = c.table_name WHERE c.data_type = 'features' ORDER BY c.table_name`);
    if (tables.length === 0) throw new ImportError(`${file} has no feature tables`);
    const counts = tables.map((t) => `${t[0]} (${query(db, file, `SELECT count(*) FROM "${String(t[0]).replace(/"/g, '""')}"`)[0]![0]} features)`);
    let chosen = tables[0]!;
    if (opts.sublayer) {
      const hit = tables.find((t) => String(t[0]).toLowerCase() === opts.sublayer!.toLowerCase());
      if (!hit) throw new ImportError(`${file} has no feature table "${opts.sublayer}"; its feature tables: ${counts.join(', ')}`, 'bad_option');
      chosen = hit;
    } else if (tables.length > 1)
      throw new ImportError(`${file} has ${tables.length} feature tables: ${counts.join(', ')}; choose one with --sublayer`, 'bad_option');
    const [table, geomColumn, srsId] = [String(chosen[0]), String(chosen[1]), Number(chosen[2])];
    const quoted = `"${table.replace(/"/g, '""')}"`;
    const info = query(db, file, `PRAGMA table_info(${quoted})`);
    const attrs = info.filter((c) => c[1] !== geomColumn && !/BLOB/i.test(String(c[2])));
    const fields = attrs.map((c) => ({ name: String(c[1]), type: sqliteType(String(c[2])) }));
    const srs = srsOf(db, file, srsId);
    const total = Number(query(db, file, `SELECT count(*) FROM ${quoted}`)[0]![0]);
    let read = 0;
    const select = `SELECT "${geomColumn.replace(/"/g, '""')}", ${attrs.map((c) => `"${String(c[1]).replace(/"/g, '""')}"`).join(', ') || 'NULL'} FROM ${quoted} ORDER BY rowid`;

    return {
      format: 'geopackage',
      encoding: null,
      fields,
      ordinates: 'auto',
      sublayer: table,
      warnings: [],
      totalBytes: bytes.length,
      srs: () => srs,
      bytesRead: () => (total ? Math.round((bytes.length * read) / total) : 0),
      async close() {
        db.close();
      },
      async *batches(): AsyncGenerator<FeatureRecord[]> {
        const stmt = db.prepare(select);
        read = 0;
        let batch: FeatureRecord[] = [];
        try {
          while (stmt.step()) {
            if (batch.length >= 1000) {
              yield batch;
              batch = [];
            }
            const [blob, ...values] = stmt.get();
            const row = ++read;
            const vals = values.map((v, i) => (fields[i]!.type === 'boolean' && typeof v === 'number' ? v !== 0 : v));
            if (!(blob instanceof Uint8Array)) {
              batch.push({ row, geometry: null, values: vals, problem: blob === null ? 'no geometry' : 'the geometry is not a GeoPackage blob' });
              continue;
            }
            try {
              const g = readGpkgBlob(blob);
              if (!g) batch.push({ row, geometry: null, values: vals, problem: 'empty geometry' });
              else batch.push({ row, geometry: toXYZ(g.geometry, g.ordinates), values: vals });
            } catch (err) {
              if (!(err instanceof WkbError)) throw err;
              batch.push({ row, geometry: null, values: vals, problem: `geometry blob is damaged: ${err.message}` });
            }
          }
          if (batch.length) yield batch;
        } finally {
          stmt.free();
        }
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}

function query(db: Database, file: string, sql: string): unknown[][] {
  try {
    return db.exec(sql)[0]?.values ?? [];
  } catch (err) {
    throw new ImportError(`${file} is not a readable GeoPackage: ${(err as Error).message}`);
  }
}

function srsOf(db: Database, file: string, srsId: number): SourceSrs | null {
  const r = query(db, file, `SELECT organization, organization_coordsys_id FROM gpkg_spatial_ref_sys WHERE srs_id = ${Math.trunc(srsId)}`)[0];
  if (!r || srsId <= 0) return null; // 0 and -1: "undefined" geographic / cartesian
  if (String(r[0]).toUpperCase() !== 'EPSG') throw new ImportError(`${file} uses SRS ${String(r[0])}:${String(r[1])}; pass --srs EPSG:<code>`, 'unknown_crs');
  return epsg(Number(r[1]), 'file', `${file} gpkg_spatial_ref_sys ${srsId}`);
}

/** SQLite declared types (GeoPackage §1.1.1.1.3) → column types; values may still widen them. */
function sqliteType(declared: string): ColumnType | undefined {
  const t = declared.toUpperCase();
  if (/INT/.test(t)) return 'integer';
  if (/REAL|FLOAT|DOUBLE/.test(t)) return 'double precision';
  if (t === 'BOOLEAN') return 'boolean';
  if (t === 'DATE') return 'date';
  if (t === 'DATETIME') return 'timestamptz';
  return 'text';
}
