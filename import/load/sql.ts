import type { Column, ColumnType } from '../columns.ts';
import { ident, type Queryable } from '../db.ts';

/**
 * The import's SQL, in one place. Identifiers come from the layer id (validated) and from column names made
 * safe by columnName(), always quoted with ident(); values are bind parameters.
 */
export const IMPORT_SCHEMA = 'imports';
export const STAGE_TABLE = 'import_stage';
const REPAIRED_TABLE = 'import_repaired';

/** Huai'an's extent (from ../shared/data/boundaries/huaian_320800_prefecture_wgs84.geojson) widened by ~5 km. */
export const HUAIAN_BOX = [118.15, 32.67, 119.69, 34.14] as const;

export function stageTableSql(textColumns: number | null): string {
  const attrs = textColumns === null ? ['props jsonb'] : Array.from({ length: textColumns }, (_, i) => `c${i + 1} text`);
  // Temporary: no WAL, gone at commit or when the connection dies.
  return `CREATE TEMP TABLE ${STAGE_TABLE} (row integer NOT NULL, ord integer NOT NULL, geom geometry NOT NULL, ${attrs.join(', ')}) ON COMMIT DROP`;
}

export async function describeSrid(q: Queryable, srid: number): Promise<{ geographic: boolean } | null> {
  const { rows } = await q.query<{ geographic: boolean }>(
    `SELECT proj4text LIKE '%+proj=longlat%' OR srtext LIKE 'GEOGCS%' AS geographic FROM spatial_ref_sys WHERE srid = $1`,
    [srid],
  );
  return rows[0] ?? null;
}

/** The staged geometry in WGS84. */
export const wgs84 = (srid: number, offset: boolean) => (srid === 4326 || offset ? 's.geom' : 'ST_Transform(s.geom, 4326)');

/**
 * Invalid geometries, repaired: ST_MakeValid, keeping each geometry in its own family (a self-intersecting
 * polygon stays polygonal; what collapses to nothing is rejected by the caller with its row number).
 */
export function repairSql(geom: string): string {
  return `
CREATE TEMP TABLE ${REPAIRED_TABLE} ON COMMIT DROP AS
SELECT s.ord, s.row,
       CASE WHEN GeometryType(g) IN ('POLYGON', 'MULTIPOLYGON') THEN ST_CollectionExtract(ST_MakeValid(g), 3)
            WHEN GeometryType(g) IN ('LINESTRING', 'MULTILINESTRING') THEN ST_CollectionExtract(ST_MakeValid(g), 2)
            ELSE ST_MakeValid(g) END AS geom
FROM (SELECT s.ord, s.row, ${geom} AS g FROM ${STAGE_TABLE} AS s) AS s
WHERE NOT ST_IsValid(g)`;
}

export const REPAIRED_STATS_SQL = `
SELECT count(*) FILTER (WHERE NOT ST_IsEmpty(geom))::int AS repaired,
       coalesce(array_agg(row ORDER BY row) FILTER (WHERE ST_IsEmpty(geom)), '{}') AS emptied,
       coalesce(array_agg(DISTINCT GeometryType(geom)) FILTER (WHERE NOT ST_IsEmpty(geom)), '{}') AS types
FROM ${REPAIRED_TABLE}`;

export const CASTS: Record<ColumnType, string> = {
  'boolean': '::boolean',
  'integer': '::integer',
  'bigint': '::bigint',
  'double precision': '::double precision',
  'date': '::date',
  'timestamptz': '::timestamptz',
  'text': '',
  'jsonb': '::jsonb',
};

/**
 * A staged attribute as the final column's type: one of ours, or (append) the layer's existing column type as
 * the catalog's format_type() writes it. JSON keys are bind parameters.
 */
export function valueExpr(col: Column, index: number, jsonMode: boolean, type: string, params: unknown[]): string {
  const cast = CASTS[type as ColumnType] ?? `::${type}`;
  if (!jsonMode) return `s.c${index + 1}${cast}`;
  params.push(col.source);
  const key = `$${params.length}::text`;
  if (type === 'jsonb') return `s.props->${key}`;
  // jsonb keeps 1.0 as "1.0": numbers reach integer columns through numeric.
  if (/^(smallint|integer|bigint)$/.test(type)) return `(s.props->>${key})::numeric${cast}`;
  return `(s.props->>${key})${cast}`;
}

export interface InsertPlan {
  /** Qualified target table. */
  table: string;
  columns: Array<{ name: string; expr: string }>;
  geometry: string;
  fidOffset: number;
  repaired: boolean;
  /** Extra filter, e.g. one geometry family when splitting. */
  where?: string | undefined;
}

export function insertSql(p: InsertPlan): string {
  const names = ['fid', 'geom', ...p.columns.map((c) => ident(c.name))];
  const exprs = [`s.ord + ${Math.trunc(p.fidOffset)}`, p.geometry, ...p.columns.map((c) => c.expr)];
  const join = p.repaired ? `LEFT JOIN ${REPAIRED_TABLE} AS r ON r.ord = s.ord` : '';
  const conditions = [...(p.repaired ? ['(r.ord IS NULL OR NOT ST_IsEmpty(r.geom))'] : []), ...(p.where ? [p.where] : [])];
  return `
INSERT INTO ${p.table} (${names.join(', ')})
SELECT ${exprs.join(',\n       ')}
FROM ${STAGE_TABLE} AS s ${join}
${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
ORDER BY s.ord`;
}

