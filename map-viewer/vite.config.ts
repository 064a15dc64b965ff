import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build, defineConfig, type Plugin } from 'vite';

/**
 * The map viewer's build (`npm run build` → map-viewer/dist, served by tile-server/src/routes/viewer.ts).
 *
 * MapLibre is compiled from its TypeScript sources (shipped in the npm package) instead of using its two
 * prebuilt bundles: the worker then becomes a second entry of the same build and shares its code with the
 * page through common chunks, which the browser downloads once. That saves about 115 KB gzipped (a third of
 * MapLibre) and is what keeps the viewer under its 450 KB budget; bench:viewer prints the sizes.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
export const maplibreSrc = path.resolve(here, '../node_modules/maplibre-gl/src');
export const WORKER_ENTRY = 'maplibre-worker';

/**
 * MapLibre's sources assume TypeScript's `useDefineForClassFields: false` (their tsconfig is not shipped):
 * a field declared without initializer must not reset what the base constructor assigned.
 */
export const maplibreClassFields = {
  typescript: { removeClassFieldsWithoutInitializer: true },
  assumptions: { setPublicClassFields: true },
};

/** The worker chunk's hashed name goes into index.html, so every asset can be cached forever. */
export function workerUrlInHtml(): Plugin {
  return {
    name: 'citybase-worker-url',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        const chunk = Object.values(ctx.bundle ?? {}).find((c) => c.type === 'chunk' && c.isEntry && c.name === WORKER_ENTRY);
        if (!chunk) throw new Error(`the ${WORKER_ENTRY} chunk is missing from the bundle`);
        // Relative to the page: a page in a folder (cases/index.html) reaches assets/ one level up.
        const up = '../'.repeat(ctx.path.split('/').filter(Boolean).length - 1);
        return html.replace('%MAPLIBRE_WORKER%', `${up}${chunk.fileName}`);
      },
    },
  };
}

/**
 * Write `.gz` and `.br` next to every text asset: the tile server sends compressed bytes without spending CPU
 * per request, and these are the sizes a browser downloads.
 */
function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'citybase-precompress',
    apply: 'build',
    configResolved(c) {
      outDir = c.build.outDir;
    },
    closeBundle() {
      const files = readdirSync(outDir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(js|css|html|svg|json)$/.test(f) && !f.startsWith('.vite'));
      for (const f of files) {
        const full = path.join(outDir, f);
        const raw = readFileSync(full);
        writeFileSync(`${full}.gz`, gzipSync(raw, { level: 9 }));
        writeFileSync(`${full}.br`, brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
    },
  };
}

/**
 * The map widgets for departments' sites (the /embed/ page and the <citybase-map> element) are a second build
 * (vite.embed.config.ts, into dist/embed/): a lighter MapLibre of their own, and nothing added to these pages.
 * It runs before the files are compressed, so precompress() covers it too.
 */
function embedBuild(): Plugin {
  return {
    name: 'citybase-embed-build',
    apply: 'build',
    closeBundle: {
      order: 'pre',
      sequential: true,
      async handler() {
        await build({ configFile: path.join(here, 'vite.embed.config.ts'), logLevel: 'warn' });
      },
    },
  };
}

export default defineConfig({
  root: here,
  // Relative URLs: the viewer works behind a reverse proxy under any path prefix.
  base: './',
  resolve: { alias: { 'maplibre-gl-src': maplibreSrc } },
  oxc: maplibreClassFields,
  plugins: [workerUrlInHtml(), embedBuild(), precompress()],
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: true,
    assetsDir: 'assets',
    // dist/.vite/manifest.json: which chunks load with the page and which later (bench:viewer reads it).
    manifest: true,
    target: 'es2022',
    // MapLibre is large by design; the budget is checked by bench:viewer, not by this warning.
    chunkSizeWarningLimit: 700,
    rolldownOptions: {
      input: {
        index: path.join(here, 'index.html'),
        login: path.join(here, 'login.html'),
        admin: path.join(here, 'admin.html'),
        m: path.join(here, 'm/index.html'),
        cases: path.join(here, 'cases/index.html'),
        vehicles: path.join(here, 'vehicles/index.html'),
        [WORKER_ENTRY]: path.join(here, 'src/map/worker.ts'),
      },
      // The worker entry is loaded by URL, not imported: keep its side effects (it registers itself).
      preserveEntrySignatures: 'allow-extension',
    },
  },
});
