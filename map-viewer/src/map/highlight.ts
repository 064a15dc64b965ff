import type { GeoJSONSource, Map as MapLibreMap } from 'maplibre-gl';

/**
 * The identified feature, outlined on top of everything: a cyan line with a white casing (colours no layer of
 * the platform uses), a light fill for areas and a ring for points.
 */
const SOURCE = 'citybase-highlight';
const COLOR = '#00B7FF';

function ensure(map: MapLibreMap): GeoJSONSource {
  if (!map.getSource(SOURCE)) {
    map.addSource(SOURCE, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    const polygon = ['==', ['geometry-type'], 'Polygon'] as const;
    const point = ['==', ['geometry-type'], 'Point'] as const;
    map.addLayer({ id: `${SOURCE}-fill`, type: 'fill', source: SOURCE, filter: polygon as never, paint: { 'fill-color': COLOR, 'fill-opacity': 0.25 } });
    map.addLayer({ id: `${SOURCE}-casing`, type: 'line', source: SOURCE, filter: ['!', point] as never, paint: { 'line-color': '#FFFFFF', 'line-width': 6 } });
    map.addLayer({ id: `${SOURCE}-line`, type: 'line', source: SOURCE, filter: ['!', point] as never, paint: { 'line-color': COLOR, 'line-width': 3 } });
    map.addLayer({
      id: `${SOURCE}-point`,
      type: 'circle',
      source: SOURCE,
      filter: point as never,
      paint: { 'circle-radius': 12, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': COLOR, 'circle-stroke-width': 4 },
    });
  }
  // Whatever was added or moved since, the highlight stays on top.
  for (const suffix of ['fill', 'casing', 'line', 'point']) map.moveLayer(`${SOURCE}-${suffix}`);
  return map.getSource(SOURCE) as GeoJSONSource;
}

export function highlight(map: MapLibreMap, geometries: GeoJSON.Geometry[]): void {
  ensure(map).setData({ type: 'FeatureCollection', features: geometries.map((geometry) => ({ type: 'Feature', properties: {}, geometry })) });
}

export function clearHighlight(map: MapLibreMap): void {
  (map.getSource(SOURCE) as GeoJSONSource | undefined)?.setData({ type: 'FeatureCollection', features: [] });
}

/** What is highlighted now (for tests and the print layout). */
export const HIGHLIGHT_LAYERS = ['fill', 'casing', 'line', 'point'].map((s) => `${SOURCE}-${s}`);
