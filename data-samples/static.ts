import { readFile } from 'node:fs/promises';
import type pg from 'pg';
import type { Logger } from 'pino';

/**
 * The real data of the samples: files in this folder (see README.md for sources and licences). Each is one
 * statement that reads the file inside PostgreSQL ($1 = the file's text): the files are small and the database
 * does the parsing. Geometries are made valid on the way in; nothing else is changed.
 */
interface Dataset {
  file: string;
  table: string;
  insert: string;
}

export const staticDatasets: readonly Dataset[] = [
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
  {
    // Derived through the import pipeline from the Amap (GCJ-02) boundaries: see derive/districts.ts.
    file: 'huaian_districts.geojson',
    table: 'basemap.districts',
    insert: `
      INSERT INTO basemap.districts (id, adcode, name, geom)
      SELECT (f->'properties'->>'adcode')::int, f->'properties'->>'adcode', f->'properties'->>'name',
             ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(f->'geometry'), 4326)), 3))
      FROM json_array_elements($1::json->'features') AS f`,
  },
  {
    file: 'ne_lakes_huaian.geojson',
    table: 'basemap.water',
    insert: `
      INSERT INTO basemap.water (id, name, name_zh, kind, geom)
      SELECT n, f->'properties'->>'name', f->'properties'->>'name_zh', 'lake',
             ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(f->'geometry'), 4326)), 3))
      FROM json_array_elements($1::json->'features') WITH ORDINALITY AS e(f, n)`,
  },
  {
    file: 'ne_rivers_huaian.geojson',
    table: 'basemap.rivers',
    insert: `
      INSERT INTO basemap.rivers (id, name, name_zh, kind, geom)
      SELECT n, f->'properties'->>'name', f->'properties'->>'name_zh',
             CASE f->'properties'->>'featurecla' WHEN 'Lake Centerline' THEN '湖中航道' ELSE '河流' END,
             ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(f->'geometry'), 4326))
      FROM json_array_elements($1::json->'features') WITH ORDINALITY AS e(f, n)`,
  },
  {
    // Huai'an's national air stations (CNEMC codes); see README.md for what is and is not verified.
    file: 'air_stations_huaian.csv',
    table: 'environment.air_stations',
    insert: `
      INSERT INTO environment.air_stations (code, name, kind, district_code, geom)
      SELECT f[1], f[2], f[3], (SELECT adcode FROM basemap.districts d WHERE ST_Intersects(d.geom, p)), p
      FROM (SELECT string_to_array(line, ',') AS f
            FROM regexp_split_to_table($1, E'\\r?\\n') WITH ORDINALITY AS l(line, n) WHERE n > 1 AND line <> '') AS csv,
      LATERAL (SELECT ST_SetSRID(ST_Point(f[4]::float8, f[5]::float8), 4326) AS p) pt
      ORDER BY f[1]`,
  },
];

/** Load the real datasets in order (districts before the stations that look up their district). */
export async function loadStatic(client: pg.ClientBase, log: Logger): Promise<void> {
  for (const d of staticDatasets) {
    const text = await readFile(new URL(d.file, import.meta.url), 'utf8');
    const res = await client.query(d.insert, [text]);
    log.info({ table: d.table, rows: res.rowCount }, 'sample data loaded');
  }
}
