import { parseSrsOption } from './crs/srs.ts';
import type { Queryable } from './db.ts';
import { normaliseEncoding } from './encoding.ts';
import { ImportError } from './errors.ts';
import { resolveOptions, type ImportOptions } from './options.ts';

/**
 * Every option of an import checked before the import is accepted (the HTTP API answers 400 instead of 202 and a
 * job that fails later): the schema (ids, enums, numbers, the time zone), --srs understood and known to PostGIS
 * (degrees for a vehicle log), --encoding known. What only the file can tell (a --sublayer, --lon/--lat columns)
 * is checked when it is read.
 */
export async function checkImportOptions(options: ImportOptions, sql: Queryable): Promise<void> {
  const o = resolveOptions(options);
  if (o.encoding !== undefined) normaliseEncoding(o.encoding, 'encoding');
  if (o.srs !== undefined) {
    const srs = parseSrsOption(o.srs);
    if (o.vehicle && srs.srid !== 4326) throw new ImportError(`vehicle tracks are read in degrees (WGS84, gcj02 or bd09), not ${srs.label}`, 'bad_option');
    const { rows } = await sql.query(`SELECT 1 FROM spatial_ref_sys WHERE srid = $1`, [srs.srid]);
    if (rows.length === 0) throw new ImportError(`srs ${srs.label} is not a coordinate system PostGIS knows (spatial_ref_sys)`, 'bad_option');
  }
}
