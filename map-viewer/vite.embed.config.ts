import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { WORKER_ENTRY, maplibreClassFields, maplibreSrc, workerUrlInHtml } from './vite.config.ts';

/**
 * The map widgets' build (run by vite.config.ts after the pages): the /embed/ iframe page and the <citybase-map>
 * element with their own MapLibre worker, into dist/embed/ (served by tile-server/src/routes/embed-page.ts).
 * Their MapLibre leaves out what a widget of the platform's vector tiles never uses (MapLibre Tiles decoding,
 * GeoJSON tiling), which keeps the widget under its 300 KB budget (test/embed-serving.test.ts).
 */
const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  resolve: {
    alias: {
      'maplibre-gl-src': maplibreSrc,
      '@maplibre/mlt': path.join(here, 'src/embed/stubs/mlt.ts'),
      '@maplibre/geojson-vt': path.join(here, 'src/embed/stubs/geojson-vt.ts'),
    },
  },
  oxc: maplibreClassFields,
  plugins: [workerUrlInHtml()],
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: false,
    assetsDir: 'embed/assets',
    manifest: 'embed/.vite/manifest.json',
    target: 'es2022',
    chunkSizeWarningLimit: 700,
    rolldownOptions: {
      input: {
        embed: path.join(here, 'embed/index.html'),
        'citybase-map': path.join(here, 'src/embed/element.ts'),
        [WORKER_ENTRY]: path.join(here, 'src/map/worker.ts'),
      },
      preserveEntrySignatures: 'allow-extension',
    },
  },
});
