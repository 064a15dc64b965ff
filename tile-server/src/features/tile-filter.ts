import type { Principal } from '../access/access.ts';
import { badRequest } from '../errors.ts';
import { PostgisTableSource } from '../sources/postgis-table.ts';
import type { FeatureFilter, TileSource } from '../sources/source.ts';
import { compileFor, filterFromQuery } from './filter.ts';
import type { FeatureLayers } from './layers.ts';

/**
 * `?filter=` on a tile or TileJSON URL, compiled for the one table layer it applies to, or null when absent.
 * Call after the access check: properties are checked only against a layer the caller may see.
 */
export function tileFilter(
  layers: FeatureLayers,
  sources: readonly TileSource[],
  query: Record<string, unknown>,
  principal: Principal,
): FeatureFilter | undefined {
  const filter = filterFromQuery(query);
  if (!filter) return undefined;
  if (sources.length !== 1) throw badRequest('invalid_filter', 'filter applies to one layer: ask for each layer’s tiles separately');
  const source = sources[0]!;
  if (!(source instanceof PostgisTableSource))
    throw badRequest('invalid_filter', `layer "${source.meta.id}" is made by a SQL function and cannot be filtered`);
  const table = layers.get(source.meta.id, principal);
  // Parameters after z, x, y (and a scoped layer's scopes).
  const compiled = compileFor(table, filter.ast, source.firstFilterParam);
  return { key: filter.key, sql: compiled.sql, params: compiled.params };
}
