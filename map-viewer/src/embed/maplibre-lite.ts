import { Map } from 'maplibre-gl-src/ui/map.ts';
import { NavigationControl } from 'maplibre-gl-src/ui/control/navigation_control.ts';
import { ScaleControl } from 'maplibre-gl-src/ui/control/scale_control.ts';
import { Popup } from 'maplibre-gl-src/ui/popup.ts';
import { config } from 'maplibre-gl-src/util/config.ts';

/**
 * The parts of MapLibre the widget uses, imported one by one (not through its index): markers, geolocation,
 * terrain and globe controls and the rest stay out of the widget's download (its 300 KB budget).
 */
export const maplibre = { Map, NavigationControl, ScaleControl, Popup };
export function setWorkerUrl(url: string): void {
  config.WORKER_URL = url;
}
