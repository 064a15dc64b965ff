import { strToU8, zipSync } from 'fflate';
import pg from 'pg';
import { csvFile } from '../../csv.ts';
import type { QueryRunner } from '../../db/query.ts';
import { HttpError, badRequest } from '../../errors.ts';
import { statementName } from '../../sources/statements.ts';
import { parseCrs, inCrs, type OutputCrs } from '../crs.ts';
import { conditions, Params, type Selection } from '../items-sql.ts';
import { parseProperties, parseSelection } from '../items.ts';
import * as param from '../params.ts';
import { valueTypeOf, type FeatureTable } from '../table.ts';
import { writeGeoPackage } from './geopackage.ts';
import { MixedGeometryError, writeDbf, writeShapes, type Field, type FieldKind } from './shapefile.ts';

const { escapeIdentifier: ident } = pg;

/**
 * GET /collections/{layer}/download: a layer, or the selection bbox/datetime/filter make of it, as one file in
 * WGS84, CGCS2000 or its GK zone: GeoJSON, CSV (WKT geometry, UTF-8 with BOM so Excel reads Chinese), Shapefile
 * (zipped with .prj and .cpg) or GeoPackage. Unlike /items (pages for clients that follow next links), the whole
 * selection is one attachment, up to MAX_DOWNLOAD_FEATURES. Files are written easting / longitude first.
 */
export const MAX_DOWNLOAD_FEATURES = 200_000;
export const FORMATS = ['geojson', 'csv', 'shp', 'gpkg'] as const;
export type Format = (typeof FORMATS)[number];

export const DOWNLOAD_PARAMETERS = ['f', 'crs', 'properties', 'bbox', 'bbox-crs', 'datetime', 'filter', 'filter-lang', 'filter-crs', 'key'];

export interface DownloadRequest {
  format: Format;
  crs: OutputCrs;
  properties: string[];
  selection: Selection;
}

export function parseDownloadRequest(table: FeatureTable, query: Record<string, unknown>): DownloadRequest {
  param.onlyKnown(query, DOWNLOAD_PARAMETERS);
  const f = (param.single(query, 'f') ?? 'geojson').toLowerCase();
  if (!(FORMATS as readonly string[]).includes(f)) throw badRequest('invalid_parameter', `f: one of ${FORMATS.join(', ')}`);
  return { format: f as Format, crs: parseCrs('crs', param.single(query, 'crs')), properties: parseProperties(table, query), selection: parseSelection(table, query) };
}

export interface DownloadFile {
  body: Buffer;
  type: string;
  filename: string;
  count: number;
}

function kindOf(table: FeatureTable, name: string): FieldKind {
  const c = table.info.columns.find((x) => x.name === name)!;
  const v = valueTypeOf(c);
  return v === 'string' || v === 'timestamp' || v === null ? 'text' : v;
}

/** The selection's rows: [id, properties as a JSON array, geometry in the format's encoding]. */
function downloadSql(table: FeatureTable, r: DownloadRequest): { sql: string; params: unknown[] } {
  const p = new Params();
  const where = conditions(table, r.selection, p);
  const g = `ST_Force2D(${inCrs(table.geometry, r.crs, 'east-first')})`;
  const geometry = {
    geojson: `ST_AsGeoJSON(${g}, ${r.crs.digits}, 0)`,
    csv: `ST_AsText(${g}, ${r.crs.digits})`,
    // Shapefile rings: outer clockwise, holes anticlockwise.
    shp: `ST_AsGeoJSON(ST_ForcePolygonCW(${g}), ${r.crs.digits}, 0)`,
    gpkg: `ST_AsBinary(${g}, 'NDR')`,
  }[r.format];
  const values = r.properties.length ? `json_build_array(${r.properties.map((n) => `t.${ident(n)}`).join(', ')})::text` : `'[]'`;
  const sql = `-- download of layer ${table.id} (${r.format}, EPSG:${r.crs.srid})
SELECT ${table.idSql ?? 'NULL::int8'} AS id, ${values} AS "values", ${geometry} AS geometry
FROM ${table.from} AS t
WHERE ${where.length ? where.join('\n  AND ') : 'TRUE'}
ORDER BY ${table.orderKeys.join(', ')}
LIMIT ${p.add(MAX_DOWNLOAD_FEATURES + 1, 'int8')}`;
  return { sql, params: p.values };
}

const SRS_SQL = `SELECT srtext FROM spatial_ref_sys WHERE srid = $1::int4`;

