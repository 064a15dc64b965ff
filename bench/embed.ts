// `npm run bench:embed`: the map widget (issue 13 §3) in headless Chromium (Debian's, WebGL through SwiftShader: no
// GPU, so worst-case numbers for a city PC) against the platform with layers/ and data-samples/. In one run:
// (1) the bytes the embed page ships, gzip, as the server sends them (goal ≤ 300 KB, MapLibre included);
// (2) time from navigation to the first map `idle` of the embed page (`/embed/?key=…`, and a saved widget's
//     `/embed/{id}`) against a bare page of stock MapLibre (node_modules/maplibre-gl/dist, served by this bench)
//     given the very style the widget builds: same layers, same view, same tiles from the same platform; the
//     pages alternate order, cold cache each (a fresh browser context), then a reload (warm) (goal ≤ 1.2×);
// (3) a host page with four widgets against one with one: time until all are idle, the longest main-thread task
//     and the total blocking time while they load (from a Chromium trace: the host page and the widgets are one
//     site, as sthjj.huaian.gov.cn and gis.huaian.gov.cn are, so they share a renderer process and its main
//     thread), and frames per second while one widget pans with the others loaded, with the host page's own.
// Env: DATABASE_URL (else an embedded cluster in a temp dir), BENCH_RUNS (loads per page in (2), default 7),
// BENCH_HOST_RUNS (loads per host page in (3), default 3), BENCH_SECONDS (per pan, default 5), BENCH_SKIP=idle,
// BENCH_TRACE (a directory for the host pages' traces).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { loadSamplesOnce } from '../data-samples/load.ts';
import { widgetStyle, type CatalogLayer } from '../map-viewer/src/embed/widget.ts';
import { EmbedWidgets } from '../tile-server/src/access/widgets.ts';
import { loadConfig } from '../tile-server/src/config.ts';
import { startEmbeddedCluster } from '../tile-server/src/db/embedded.ts';
import { createQueryRunner } from '../tile-server/src/db/query.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { startPlatform } from '../tile-server/src/platform.ts';
import { VIEWER_DIST } from '../tile-server/src/routes/viewer.ts';
import { ensureViewerBuilt, launchChromium, listen } from '../test/helpers/browser.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const HOST_RUNS = Number(process.env.BENCH_HOST_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** `BENCH_SKIP=idle`: one run of (2) only (to try (3) quickly). */
const SKIP = (process.env.BENCH_SKIP ?? '').split(',');
const BUDGET_KB = 300;
const GOAL_RATIO = 1.2;
/** A department's widget: its stations and noise zones over land use, in the city centre. */
const LAYERS = ['environment_air_stations', 'environment_noise_zones', 'planning_land_use'];
const CENTER: [number, number] = [119.02, 33.6];
const ZOOM = 12;
const VIEWPORT = { width: 800, height: 500 };
/** The four widgets of the host page: the city centre and three neighbouring views. */
const VIEWS: Array<[number, number]> = [CENTER, [119.1, 33.6], [119.02, 33.52], [119.1, 33.52]];

const fmt = (v: number, d = 0) => v.toFixed(d);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

const cleanups: Array<() => unknown> = [];
async function finish(code: number): Promise<never> {
  for (const undo of cleanups.reverse()) await Promise.resolve().then(undo).catch((e: Error) => console.error(`cleanup: ${e.message}`));
  process.exit(code);
}
process.on('SIGINT', () => void finish(130));
process.on('SIGTERM', () => void finish(143));

/** GET with Accept-Encoding: gzip; the bytes on the wire and how they were encoded. */
function wireBytes(url: string): Promise<{ status: number; bytes: number; encoding: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, encoding: String(res.headers['content-encoding'] ?? 'identity') }));
      })
      .on('error', reject);
  });
}

