import initSqlJs from 'sql.js';
import type { Field } from './shapefile.ts';

/**
 * An OGC GeoPackage 1.2 of one feature table, made with sql.js (SQLite compiled to WebAssembly): the required
 * metadata tables, the CRS's WKT, and each geometry as a GeoPackage blob (the `GP` header, then the WKB PostGIS
 * wrote). Columns keep their types: INTEGER, REAL, BOOLEAN, DATE, TEXT.
 */
const SQL_TYPES: Record<Field['kind'], string> = { integer: 'INTEGER', number: 'REAL', boolean: 'BOOLEAN', date: 'DATE', text: 'TEXT' };

let sqlJs: ReturnType<typeof initSqlJs> | undefined;

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The GeoPackage geometry blob: magic, version 0, flags (little endian, no envelope), srs id, WKB. */
function blob(wkb: Buffer | null, srsId: number): Uint8Array | null {
  if (!wkb) return null;
  const head = Buffer.alloc(8);
  head.write('GP', 0, 'latin1');
  head.writeUInt8(0, 2);
  head.writeUInt8(0x01, 3);
  head.writeInt32LE(srsId, 4);
  return Buffer.concat([head, wkb]);
}

export interface GeoPackageInput {
  table: string;
  title: string;
  /** OGC geometry type name: POINT, MULTIPOLYGON, GEOMETRY … */
  geometryType: string;
  srid: number;
  srsName: string;
  /** The CRS as WKT (PostGIS's spatial_ref_sys.srtext). */
  srsWkt: string;
  fields: readonly Field[];
  rows: ReadonlyArray<{ id: number | null; values: readonly unknown[]; wkb: Buffer | null }>;
  bbox: [number, number, number, number] | null;
}

export async function writeGeoPackage(input: GeoPackageInput): Promise<Buffer> {
  const SQL = await (sqlJs ??= initSqlJs());
  const db = new SQL.Database();
  try {
    db.run(`PRAGMA application_id = 1196444487; PRAGMA user_version = 10200;`);
    db.run(`CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
      organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)`);
    db.run(`INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', NULL),
      ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', NULL)`);
    db.run(`INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, 'EPSG', ?, ?, NULL)`, [input.srsName, input.srid, input.srid, input.srsWkt]);
    db.run(`CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
      description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER REFERENCES gpkg_spatial_ref_sys (srs_id))`);
    db.run(`CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
      srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, PRIMARY KEY (table_name, column_name),
      FOREIGN KEY (table_name) REFERENCES gpkg_contents (table_name), FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))`);
    const [w, s, e, n] = input.bbox ?? [null, null, null, null];
    db.run(`INSERT INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, max_x, max_y, srs_id) VALUES (?, 'features', ?, ?, ?, ?, ?, ?)`, [
      input.table, input.title, w, s, e, n, input.srid,
    ]);
    db.run(`INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)`, [input.table, input.geometryType, input.srid]);
    const columns = input.fields.map((f) => `${quote(f.name)} ${SQL_TYPES[f.kind]}`);
    db.run(`CREATE TABLE ${quote(input.table)} (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom ${input.geometryType}${columns.map((c) => `, ${c}`).join('')})`);
    const insert = db.prepare(
      `INSERT INTO ${quote(input.table)} (fid, geom${input.fields.map((f) => `, ${quote(f.name)}`).join('')}) VALUES (?, ?${input.fields.map(() => ', ?').join('')})`,
    );
    db.run('BEGIN');
    for (const r of input.rows) {
      const values = r.values.map((v, i) =>
        v === null || v === undefined ? null : input.fields[i]!.kind === 'boolean' ? (v ? 1 : 0) : typeof v === 'object' ? JSON.stringify(v) : (v as string | number),
      );
      insert.run([r.id, blob(r.wkb, input.srid), ...values]);
    }
    db.run('COMMIT');
    insert.free();
    return Buffer.from(db.export());
  } finally {
    db.close();
  }
}
