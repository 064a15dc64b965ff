// The MapLibre worker, a second entry of the viewer's build: it shares chunks with the page (see vite.config.ts).
import 'maplibre-gl-src/source/worker.ts';