/** (1) The embed page and every file it loads (its chunks, their CSS, MapLibre's worker), gzip, from the server. */
async function shippedBytes(platform: string, key: string): Promise<void> {
  type Chunk = { file: string; imports?: string[]; css?: string[] };
  const manifest = JSON.parse(fs.readFileSync(path.join(VIEWER_DIST, 'embed', '.vite', 'manifest.json'), 'utf8')) as Record<string, Chunk>;
  const seen = new Set<string>();
  const walk = (k: string) => {
    if (seen.has(k)) return;
    seen.add(k);
    for (const i of manifest[k]!.imports ?? []) walk(i);
  };
  walk('embed/index.html');
  walk('src/map/worker.ts');
  const files = [...new Set([...seen].flatMap((k) => [manifest[k]!.file, ...(manifest[k]!.css ?? [])]))].filter((f) => f !== 'embed/index.html');
  const page = await wireBytes(`${platform}/embed/?key=${key}&layers=${LAYERS.join(',')}`);
  let total = page.bytes;
  const parts = [`page ${fmt(page.bytes / 1000, 1)} (${page.encoding})`];
  for (const f of files) {
    const r = await wireBytes(`${platform}/${f}`);
    if (r.status !== 200 || r.encoding !== 'gzip') throw new Error(`${f}: HTTP ${r.status}, ${r.encoding}`);
    total += r.bytes;
    parts.push(`${path.basename(f)} ${fmt(r.bytes / 1000, 1)}`);
  }
  const stock = ['maplibre-gl.mjs', 'maplibre-gl-worker.mjs', 'maplibre-gl.css'].reduce((s, f) => s + stockFiles.get(f)!.gzip.length, 0);
  console.log(`embed page ships: ${fmt(total / 1000, 1)} KB gzip (goal ≤ ${BUDGET_KB} KB, MapLibre and its worker included): ${parts.join(', ')} KB`);
  console.log(`  (stock MapLibre alone, as the bare page loads it: ${fmt(stock / 1000, 1)} KB gzip)\n`);
}

/** Stock MapLibre from node_modules, compressed once as a platform would serve it. */
const stockFiles = new Map<string, { body: Buffer; gzip: Buffer; br: Buffer; type: string }>();
function loadStockMapLibre(): void {
  const dist = path.join(root, 'node_modules', 'maplibre-gl', 'dist');
  for (const f of ['maplibre-gl.mjs', 'maplibre-gl-worker.mjs', 'maplibre-gl.css']) {
    const body = fs.readFileSync(path.join(dist, f));
    stockFiles.set(f, {
      body,
      gzip: zlib.gzipSync(body, { level: 9 }),
      br: zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }),
      type: f.endsWith('.css') ? 'text/css' : 'text/javascript',
    });
  }
}

/** The bare page: stock MapLibre given the widget's own style, nothing else. */
function barePage(style: unknown): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>bare MapLibre</title>
<link rel="stylesheet" href="/maplibre/maplibre-gl.css">
<style>html, body { margin: 0; height: 100%; } #map { position: absolute; inset: 0; }</style></head>
<body><div id="map"></div>
<script type="module">
import * as maplibregl from '/maplibre/maplibre-gl.mjs';
const map = new maplibregl.Map({ container: 'map', style: ${JSON.stringify(style)}, center: ${JSON.stringify(CENTER)}, zoom: ${ZOOM} });
window.citybase = { map };
map.once('idle', () => performance.mark('citybase:first-idle'));
</script></body></html>`;
}

/** A department's page with `n` widgets in iframes, two by two. */
function hostPage(platform: string, key: string, n: number): string {
  const frames = VIEWS.slice(0, n)
    .map((c, i) => `<iframe id="w${i}" src="${platform}/embed/?key=${key}&layers=${LAYERS.join(',')}&center=${c.join(',')}&zoom=${ZOOM}" width="480" height="320" style="border:0"></iframe>`)
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${n} widgets</title>
<style>body { margin: 8px; display: grid; grid-template-columns: 480px 480px; gap: 8px; }</style></head><body>
${frames}</body></html>`;
}

