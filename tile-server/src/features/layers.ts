import { canSee, type Principal } from '../access/access.ts';
import { badRequest, notFound } from '../errors.ts';
import type { LayerRegistry } from '../registry/registry.ts';
import { PostgisTableSource } from '../sources/postgis-table.ts';
import { FeatureTable } from './table.ts';

/**
 * The layers the features API serves: table layers the caller may see (the same canSee as tiles). An unknown
 * layer and one the caller may not see are the same 404, so a layer's existence does not leak.
 */
export class FeatureLayers {
  // Keyed by the source object: a contrib table re-resolved after ALTER gets a fresh FeatureTable.
  private readonly tables = new WeakMap<PostgisTableSource, FeatureTable>();

  constructor(private readonly registry: LayerRegistry) {}

  /** Table layers visible to the principal, by id. */
  list(principal: Principal): FeatureTable[] {
    return this.registry
      .list()
      .filter((s): s is PostgisTableSource => s instanceof PostgisTableSource && canSee(principal, s.meta))
      .map((s) => this.table(s).limitedTo(principal.scopes));
  }

  get(id: string, principal: Principal): FeatureTable {
    const s = this.registry.get(id);
    if (!s || !canSee(principal, s.meta)) throw notFound('unknown_collection', `no collection "${id.slice(0, 64)}"`);
    if (!(s instanceof PostgisTableSource))
      throw notFound('unknown_collection', `layer "${id}" has no features to list: its tiles are made by a SQL function`);
    // The access check gives a view of the layer limited to the caller's scope: every query made from it is.
    return this.table(s).limitedTo(principal.scopes);
  }

  /** Several layers (`a,b`), each visible, at most `max`, none twice. */
  many(ids: readonly string[], principal: Principal, max: number): FeatureTable[] {
    if (ids.length === 0) throw badRequest('invalid_parameter', 'layers: name at least one layer');
    if (ids.length > max) throw badRequest('too_many_layers', `layers: at most ${max}`);
    if (new Set(ids).size !== ids.length) throw badRequest('duplicate_layer', 'layers: a layer is named twice');
    return ids.map((id) => this.get(id, principal));
  }

  private table(s: PostgisTableSource): FeatureTable {
    let t = this.tables.get(s);
    if (!t) this.tables.set(s, (t = new FeatureTable(s)));
    return t;
  }
}
