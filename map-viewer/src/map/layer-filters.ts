import type { CatalogLayer } from '../catalog.ts';
import type { Map as MapLibreMap, VectorTileSource } from 'maplibre-gl';

/**
 * What each layer is filtered by, as CQL2 text: the time slider's period and the filter builder's conditions,
 * joined with AND. The map draws the filtered tiles (`/tiles/{layer}.json?filter=…`: the server filters, so
 * the tiles carry only what is kept), and the attribute table lists the same features.
 */
export type FilterPart = 'time' | 'where';

export class LayerFilters {
  private readonly parts = new Map<string, Partial<Record<FilterPart, string>>>();
  private readonly listeners = new Set<(id: string) => void>();

  constructor(
    private readonly map: MapLibreMap,
    private readonly catalog: Map<string, CatalogLayer>,
  ) {}

  get(id: string, part: FilterPart): string {
    return this.parts.get(id)?.[part] ?? '';
  }

  /** The layer's whole filter, or '' for none. */
  combined(id: string): string {
    const p = this.parts.get(id) ?? {};
    const list = [p.time, p.where].filter((x): x is string => Boolean(x && x.trim()));
    return list.length > 1 ? list.map((x) => `(${x})`).join(' AND ') : (list[0] ?? '');
  }

  set(id: string, part: FilterPart, cql: string): void {
    this.parts.set(id, { ...this.parts.get(id), [part]: cql.trim() });
    const layer = this.catalog.get(id);
    const source = this.map.getSource(id) as VectorTileSource | undefined;
    if (layer && source?.type === 'vector') {
      const filter = this.combined(id);
      const sep = layer.tilejson.includes('?') ? '&' : '?';
      source.setUrl(filter ? `${layer.tilejson}${sep}filter=${encodeURIComponent(filter)}` : layer.tilejson);
    }
    for (const f of this.listeners) f(id);
  }

  onChange(f: (id: string) => void): void {
    this.listeners.add(f);
  }
}
