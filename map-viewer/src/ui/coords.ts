import { toGk120 } from '../geo/gk.ts';
import { onLang, t } from '../i18n.ts';
import type { Map as MapLibreMap } from 'maplibre-gl';
import { fill, h } from './dom.ts';

/**
 * The pointer's coordinates in WGS84 and in CGCS2000 / GK CM 120E (EPSG:4549). Without a pointer (a tablet),
 * the map centre's.
 */
export function showCoordinates(map: MapLibreMap, el: HTMLElement): void {
  let at: [number, number] = [map.getCenter().lng, map.getCenter().lat];
  let pointer = false;
  const render = () => {
    const [lon, lat] = at;
    const [e, n] = toGk120(lon, lat);
    const words = t();
    fill(
      el,
      h('span', { class: 'wgs84', 'data-lon': lon, 'data-lat': lat }, `WGS84 ${lon.toFixed(6)}°, ${lat.toFixed(6)}°`),
      h('span', { class: 'gk', title: words.cgcs2000, 'data-e': e, 'data-n': n }, `CGCS2000 GK ${words.east} ${e.toFixed(2)} ${words.north} ${n.toFixed(2)}`),
    );
  };
  el.setAttribute('aria-live', 'off');
  map.on('mousemove', (e) => {
    pointer = true;
    at = [e.lngLat.lng, e.lngLat.lat];
    render();
  });
  map.on('move', () => {
    if (pointer) return;
    const c = map.getCenter();
    at = [c.lng, c.lat];
    render();
  });
  onLang(render);
}
