// `npm run bench:viewer`: the map viewer in headless Chromium (Debian's, WebGL through SwiftShader: no GPU, so
// these are worst-case numbers for a city PC) against the platform with layers/ and data-samples/. Prints
// (1) the bytes a browser downloads, (2) time from navigation to the first `idle` map, cold and warm cache,
// against the same page with no layer switched on (MapLibre and the page alone), (3) frames per second while
// panning, against the same map redrawn at rest (what the renderer alone manages on this machine). Env: DATABASE_URL (else an embedded
// cluster in a temp dir), BENCH_RUNS (page loads per measurement, default 5), BENCH_SECONDS (per pan, default 5).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { loadSamplesOnce } from '../data-samples/load.ts';
import { loadConfig } from '../tile-server/src/config.ts';
import { startEmbeddedCluster } from '../tile-server/src/db/embedded.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { startPlatform } from '../tile-server/src/platform.ts';
import { VIEWER_DIST } from '../tile-server/src/routes/viewer.ts';
import { ensureViewerBuilt, launchChromium, listen, mapIdle } from '../test/helpers/browser.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BUDGET_KB = 450;
const fmt = (v: number, d = 1) => v.toFixed(d);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

const cleanups: Array<() => unknown> = [];
async function finish(code: number): Promise<never> {
  for (const undo of cleanups.reverse()) await Promise.resolve().then(undo).catch((e: Error) => console.error(`cleanup: ${e.message}`));
  process.exit(code);
}
process.on('SIGINT', () => void finish(130));
process.on('SIGTERM', () => void finish(143));

interface ManifestChunk {
  file: string;
  css?: string[];
  imports?: string[];
  isEntry?: boolean;
}

/**
 * (1) What the planner's browser downloads: every built file, compressed as the server sends it, in three groups:
 * loaded with the page (index.html, its entry and the map worker with their static imports and CSS), loaded on
 * demand by the planner page (dynamic imports: print, charts, …), and the other pages' own files (sign-in, admin,
 * the phone page, the desks), which a browser on the planner never loads. The budget is the planner's first two.
 */
function bundleReport(): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(VIEWER_DIST, '.vite', 'manifest.json'), 'utf8')) as Record<string, ManifestChunk & { dynamicImports?: string[]; assets?: string[] }>;
  const onLoad = new Set(['index.html']);
  const onDemand = new Set<string>();
  const seen = new Set<string>();
  const visit = (key: string, into: Set<string>) => {
    if (seen.has(key)) return;
    seen.add(key);
    const chunk = manifest[key]!;
    for (const f of [chunk.file, ...(chunk.css ?? []), ...(chunk.assets ?? [])]) if (!onLoad.has(f)) into.add(f);
    for (const dep of chunk.imports ?? []) visit(dep, into);
    for (const dep of chunk.dynamicImports ?? []) visit(dep, onDemand);
  };
  visit('index.html', onLoad);
  visit('src/map/worker.ts', onLoad);

  const files = ['index.html', ...fs.readdirSync(path.join(VIEWER_DIST, 'assets')).filter((f) => !/\.(br|gz)$/.test(f)).map((f) => `assets/${f}`)];
  const size = (f: string, ext = '') => (fs.existsSync(path.join(VIEWER_DIST, f + ext)) ? fs.statSync(path.join(VIEWER_DIST, f + ext)).size / 1000 : 0);
  const sums = { now: { gz: 0, br: 0 }, later: { gz: 0, br: 0 }, other: { gz: 0, br: 0 } };
  console.log('bundle of the planner page (KB; gz and br as the server sends them):');
  for (const f of files) {
    const group = onLoad.has(f) ? 'now' : onDemand.has(f) ? 'later' : 'other';
    const [raw, gz, br] = [size(f), size(f, '.gz'), size(f, '.br')];
    sums[group].gz += gz;
    sums[group].br += br;
    if (group === 'other') continue;
    console.log(`  ${f.padEnd(44)} ${fmt(raw).padStart(7)} raw ${fmt(gz).padStart(6)} gz ${fmt(br).padStart(6)} br  ${group === 'now' ? '' : '(loaded later, on demand)'}`);
  }
  const total = sums.now.gz + sums.later.gz;
  console.log(
    `  with the page ${fmt(sums.now.gz)} KB gz (${fmt(sums.now.br)} br); on demand ${fmt(sums.later.gz)} KB gz; ` +
      `the planner's all ${fmt(total)} KB gz = ${fmt(total / BUDGET_KB, 2)} × the ${BUDGET_KB} KB budget ` +
      `(the other pages' own files, never loaded by the planner: ${fmt(sums.other.gz)} KB gz)\n`,
  );
}