/** The bench's own server: the bare page, stock MapLibre and the host pages (another origin than the platform). */
async function benchServer(pages: Map<string, string>): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const stock = url.pathname.startsWith('/maplibre/') ? stockFiles.get(url.pathname.slice('/maplibre/'.length)) : undefined;
    if (stock) {
      const accepts = String(req.headers['accept-encoding'] ?? '');
      const [encoding, body] = /\bbr\b/.test(accepts) ? ['br', stock.br] : /\bgzip\b/.test(accepts) ? ['gzip', stock.gzip] : ['identity', stock.body];
      res.writeHead(200, { 'Content-Type': stock.type, 'Content-Encoding': encoding, 'Cache-Control': 'public, max-age=31536000, immutable', Vary: 'Accept-Encoding' });
      return res.end(body);
    }
    const html = pages.get(url.pathname);
    res.writeHead(html ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
    res.end(html ?? 'not found');
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function newContext(browser: Browser, viewport = VIEWPORT): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport });
  await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  return context;
}

/**
 * Main-thread tasks of the renderer processes that drew the given URLs' frames, from a Chromium trace: what the
 * DevTools performance panel shows as long tasks, whatever frame they ran for (the widgets' rendering updates
 * run in one task for all of them, which PerformanceObserver('longtask') reports to no frame at all). For each,
 * how much of it was script (the widgets' and MapLibre's JavaScript) and how much a compositor commit (the main
 * thread waiting for the frame to be handed over, which with SwiftShader means waiting for the CPU to draw).
 */
function rendererTasks(trace: Buffer, urlPrefixes: string[]): { processes: number; tasks: Array<{ ms: number; script: number; commit: number }> } {
  type Ev = { name: string; ph: string; pid: number; tid: number; ts: number; dur?: number; args?: { name?: string; data?: { url?: string; processId?: number; frames?: Array<{ url: string; processId: number }> } } };
  const events = (JSON.parse(trace.toString('utf8')) as { traceEvents: Ev[] }).traceEvents;
  const pids = new Set<number>();
  for (const e of events) {
    const frames = [...(e.args?.data?.frames ?? []), ...(e.args?.data?.url && e.args.data.processId ? [{ url: e.args.data.url, processId: e.args.data.processId }] : [])];
    for (const f of frames) if (urlPrefixes.some((u) => f.url.startsWith(u))) pids.add(f.processId);
  }
  const mains = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && pids.has(e.pid)).map((e) => `${e.pid}:${e.tid}`));
  const onMain = events.filter((e) => e.ph === 'X' && mains.has(`${e.pid}:${e.tid}`));
  /** Milliseconds of a task covered by events of these names (nested ones counted once). */
  const covered = (task: Ev, names: readonly string[]) => {
    const spans = onMain
      .filter((e) => names.includes(e.name) && e.pid === task.pid && e.tid === task.tid && e.ts >= task.ts && e.ts < task.ts + task.dur!)
      .map((e) => [e.ts, Math.min(e.ts + (e.dur ?? 0), task.ts + task.dur!)] as const)
      .sort((a, b) => a[0] - b[0]);
    let sum = 0;
    let end = -Infinity;
    for (const [a, b] of spans) {
      if (b > end) sum += b - Math.max(a, end);
      end = Math.max(end, b);
    }
    return sum / 1000;
  };
  const tasks = onMain
    .filter((e) => e.name === 'RunTask')
    .map((e) => {
      const ms = (e.dur ?? 0) / 1000;
      // Only long tasks are taken apart (the trace holds tens of thousands of events).
      return ms > 50 ? { ms, script: covered(e, ['FunctionCall', 'EvaluateScript', 'v8.evaluateModule', 'v8.compile']), commit: covered(e, ['Commit']) } : { ms, script: 0, commit: 0 };
    });
  return { processes: pids.size, tasks };
}

