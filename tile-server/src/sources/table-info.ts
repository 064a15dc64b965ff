import type { QueryRunner } from '../db/query.ts';
import type { LonLatBox } from '../tiles/coords.ts';

/** An exposed column of a table layer with its PostgreSQL type (pg_type.typname and typcategory). */
export interface TableColumn {
  readonly name: string;
  readonly type: string;
  readonly category: string;
}

/**
 * What the features API needs to know about a table layer, settled once when the layer is resolved. Every name
 * here comes from the layer definition checked against the catalog, never from a request.
 */
export interface TableInfo {
  readonly schema: string;
  readonly table: string;
  readonly kind: 'table' | 'view' | 'materialized view' | 'foreign table';
  readonly geometryColumn: string;
  /** SRID of the data (for SRID-0 columns the one assumed, see sridZero). */
  readonly srid: number;
  /** The column declares no SRID: values with SRID 0 must be tagged with `srid` before they are transformed. */
  readonly sridZero: boolean;
  readonly geographic: boolean;
  /** OGC simple-feature type name (POINT, MULTIPOLYGON, …, GEOMETRY). */
  readonly geometryType: string;
  /** Integer feature id: the definition's idColumn, else a table's single-column integer primary key. */
  readonly idColumn: string | null;
  /** The exposed properties in display order; nothing else leaves the database. */
  readonly columns: readonly TableColumn[];
  /** date/timestamp column that `datetime=` filters on, when the definition names one. */
  readonly timeColumn: string | null;
  /**
   * Where a box in degrees can be transformed into the layer's SRID without degenerating: a transverse Mercator
   * zone is only one-to-one within some 80° of its central meridian (a world box collapses to a line in
   * EPSG:4549), Mercator stops short of the poles. Query boxes and literals are clipped to it first.
   */
  readonly validArea: LonLatBox;
}

const WORLD: LonLatBox = [-180, -90, 180, 90];

/** The area of validArea from a spatial_ref_sys proj4 definition (see TableInfo.validArea). */
export function validAreaOf(proj4: string | null, geographic: boolean): LonLatBox {
  if (geographic) return WORLD;
  const p = ` ${proj4 ?? ''} `;
  const proj = /\s\+proj=(\w+)/.exec(p)?.[1];
  if (proj === 'tmerc' || proj === 'utm') {
    let lon0 = Number(/\s\+lon_0=(-?[\d.]+)/.exec(p)?.[1] ?? 0);
    const zone = /\s\+zone=(\d+)/.exec(p)?.[1];
    if (proj === 'utm' && zone) lon0 = Number(zone) * 6 - 183;
    return [Math.max(-180, lon0 - 80), -85, Math.min(180, lon0 + 80), 85];
  }
  return [-180, -85.0511287798066, 180, 85.0511287798066];
}

/** The proj4 definition of an SRID (null when spatial_ref_sys does not know it). */
export async function proj4Of(run: QueryRunner, srid: number): Promise<string | null> {
  const rows = await run.query<{ proj4text: string | null }>(`SELECT proj4text FROM spatial_ref_sys WHERE srid = $1`, [srid]);
  return rows[0]?.proj4text ?? null;
}

/** Column types a `datetime=` filter and CQL2 DATE()/TIMESTAMP() literals compare with. */
export const TEMPORAL_TYPES: readonly string[] = ['date', 'timestamp', 'timestamptz'];
