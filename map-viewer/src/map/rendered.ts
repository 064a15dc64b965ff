import type { CatalogLayer } from '../catalog.ts';
import type { Hit } from '../features.ts';
import type { Map as MapLibreMap, PointLike } from 'maplibre-gl';

/**
 * Features drawn on the map in a screen box, one per feature (a feature cut by tile borders comes back once
 * per tile), topmost first. This is what the viewer knows without the features API: only what is loaded and
 * drawn at this zoom, with the properties the tiles carry.
 */
export function renderedHits(
  map: MapLibreMap,
  box: [PointLike, PointLike],
  layers: CatalogLayer[],
  styleLayersOf: Map<string, string[]>,
): Hit[] {
  const byStyleLayer = new Map<string, CatalogLayer>();
  for (const l of layers) for (const s of styleLayersOf.get(l.id) ?? []) byStyleLayer.set(s, l);
  const ids = [...byStyleLayer.keys()].filter((id) => map.getLayer(id));
  if (ids.length === 0) return [];
  const seen = new Map<string, Hit>();
  for (const f of map.queryRenderedFeatures(box, { layers: ids })) {
    const layer = byStyleLayer.get(f.layer.id)!;
    const key = `${layer.id}/${f.id ?? JSON.stringify(f.properties)}`;
    const hit = seen.get(key);
    if (hit) {
      hit.parts!.push(f.geometry);
      continue;
    }
    seen.set(key, { layer, id: f.id, properties: { ...f.properties }, geometry: f.geometry, parts: [f.geometry] });
  }
  return [...seen.values()];
}