/** When a frame's map first went idle, in ms after the frame's navigation began (absolute too). */
async function firstIdle(frame: Page | Frame): Promise<{ ms: number; at: number }> {
  await frame.waitForFunction(() => performance.getEntriesByName('citybase:first-idle').length > 0, null, { timeout: 120_000 });
  return frame.evaluate(() => {
    const ms = performance.getEntriesByName('citybase:first-idle')[0]!.startTime;
    return { ms, at: performance.timeOrigin + ms };
  });
}

/** (2) First idle of each page, cold (a fresh context) then warm (a reload), the pages' order rotating per run. */
async function compareFirstIdle(browser: Browser, pages: Array<{ name: string; url: string }>, runs: number): Promise<Map<string, { cold: number[]; warm: number[] }>> {
  const out = new Map(pages.map((p) => [p.name, { cold: [] as number[], warm: [] as number[] }]));
  for (let i = 0; i < runs; i++) {
    const order = pages.map((_, j) => pages[(i + j) % pages.length]!);
    for (const p of order) {
      const context = await newContext(browser);
      const page = await context.newPage();
      await page.goto(p.url);
      out.get(p.name)!.cold.push((await firstIdle(page)).ms);
      await page.reload();
      out.get(p.name)!.warm.push((await firstIdle(page)).ms);
      await context.close();
    }
  }
  return out;
}

/** Frames the map draws per second while panning round a circle (new tiles come in), and the host page's own frames meanwhile. */
async function panning(host: Page, frame: Frame, seconds: number): Promise<{ fps: number; p95: number; hostFps: number; hostMaxGap: number }> {
  await host.evaluate(() => {
    const w = window as unknown as { probe: { times: number[]; on: boolean } };
    w.probe = { times: [], on: true };
    const tick = (t: number) => {
      if (!w.probe.on) return;
      w.probe.times.push(t);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const frames = await frame.evaluate(async (ms) => {
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
        map.panBy([8 * Math.cos(angle), 8 * Math.sin(angle)], { animate: false });
        requestAnimationFrame(step);
      };
      requestAnimationFrame(step);
    });
    map.off('render', onRender);
    return times;
  }, seconds * 1000);
  const hostTimes = await host.evaluate(() => {
    const w = window as unknown as { probe: { times: number[]; on: boolean } };
    w.probe.on = false;
    return w.probe.times;
  });
  const gaps = (ts: number[]) => ts.slice(1).map((t, i) => t - ts[i]!);
  return { fps: frames.length / seconds, p95: quantile(gaps(frames), 0.95), hostFps: hostTimes.length / seconds, hostMaxGap: Math.max(...gaps(hostTimes)) };
}

interface HostRun {
  allIdle: number;
  /** The longest main-thread task, with its script and commit parts. */
  longest: { ms: number; script: number; commit: number };
  /** The most script any one task ran. */
  longestScript: number;
  blocking: number;
  /** Renderer processes of the host page and its widgets (one: they share a main thread). */
  processes: number;
  pan: { fps: number; p95: number; hostFps: number; hostMaxGap: number };
}

