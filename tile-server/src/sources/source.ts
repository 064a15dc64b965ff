import type { AccessLevel, Theme, LayerDefinition } from '../registry/definition.ts';
import type { TileCoord, LonLatBox } from '../tiles/coords.ts';
import type { QueryRunner } from '../db/query.ts';

/** TileJSON's field types. */
export type FieldType = 'Number' | 'String' | 'Boolean';

/** What the catalog, TileJSON and the access check need to know about a layer. */
export interface LayerMeta {
  readonly id: string;
  readonly title: { zh: string; en: string };
  readonly description?: { zh: string; en: string } | undefined;
  readonly theme: Theme;
  readonly owner: string;
  readonly access: AccessLevel;
  readonly allow: readonly string[];
  readonly attribution?: string | undefined;
  readonly minzoom: number;
  readonly maxzoom: number;
  /** OGC simple-feature type name, e.g. POINT, MULTIPOLYGON, or GEOMETRY when mixed or unknown. */
  readonly geometryType: string;
  readonly fields: Readonly<Record<string, FieldType>>;
  readonly properties: LayerDefinition['properties'];
  readonly style: LayerDefinition['style'];
  readonly legend: LayerDefinition['legend'];
  /** Where it comes from: a layers/ definition or auto-published from schema contrib. */
  readonly origin: 'registry' | 'contrib';
  /** How the layer is limited to a principal's scopes; undefined = not scoped. */
  readonly scope?: LayerDefinition['scope'];
}

/**
 * A relation whose changes reach this layer's tiles. `bbox`: its trigger reports the changed area and only the
 * tiles covering it are evicted. `all`: any change evicts all of the layer's tiles (views, functions).
 */
export interface Dependency {
  readonly table: string; // schema.table, quoted as needed
  readonly precision: 'bbox' | 'all';
  readonly geometryColumn?: string | undefined;
  readonly srid?: number | undefined;
}

/**
 * An extra condition on a layer's features, compiled from a CQL2 filter: SQL over the table alias `t` whose
 * values are parameters from $4 on (after z, x, y), and the filter's normalised text for cache keys.
 */
export interface FeatureFilter {
  readonly key: string;
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** One source kind = one module implementing this (Martin's Source, pg_tileserv's Layer). */
export interface TileSource {
  readonly meta: LayerMeta;
  readonly dependencies: readonly Dependency[];
  /** False when the source's changes cannot be observed: such tiles are never cached, so never stale. */
  readonly cacheable: boolean;
  /** Raw (uncompressed) MVT bytes for the tile; empty when no feature falls in it. */
  getTile(tile: TileCoord, run: QueryRunner, signal?: AbortSignal, filter?: FeatureFilter, scopes?: readonly string[] | null): Promise<Buffer>;
  /** Extent of the data in degrees, or null when there is none. */
  bounds(run: QueryRunner): Promise<LonLatBox | null>;
}

/** The catalog's view of a resolved definition: the same for every source kind. */
export function layerMeta(
  def: LayerDefinition,
  geometryType: string,
  fields: Record<string, FieldType>,
  origin: LayerMeta['origin'],
): LayerMeta {
  const { id, title, description, theme, owner, access, allow, attribution, minzoom, maxzoom, properties, style, legend, scope } = def;
  return { id, title, description, theme, owner, access, allow, attribution, minzoom, maxzoom, geometryType, fields, properties, style, legend, origin, scope };
}
