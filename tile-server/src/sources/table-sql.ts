import pg from 'pg';
import { scopeCondition, type LayerScope } from './scope-sql.ts';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;

/** Everything the tile SQL of a table layer is built from. Identifiers come from the registry and the catalog only. */
export interface TableSqlSpec {
  layerId: string;
  schema: string;
  table: string;
  geometryColumn: string;
  /** SRID the data is in; for SRID-0 columns the SRID we assume (the data's, else 4326). */
  srid: number;
  /** The column declares no SRID: values with SRID 0 are tagged with `srid` before they are transformed. */
  sridZero: boolean;
  /** True when the SRID is geographic (degrees), for the buffer and the simplification tolerance. */
  geographic: boolean;
  /** Integer column used as MVT feature id. */
  idColumn?: string | undefined;
  /** Column to order features by when there is no id column (e.g. ctid for tables). */
  orderBy: string;
  /** Exposed columns with the SQL cast that makes them an MVT-encodable value (or '' for none). */
  properties: ReadonlyArray<{ name: string; cast: string }>;
  simplify: ReadonlyArray<{ maxzoom: number; tolerancePx: number }>;
  isPoint: boolean;
  extent: number;
  buffer: number;
  maxFeatures: number;
  /** Scoped layers take the principal's scopes as $4 (filters then start at $5). */
  scope?: LayerScope | undefined;
}

/** Web-mercator metres per 256-px screen pixel at zoom z, written as SQL over $1 (z). */
const METRES_PER_PX = '(40075016.6855785 / (256 * 2.0 ^ $1::int))';
/** Degrees of longitude per metre at the equator: the tolerance and margin then err on the small side. */
const DEGREES_PER_METRE = 1 / 111319.49;

/**
 * Build the tile query of a table layer: $1 z, $2 x, $3 y (and $4 the scopes of a scoped layer). One text per
 * layer, prepared once per connection. `filter` (a compiled CQL2 filter over alias t, parameters after those)
 * narrows the features of a filtered tile.
 *
 * - The search box is in the table's own SRID so the GiST index on the geometry column is used; it is the tile
 *   widened by the buffer, so features in the buffer are drawn in both neighbours.
 * - Geometries are simplified (in their own units, before the transform, which is cheaper) by zoom.
 * - Features are ordered, so the same data always gives the same bytes, whatever plan PostgreSQL picks.
 */
export function buildTableTileSql(s: TableSqlSpec, filter?: string): string {
  const geom = `t.${ident(s.geometryColumn)}`;
  // `&&` compares boxes without looking at SRIDs, so the index search needs no tagging; the transform does.
  const tagged = s.sridZero ? `(CASE WHEN ST_SRID(${geom}) = 0 THEN ST_SetSRID(${geom}, ${s.srid}) ELSE ${geom} END)` : geom;
  const margin = s.buffer / s.extent;

  let search: string;
  if (s.srid === 3857) search = `ST_TileEnvelope($1::int, $2::int, $3::int, margin => ${margin})`;
  // Martin's choice for degrees: expand after the transform; a mercator margin beyond ±180° breaks the transform.
  else if (s.srid === 4326)
    search = `ST_Expand(ST_Transform(ST_TileEnvelope($1::int, $2::int, $3::int), 4326), ${margin} * 360.0 / 2.0 ^ $1::int)`;
  else search = `ST_Transform(ST_TileEnvelope($1::int, $2::int, $3::int, margin => ${margin}), ${s.srid})`;

  let shape = tagged;
  if (!s.isPoint && s.simplify.length > 0) {
    const unit = s.geographic ? ` * ${DEGREES_PER_METRE}` : '';
    const cases = s.simplify.map((r) => `WHEN $1::int <= ${r.maxzoom} THEN ${r.tolerancePx}`).join(' ');
    shape = `ST_Simplify(${tagged}, (CASE ${cases} ELSE 0 END) * ${METRES_PER_PX}${unit}, true)`;
  }
  const toMercator = s.srid === 3857 ? shape : `ST_Transform(${shape}, 3857)`;

  const columns = [
    ...(s.idColumn ? [`t.${ident(s.idColumn)}::bigint AS "mvt_id"`] : []),
    ...s.properties.map((p) => `t.${ident(p.name)}${p.cast} AS ${ident(p.name)}`),
    `ST_AsMVTGeom(${toMercator}, ST_TileEnvelope($1::int, $2::int, $3::int), ${s.extent}, ${s.buffer}, true) AS "mvt_geom"`,
  ];
  const order = s.idColumn ? `t.${ident(s.idColumn)}` : s.orderBy;
  const scoped = s.scope ? `\n    AND ${scopeCondition(s.scope, '$4', { column: s.geometryColumn, srid: s.srid, sridZero: s.sridZero })}` : '';

  return `-- tile of layer ${s.layerId}: $1 z, $2 x, $3 y${s.scope ? ', $4 scopes' : ''}
SELECT ST_AsMVT(features, ${literal(s.layerId)}, ${s.extent}, 'mvt_geom'${s.idColumn ? `, 'mvt_id'` : ''})
FROM (
  SELECT ${columns.join(',\n         ')}
  FROM ${ident(s.schema)}.${ident(s.table)} AS t
  WHERE ${geom} && ${search}${scoped}${filter ? `\n    AND (${filter})` : ''}
  ORDER BY ${order}
  LIMIT ${s.maxFeatures}
) AS features`;
}

/**
 * Extent of the data: the estimate when the column has a (non-partial) GiST or SP-GiST index, else the exact
 * extent. With an index, ST_EstimatedExtent reads the index's extent, which covers every row, instantly.
 * Without one it reads the statistics, which leave out outliers (a 50,000-point city with two features in far
 * corners came back as the city alone), and MapLibre never asks for tiles outside a TileJSON's bounds.
 */
export function buildBoundsSql(s: Pick<TableSqlSpec, 'schema' | 'table' | 'geometryColumn' | 'srid' | 'sridZero'>): {
  estimated: string;
  exact: string;
} {
  const toWgs84 = (box: string) => `ST_Transform(ST_SetSRID(${box}::geometry, ${s.srid}), 4326)`;
  const sides = (g: string) => `ST_XMin(${g}) AS w, ST_YMin(${g}) AS s, ST_XMax(${g}) AS e, ST_YMax(${g}) AS n`;
  const indexed = `EXISTS (
    SELECT 1 FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_am am ON am.oid = ic.relam
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = ${literal(`${ident(s.schema)}.${ident(s.table)}`)}::regclass
      AND a.attname = ${literal(s.geometryColumn)} AND am.amname IN ('gist', 'spgist') AND i.indpred IS NULL)`;
  const estimated = `SELECT ${sides('b')} FROM (SELECT ${toWgs84(
    `ST_EstimatedExtent(${literal(s.schema)}, ${literal(s.table)}, ${literal(s.geometryColumn)})`,
  )} AS b WHERE ${indexed}) AS x`;
  const exact = `SELECT ${sides('b')} FROM (SELECT ${toWgs84(`ST_Extent(${ident(s.geometryColumn)})`)} AS b FROM ${ident(
    s.schema,
  )}.${ident(s.table)}) AS x`;
  return { estimated, exact };
}
