import { readFile } from 'node:fs/promises';
import type pg from 'pg';
import type { Logger } from 'pino';

/**
 * The sample data loaded into an empty platform on first start. Each dataset is one file and one INSERT that
 * reads the GeoJSON inside PostgreSQL (json_array_elements + ST_GeomFromGeoJSON): the files are small, and the
 * database does the parsing. Everything goes in one transaction: a failure leaves no half-loaded samples.
 */
interface Dataset {
  file: string;
  table: string;
  insert: string; // $1 = the file's text
}

const datasets: Dataset[] = [
  {
    file: 'huaian_prefecture.geojson',
    table: 'basemap.prefecture',
    insert: `
      INSERT INTO basemap.prefecture (id, name, adcode, geom)
      SELECT (f->'properties'->>'区划码')::int, f->'properties'->>'地名', f->'properties'->>'区划码',
             ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(f->'geometry'), 4326))
      FROM json_array_elements($1::json->'features') AS f`,
  },
  {
    file: 'ne_places_huaian_region.geojson',
    table: 'basemap.places',
    insert: `
      INSERT INTO basemap.places (id, name, name_zh, kind, rank, pop_max, geom)
      SELECT n, f->'properties'->>'NAME', f->'properties'->>'NAME_ZH',
             f->'properties'->>'FEATURECLA', (f->'properties'->>'SCALERANK')::int, (f->'properties'->>'POP_MAX')::int,
             ST_SetSRID(ST_GeomFromGeoJSON(f->'geometry'), 4326)
      FROM json_array_elements($1::json->'features') WITH ORDINALITY AS e(f, n)`,
  },
];

const STATE_KEY = 'samples_loaded';

/** Load the samples unless they were loaded before (or the platform already holds data). Returns whether it did. */
export async function loadSamplesOnce(pool: pg.Pool, log: Logger): Promise<boolean> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Two servers starting at once must not both load.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('citybase.samples'))`);
    const done = await client.query(`SELECT 1 FROM citybase.state WHERE key = $1`, [STATE_KEY]);
    if (done.rowCount) {
      await client.query('ROLLBACK');
      return false;
    }
    for (const d of datasets) {
      const text = await readFile(new URL(d.file, import.meta.url), 'utf8');
      const res = await client.query(d.insert, [text]);
      log.info({ table: d.table, rows: res.rowCount }, 'sample data loaded');
    }
    await client.query(`INSERT INTO citybase.state (key, value) VALUES ($1, to_jsonb(now()))`, [STATE_KEY]);
    await client.query('COMMIT');
    return true;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw new Error(`loading data-samples failed: ${(err as Error).message}`);
  } finally {
    client.release();
  }
}
