// MapLibre's modules as the widget imports them (see maplibre-lite.ts), typed by the published declarations.
declare module 'maplibre-gl-src/ui/map.ts' {
  export { Map } from 'maplibre-gl';
}
declare module 'maplibre-gl-src/ui/control/navigation_control.ts' {
  export { NavigationControl } from 'maplibre-gl';
}
declare module 'maplibre-gl-src/ui/control/scale_control.ts' {
  export { ScaleControl } from 'maplibre-gl';
}
declare module 'maplibre-gl-src/ui/popup.ts' {
  export { Popup } from 'maplibre-gl';
}
declare module 'maplibre-gl-src/util/config.ts' {
  export const config: { WORKER_URL: string };
}