/** The staged (or repaired) geometry as stored: WGS84, promoted to Multi*, forced to 3D when the layer has Z. */
export function storedGeometry(wgs: string, opts: { repaired: boolean; multi: boolean; z: boolean }): string {
  let g = opts.repaired ? `coalesce(r.geom, ${wgs})` : wgs;
  if (opts.multi) g = `ST_Multi(${g})`;
  if (opts.z) g = `ST_Force3DZ(${g})`;
  return g;
}

export function createTableSql(table: string, geometryType: string, columns: Array<{ name: string; type: string }>): string {
  const cols = [`fid integer NOT NULL`, `geom geometry(${geometryType}, 4326) NOT NULL`, ...columns.map((c) => `${ident(c.name)} ${c.type}`)];
  return `CREATE TABLE ${table} (\n  ${cols.join(',\n  ')}\n)`;
}

export const qualified = (table: string) => `${ident(IMPORT_SCHEMA)}.${ident(table)}`;

/** Extent and count of the rows with fid above an offset, and how many lie wholly inside / wholly outside Huai'an. */
export function layerStatsSql(table: string): string {
  const [w, s, e, n] = HUAIAN_BOX;
  return `
SELECT count(*)::int AS count,
       count(*) FILTER (WHERE geom @ ST_MakeEnvelope(${w}, ${s}, ${e}, ${n}, 4326))::int AS inside,
       count(*) FILTER (WHERE NOT geom && ST_MakeEnvelope(${w}, ${s}, ${e}, ${n}, 4326))::int AS outside,
       ST_XMin(ST_Extent(geom)) AS xmin, ST_YMin(ST_Extent(geom)) AS ymin, ST_XMax(ST_Extent(geom)) AS xmax, ST_YMax(ST_Extent(geom)) AS ymax
FROM ${table} WHERE fid > $1`;
}

/** The existing table's columns and geometry type (for append). */
export async function describeTable(q: Queryable, table: string): Promise<{ columns: Map<string, string>; geometryType: string; z: boolean } | null> {
  const { rows } = await q.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
     FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [`${IMPORT_SCHEMA}.${ident(table)}`],
  );
  if (rows.length === 0) return null;
  const g = await q.query<{ type: string; dims: number }>(
    `SELECT type, coord_dimension AS dims FROM geometry_columns WHERE f_table_schema = $1 AND f_table_name = $2 AND f_geometry_column = 'geom'`,
    [IMPORT_SCHEMA, table],
  );
  return {
    columns: new Map(rows.map((r) => [r.name, r.type])),
    geometryType: (g.rows[0]?.type ?? 'GEOMETRY').replace(/Z$/, ''),
    z: (g.rows[0]?.dims ?? 2) >= 3,
  };
}

/** Replace: the new table takes the layer's name in the same transaction that drops the old one. */
export function swapSql(tmp: string, id: string): string[] {
  const short = shortName(id);
  return [
    `DROP TABLE IF EXISTS ${qualified(id)}`,
    `ALTER TABLE ${qualified(tmp)} RENAME TO ${ident(id)}`,
    `ALTER TABLE ${qualified(id)} RENAME CONSTRAINT ${ident(`${tmp}_pkey`)} TO ${ident(`${short}_pkey`)}`,
    `ALTER INDEX ${ident(IMPORT_SCHEMA)}.${ident(`${tmp}_geom`)} RENAME TO ${ident(`${short}_geom`)}`,
  ];
}

/** Index and constraint names derive from the table's; PostgreSQL cuts names at 63 bytes, so long ids get a hash. */
function shortName(id: string): string {
  if (id.length <= 50) return id;
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return `${id.slice(0, 40)}_${h.toString(36)}`;
}

export function indexSql(tmp: string): string[] {
  return [
    `ALTER TABLE ${qualified(tmp)} ADD CONSTRAINT ${ident(`${tmp}_pkey`)} PRIMARY KEY (fid)`,
    // No ANALYZE here: it would hold up the commit; autovacuum analyzes a table this size right after it.
    `CREATE INDEX ${ident(`${tmp}_geom`)} ON ${qualified(tmp)} USING gist (geom)`,
  ];
}

/**
 * After the swap: the change triggers on the new table, every cached tile of the layer evicted (a RENAME fires no
 * row trigger), and the registry told to re-read the definition. NOTIFY is delivered at commit, so nothing is
 * evicted or re-read for an import that rolls back.
 */
export const WATCH_SQL = `SELECT citybase.watch_table(to_regclass($1), 'geom', 4326)`;
export const NOTIFY_TILES_SQL = `SELECT pg_notify('citybase_tiles', jsonb_build_object('table', format('%I.%I', $1::text, $2::text), 'all', true)::text)`;
export const NOTIFY_CATALOG_SQL = `SELECT pg_notify('citybase_catalog', 'layer:' || $1::text)`;
