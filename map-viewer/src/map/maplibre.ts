import * as maplibre from 'maplibre-gl-src/index.ts';
import 'maplibre-gl/dist/maplibre-gl.css';

/**
 * MapLibre, with its worker pointed at the chunk index.html names: the build writes the hashed file name into
 * `<meta name="maplibre-worker">`; under the dev server the placeholder is left and the entry is served from source.
 */
const named = document.querySelector<HTMLMetaElement>('meta[name="maplibre-worker"]')?.content ?? '';
const workerPath = named.startsWith('%') ? '/src/map/worker.ts' : named;
maplibre.setWorkerUrl(new URL(workerPath, document.baseURI).href);

export { maplibre };