/** (3) One load of a host page: all widgets idle, the main-thread tasks until then (traced), then panning the first widget. */
async function hostRun(browser: Browser, url: string, platform: string, n: number): Promise<HostRun> {
  const context = await newContext(browser, { width: 1000, height: 700 });
  try {
    const page = await context.newPage();
    await browser.startTracing(page, { categories: ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline'] });
    let tracing = true;
    try {
      await page.goto(url);
      const origin = await page.evaluate(() => performance.timeOrigin);
      const frames = await Promise.all(Array.from({ length: n }, async (_, i) => (await page.waitForSelector(`#w${i}`)).contentFrame().then((f) => f!)));
      const idle = await Promise.all(frames.map((f) => firstIdle(f)));
      tracing = false;
      const trace = await browser.stopTracing();
      // BENCH_TRACE=dir keeps the traces, for chrome://tracing or the DevTools performance panel.
      if (process.env.BENCH_TRACE) fs.writeFileSync(path.join(process.env.BENCH_TRACE, `${path.basename(url, '.html')}-${Date.now()}.json`), trace);
      const { processes, tasks } = rendererTasks(trace, [url, platform]);
      const longest = tasks.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0, script: 0, commit: 0 });
      const pan = await panning(page, frames[0]!, SECONDS);
      return {
        allIdle: Math.max(...idle.map((x) => x.at)) - origin,
        longest,
        longestScript: Math.max(0, ...tasks.map((t) => t.script)),
        blocking: tasks.reduce((s, t) => s + Math.max(0, t.ms - 50), 0),
        processes,
        pan,
      };
    } finally {
      if (tracing) await browser.stopTracing().catch(() => {});
    }
  } finally {
    await context.close();
  }
}

