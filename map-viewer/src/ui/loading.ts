import { onLang, t } from '../i18n.ts';
import type { Map as MapLibreMap } from 'maplibre-gl';

/**
 * A loading indicator while the map waits for tiles: shown a moment after tiles are asked for (a fast answer
 * shows nothing), gone when the map is idle. `aria-busy` on the map tells screen readers the same.
 */
const DELAY_MS = 250;

export function showLoading(map: MapLibreMap, el: HTMLElement): void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  el.setAttribute('role', 'status');
  onLang(() => (el.querySelector('.loading-text')!.textContent = t().loading));
  const busy = () => {
    if (timer || !el.hidden) return;
    map.getContainer().setAttribute('aria-busy', 'true');
    timer = setTimeout(() => {
      timer = null;
      if (!map.areTilesLoaded()) el.hidden = false;
    }, DELAY_MS);
  };
  map.on('dataloading', busy);
  map.on('idle', () => {
    if (timer) clearTimeout(timer);
    timer = null;
    el.hidden = true;
    map.getContainer().removeAttribute('aria-busy');
  });
}
