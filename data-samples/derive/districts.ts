import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { importFile } from '../../import/index.ts';
import { migrate } from '../../tile-server/src/db/migrate.ts';

/** Huai'an's districts and counties (GB/T 2260). */
export const HUAIAN_DISTRICTS = ['320803', '320804', '320812', '320813', '320826', '320830', '320831'] as const;
const LAYER = 'derive_jiangsu_districts';

/**
 * data-samples/huaian_districts.geojson, made the way a department's file gets in: the Amap boundaries of
 * Jiangsu (GCJ-02 coordinates, a UTF-8 DBF that declares no encoding) go through the import pipeline with
 * `srs: gcj02` and `encoding: utf-8`, which converts them to WGS84; Huai'an's 7 districts are then written out
 * with their code and name, coordinates rounded to 6 decimals (about 0.1 m). The import runs in a throwaway
 * database, so the platform's own database is not touched.
 */
export async function deriveDistricts(databaseUrl: string, sharedData: string, outDir: string, log: Logger): Promise<string> {
  const shp = path.join(sharedData, 'boundaries', 'jiangsu_districts_gcj02', 'jiangsu_district.shp');
  const name = `citybase_derive_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  // The throwaway database is dropped WITH (FORCE): a connection still open then is ended by the server.
  pool.on('error', () => {});
  try {
    await pool.query('CREATE EXTENSION IF NOT EXISTS postgis');
    await migrate(pool, log);
    const summary = await importFile({ pool, file: shp, layer: LAYER, srs: 'gcj02', encoding: 'utf-8', owner: 'zrzy', theme: 'basemap' });
    log.info({ imported: summary.imported, source_srs: summary.source_srs, encoding: summary.encoding }, 'district boundaries imported');
    const { rows } = await pool.query<{ feature: unknown }>(
      `SELECT json_build_object(
                'type', 'Feature',
                'properties', json_build_object('adcode', adcode, 'name', name),
                'geometry', ST_AsGeoJSON(geom, 6)::json) AS feature
       FROM imports.${pg.escapeIdentifier(LAYER)}
       WHERE adcode = ANY ($1)
       ORDER BY adcode`,
      [HUAIAN_DISTRICTS],
    );
    if (rows.length !== HUAIAN_DISTRICTS.length)
      throw new Error(`expected ${HUAIAN_DISTRICTS.length} districts of Huai'an in ${shp}, found ${rows.length}`);
    const file = 'huaian_districts.geojson';
    await writeFile(
      path.join(outDir, file),
      `${JSON.stringify({ type: 'FeatureCollection', features: rows.map((r) => r.feature) })}\n`,
    );
    return file;
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await admin.end();
  }
}