export async function download(table: FeatureTable, r: DownloadRequest, run: QueryRunner, signal?: AbortSignal): Promise<DownloadFile> {
  if (r.properties.length > 100) throw badRequest('invalid_parameter', 'properties: a download holds at most 100 properties; name them with properties=');
  const q = downloadSql(table, r);
  let rows: unknown[][];
  try {
    rows = await run.prepared(statementName(`download:${table.id}`, q.sql), q.sql, q.params, signal);
  } catch (err) {
    if ((err as { code?: string }).code === '57014' && !signal?.aborted)
      throw new HttpError(503, 'query_timeout', `the download of ${table.id} took too long: narrow it with bbox or filter`).expose();
    throw err;
  }
  if (rows.length > MAX_DOWNLOAD_FEATURES)
    throw new HttpError(413, 'too_many_features', `the selection holds more than ${MAX_DOWNLOAD_FEATURES} features: narrow it with bbox or filter`).expose();
  const fields: Field[] = r.properties.map((name) => ({ name, kind: kindOf(table, name) }));
  const features = rows.map(([id, values, geometry]) => ({
    id: id === null ? null : Number(id),
    values: JSON.parse(values as string) as unknown[],
    geometry,
  }));
  const base = `${table.id}${r.crs.srid === 4326 ? '' : `_${r.crs.srid}`}`;
  const count = features.length;

  switch (r.format) {
    case 'geojson': {
      const crsMember = r.crs.srid === 4326 ? '' : `"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::${r.crs.srid}"}},`;
      const items = features.map((f) => {
        const props = JSON.stringify(Object.fromEntries(fields.map((x, i) => [x.name, f.values[i] ?? null])));
        return `{"type":"Feature"${f.id === null ? '' : `,"id":${f.id}`},"geometry":${(f.geometry as string | null) ?? 'null'},"properties":${props}}`;
      });
      const text = `{"type":"FeatureCollection","name":${JSON.stringify(table.id)},${crsMember}"features":[\n${items.join(',\n')}\n]}\n`;
      return { body: Buffer.from(text), type: 'application/geo+json', filename: `${base}.geojson`, count };
    }
    case 'csv': {
      const header = [...fields.map((x) => x.name), 'WKT'];
      const text = csvFile(header, features.map((f) => [...f.values, f.geometry]));
      return { body: Buffer.from(text), type: 'text/csv; charset=utf-8', filename: `${base}.csv`, count };
    }
    case 'shp': {
      const geometries = features.map((f) => (f.geometry === null ? null : (JSON.parse(f.geometry as string) as GeoJSON.Geometry)));
      let shapes: { shp: Buffer; shx: Buffer };
      try {
        shapes = writeShapes(geometries);
      } catch (err) {
        if (err instanceof MixedGeometryError) throw badRequest('mixed_geometry', `${err.message}: download it as gpkg or geojson, or filter it to one type`);
        throw err;
      }
      const dbf = writeDbf(fields, features.map((f) => f.values));
      const prj = await srsWkt(r.crs.srid, run, signal);
      const zip = zipSync({
        [`${base}.shp`]: shapes.shp,
        [`${base}.shx`]: shapes.shx,
        [`${base}.dbf`]: dbf,
        [`${base}.prj`]: strToU8(prj),
        [`${base}.cpg`]: strToU8('UTF-8'),
      });
      return { body: Buffer.from(zip), type: 'application/zip', filename: `${base}.zip`, count };
    }
    case 'gpkg': {
      const body = await writeGeoPackage({
        table: table.id,
        title: table.meta.title.zh,
        geometryType: /^(MULTI)?(POINT|LINESTRING|POLYGON)$/.test(table.meta.geometryType) ? table.meta.geometryType : 'GEOMETRY',
        srid: r.crs.srid,
        srsName: r.crs.label,
        srsWkt: await srsWkt(r.crs.srid, run, signal),
        fields,
        rows: features.map((f) => ({ id: f.id, values: f.values, wkb: f.geometry as Buffer | null })),
        bbox: null,
      });
      return { body, type: 'application/geopackage+sqlite3', filename: `${base}.gpkg`, count };
    }
  }
}

async function srsWkt(srid: number, run: QueryRunner, signal?: AbortSignal): Promise<string> {
  const [row] = await run.prepared('download:srs', SRS_SQL, [srid], signal);
  return String(row?.[0] ?? '');
}