async function main(): Promise<void> {
  await ensureViewerBuilt((m) => console.log(m));
  loadStockMapLibre();

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-bench-embed-'));
  fs.chmodSync(tmp, 0o755); // as root, the postgres OS user must traverse it
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  let dbUrl = process.env.DATABASE_URL;
  if (!dbUrl) {
    const cluster = await startEmbeddedCluster({ dataDir: path.join(tmp, 'pg'), settings: { fsync: 'off', synchronous_commit: 'off' } });
    cleanups.push(() => cluster.stop());
    dbUrl = cluster.url;
  }
  const config = loadConfig({ LOG_LEVEL: 'warn', LAYERS_DIR: path.join(root, 'layers') });
  const log = createLogger(config.LOG_LEVEL);
  const platform = await startPlatform(config, dbUrl, log);
  cleanups.push(() => platform.close());
  const t0 = Date.now();
  await loadSamplesOnce(platform.pool, log);
  console.log(`data: layers/ (${platform.registry.list().length} layers) and data-samples/ (${fmt((Date.now() - t0) / 1000, 1)} s to load)`);
  const server = await listen(platform.app);
  cleanups.push(() => server.close());
  const pages = new Map<string, string>();
  const bench = await benchServer(pages);
  cleanups.push(() => bench.close());

  // The department's key, bound to the bench's origin; a rate no run reaches (the widget's 429s are tested elsewhere).
  const { id: keyId, key } = await platform.keys.createEmbed('sthj', { origins: [bench.url], layers: LAYERS, ratePerMinute: 1_000_000, label: 'bench:embed' });
  const { widget } = await new EmbedWidgets(createQueryRunner(platform.pool)).save(null, null, {
    keyId, label: 'bench', layers: LAYERS, center: CENTER, zoom: ZOOM, controls: ['zoom', 'scale', 'legend', 'identify'], lang: 'zh', width: 800, height: 500,
  });
  const catalog = await fetch(`${server.url}/layers?key=${key}`, { headers: { Origin: bench.url } });
  if (!catalog.ok) throw new Error(`GET /layers: HTTP ${catalog.status}`);
  const { style, shown } = widgetStyle(((await catalog.json()) as { layers: CatalogLayer[] }).layers, LAYERS);
  pages.set('/bare.html', barePage(style));
  pages.set('/four.html', hostPage(server.url, key, 4));
  pages.set('/one.html', hostPage(server.url, key, 1));

  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  console.log(`browser: ${browser.version()} headless, WebGL through SwiftShader (CPU); nproc ${os.availableParallelism()}`);
  console.log(`widget: ${shown.map((l) => l.id).join(', ')} at ${CENTER.join(',')} z${ZOOM}, ${VIEWPORT.width}×${VIEWPORT.height}\n`);

  await shippedBytes(server.url, key);

  const embedUrl = `${server.url}/embed/?key=${key}&layers=${LAYERS.join(',')}&center=${CENTER.join(',')}&zoom=${ZOOM}`;
  const contenders = [
    { name: 'embed', url: embedUrl },
    { name: 'bare', url: `${bench.url}/bare.html` },
    { name: 'saved', url: `${server.url}/embed/${widget.id}` },
  ];
  await compareFirstIdle(browser, contenders, 1); // warm-up: the server's tile cache, the OS's file cache
  const idle = await compareFirstIdle(browser, contenders, SKIP.includes('idle') ? 1 : RUNS);
  for (const cache of ['cold', 'warm'] as const) {
    const [e, b, s] = ['embed', 'bare', 'saved'].map((n) => median(idle.get(n)![cache]));
    const range = (n: string) => `${fmt(Math.min(...idle.get(n)![cache]))}–${fmt(Math.max(...idle.get(n)![cache]))}`;
    console.log(
      `embed first idle${cache === 'warm' ? ' (warm cache)' : ''}: median ${fmt(e!)} ms; bare MapLibre: median ${fmt(b!)} ms; ratio ${fmt(e! / b!, 2)}× (goal ≤ ${GOAL_RATIO}×)` +
        `  [ranges ${range('embed')} / ${range('bare')} ms; saved widget /embed/{id}: median ${fmt(s!)} ms, ${fmt(s! / b!, 2)}×; ${RUNS} runs each, order rotating]`,
    );
  }
  console.log('');

  const runs: Record<'four' | 'one', HostRun[]> = { four: [], one: [] };
  await hostRun(browser, `${bench.url}/four.html`, server.url, 4); // warm-up: the four views' tiles
  for (let i = 0; i < HOST_RUNS; i++)
    for (const n of i % 2 ? (['one', 'four'] as const) : (['four', 'one'] as const)) runs[n].push(await hostRun(browser, `${bench.url}/${n}.html`, server.url, n === 'four' ? 4 : 1));
  const m = (n: 'four' | 'one', f: (r: HostRun) => number) => median(runs[n].map(f));
  const line = (label: string, f: (r: HostRun) => number, unit: string, d = 0) =>
    `${label}: four widgets ${fmt(m('four', f), d)} ${unit} vs one widget ${fmt(m('one', f), d)} ${unit}; ratio ${fmt(m('four', f) / Math.max(1e-9, m('one', f)), 2)}×`;
  const procs = [...new Set([...runs.four, ...runs.one].map((r) => r.processes))].join(' or ');
  console.log(`host page, medians of ${HOST_RUNS} loads each (host and widgets in ${procs} renderer process(es); main-thread tasks from a Chromium trace until all are idle):`);
  console.log(`  ${line('all widgets idle after', (r) => r.allIdle, 'ms')}`);
  console.log(
    `  ${line('longest main-thread task while loading', (r) => r.longest.ms, 'ms')} ` +
      `(four: ${fmt(m('four', (r) => r.longest.commit))} ms of it a compositor commit, ${fmt(m('four', (r) => r.longest.script))} ms script)`,
  );
  console.log(`  ${line('most script in one task', (r) => r.longestScript, 'ms')}`);
  console.log(`  ${line('total blocking time while loading', (r) => r.blocking, 'ms')}`);
  console.log(`  ${line(`panning one widget (${SECONDS} s)`, (r) => r.pan.fps, 'frames/s', 1)} (p95 frame ${fmt(m('four', (r) => r.pan.p95))} vs ${fmt(m('one', (r) => r.pan.p95))} ms)`);
  console.log(`  ${line('the host page meanwhile', (r) => r.pan.hostFps, 'frames/s', 1)} (longest gap ${fmt(m('four', (r) => r.pan.hostMaxGap))} vs ${fmt(m('one', (r) => r.pan.hostMaxGap))} ms)`);
}

main()
  .then(() => finish(0))
  .catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    return finish(1);
  });
