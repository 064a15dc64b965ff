// MapLibre runs from its TypeScript sources (see vite.config.ts) but is type-checked against its published
// declarations: the same package and version, without type-checking MapLibre's own code here. Modules import
// MapLibre's types from 'maplibre-gl' and its code from map/maplibre.ts.
declare module 'maplibre-gl-src/index.ts' {
  export * from 'maplibre-gl';
}
declare module 'maplibre-gl-src/source/worker.ts';
