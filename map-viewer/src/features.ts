import type { CatalogLayer } from './catalog.ts';

/**
 * Features as the viewer handles them, whichever API they came from: the features API (`/identify`,
 * `POST /query`, `/collections/…/items`) or the map's own rendered features (the fallback while those APIs
 * are not on the server yet).
 */
export interface Hit {
  layer: CatalogLayer;
  id: string | number | undefined;
  properties: Record<string, unknown>;
  geometry: GeoJSON.Geometry | null;
  /** Rendered features only: the pieces of the feature, one per tile it was drawn in. */
  parts?: GeoJSON.Geometry[];
}

type Loose = Record<string, unknown>;
const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Features out of a features-API answer: a FeatureCollection whose features name their `layer` (`/identify`),
 * or one of a known layer (`/collections/{layer}/items`), or per-layer groups `{ layers: [{ layer, features }] }`
 * (`POST /query`).
 */
export function hitsFromApi(body: unknown, catalog: Map<string, CatalogLayer>, layerId?: string): Hit[] {
  if (!isObject(body)) return [];
  if (Array.isArray(body.layers) && body.layers.some(isObject))
    return body.layers.filter(isObject).flatMap((g) => hitsFromApi(g.features, catalog, String(g.layer)));
  const features = Array.isArray(body.features) ? body.features.filter(isObject) : [];
  return features.flatMap((f): Hit[] => {
    const layer = catalog.get(typeof f.layer === 'string' ? f.layer : (layerId ?? ''));
    if (!layer) return [];
    return [
      {
        layer,
        id: typeof f.id === 'number' || typeof f.id === 'string' ? f.id : undefined,
        properties: isObject(f.properties) ? f.properties : {},
        geometry: isObject(f.geometry) ? (f.geometry as unknown as GeoJSON.Geometry) : null,
      },
    ];
  });
}

/** The properties worth adding up under a drawn area: those the layer definition declares additive. */
export function summable(layer: CatalogLayer): string[] {
  return Object.entries(layer.properties)
    .filter(([, p]) => p.additive === true)
    .map(([k]) => k);
}

/** The properties that name a feature, for search: `name…` columns, or those labelled 名称. */
export function nameProperties(layer: CatalogLayer): string[] {
  return Object.entries(layer.properties)
    .filter(([k, p]) => /name|mc$|^mc_|title/i.test(k) || p.label.zh.includes('名称'))
    .map(([k]) => k)
    .filter((k) => (layer.fields?.[k] ?? 'String') === 'String');
}