/** Milliseconds from navigation to the viewer's first `idle` map, in a fresh context (cold) or a reload (warm). */
async function timeToIdle(browser: Browser, url: string): Promise<{ cold: number[]; warm: number[] }> {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    for (const into of [cold, warm]) {
      if (into === cold) await page.goto(url);
      else await page.reload();
      await page.waitForFunction(() => performance.getEntriesByName('citybase:first-idle').length > 0, null, { timeout: 60_000 });
      into.push(await page.evaluate(() => performance.getEntriesByName('citybase:first-idle')[0]!.startTime));
    }
    await context.close();
  }
  return { cold, warm };
}

/**
 * Frames the map draws per second for `seconds`, each animation frame either panning it a few pixels (round a
 * circle, so new tiles come in) or asking it to draw the same view again (the renderer's own ceiling here).
 */
async function framesPerSecond(page: Page, seconds: number, move: boolean): Promise<{ fps: number; p95: number }> {
  const frames = await page.evaluate(
    async ([ms, moving]) => {
      const { map } = (window as unknown as { citybase: { map: import('maplibre-gl').Map } }).citybase;
      const times: number[] = [];
      const onRender = () => times.push(performance.now());
      map.on('render', onRender);
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        const step = (now: number) => {
          const t = now - t0;
          if (t > ms) return resolve();
          const angle = (t / ms) * 2 * Math.PI;
          if (moving) map.panBy([8 * Math.cos(angle), 8 * Math.sin(angle)], { animate: false });
          else map.triggerRepaint();
          requestAnimationFrame(step);
        };
        requestAnimationFrame(step);
      });
      map.off('render', onRender);
      return times;
    },
    [seconds * 1000, move] as const,
  );
  const gaps = frames.slice(1).map((t, i) => t - frames[i]!);
  return { fps: frames.length / seconds, p95: quantile(gaps, 0.95) };
}

async function main(): Promise<void> {
  await ensureViewerBuilt((m) => console.log(m));
  bundleReport();

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-bench-viewer-'));
  fs.chmodSync(tmp, 0o755); // as root, the postgres OS user must traverse it
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  let url = process.env.DATABASE_URL;
  if (!url) {
    const cluster = await startEmbeddedCluster({ dataDir: path.join(tmp, 'pg'), settings: { fsync: 'off', synchronous_commit: 'off' } });
    cleanups.push(() => cluster.stop());
    url = cluster.url;
  }
  const config = loadConfig({ LOG_LEVEL: 'warn', LAYERS_DIR: path.join(root, 'layers') });
  const log = createLogger(config.LOG_LEVEL);
  const platform = await startPlatform(config, url, log);
  cleanups.push(() => platform.close());
  const t0 = Date.now();
  await loadSamplesOnce(platform.pool, log);
  console.log(`data: layers/ (${platform.registry.list().length} layers) and data-samples/ (${fmt((Date.now() - t0) / 1000)} s to load)`);
  const server = await listen(platform.app);
  cleanups.push(() => server.close());
  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  console.log(`browser: ${browser.version()} headless, WebGL through SwiftShader (CPU); nproc ${os.availableParallelism()}; ${RUNS} loads per figure\n`);

  // (2) Time to the first idle map: the default view (the base map over the whole city) vs no layer at all.
  const full = await timeToIdle(browser, `${server.url}/`);
  const empty = await timeToIdle(browser, `${server.url}/#layers=`);
  for (const cache of ['cold', 'warm'] as const) {
    const [f, e] = [median(full[cache]), median(empty[cache])];
    console.log(
      `first idle, ${cache} cache: base map ${fmt(f, 0).padStart(5)} ms (min ${fmt(Math.min(...full[cache]), 0)}, max ${fmt(Math.max(...full[cache]), 0)})` +
        `  vs no layers ${fmt(e, 0).padStart(5)} ms  = ${fmt(f / e, 2)}×`,
    );
  }

  // (3) Panning: the base map at street level in the city centre, then with every theme switched on.
  const all = platform.registry.list().map((s) => s.meta.id).join(',');
  for (const [name, hash] of [
    ['base map, z13', '#map=13/33.6/119.02'],
    ['all layers, z13', `#map=13/33.6/119.02&layers=${all}`],
  ] as const) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
    const page = await context.newPage();
    await page.goto(`${server.url}/${hash}`);
    await mapIdle(page, 60_000);
    const rest = await framesPerSecond(page, 2, false);
    const pan = await framesPerSecond(page, SECONDS, true);
    console.log(
      `panning, ${name.padEnd(16)} ${fmt(pan.fps).padStart(5)} frames/s (p95 frame ${fmt(pan.p95, 0)} ms)` +
        `  vs redrawing at rest ${fmt(rest.fps).padStart(5)} frames/s (p95 ${fmt(rest.p95, 0)} ms)  = ${fmt(pan.fps / rest.fps, 2)}×`,
    );
    await context.close();
  }
}

main()
  .then(() => finish(0))
  .catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    return finish(1);
  });
