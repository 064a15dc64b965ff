import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import path from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { root } from './platform.ts';

/**
 * Browser tests of the map viewer: Debian's Chromium (no browser download) driven by playwright-core, the
 * viewer built fresh when its sources changed, and helpers to read what the page did and what the map drew.
 */
export const CHROMIUM = '/usr/bin/chromium';
export const artifacts = path.join(root, 'test-results');
const viewerDir = path.join(root, 'map-viewer');
const distIndex = path.join(viewerDir, 'dist', 'index.html');

/** Newest modification time among the files a build reads (the viewer's sources, MapLibre, the lock file). */
function newestInput(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'dist' || e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  walk(viewerDir);
  for (const f of ['package-lock.json', 'node_modules/maplibre-gl/package.json']) newest = Math.max(newest, statSync(path.join(root, f)).mtimeMs);
  return newest;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    // ava sets NODE_ENV=test, which would make Vite build a development bundle.
    const env = { ...process.env, NODE_ENV: 'production' };
    const child = spawn(path.join(root, 'node_modules', '.bin', cmd), args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}):\n${out}`))));
  });
}

/** Test files run in parallel: one builds, the others wait for it (a directory is created atomically). */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  // Under node_modules/.cache: ignored by git, and gone with a fresh install if a killed run left it.
  const lock = path.join(root, 'node_modules', '.cache', 'citybase-viewer-build.lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 5 * 60_000) rmSync(lock, { recursive: true, force: true }); // left by a killed run
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Build map-viewer/dist unless it is newer than every input, type-checking the viewer first: a stale build
 * must never hide a change from the tests.
 */
export async function ensureViewerBuilt(log: (msg: string) => void = console.error): Promise<void> {
  await withBuildLock(async () => {
    const built = statSync(distIndex, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (built > newestInput()) return;
    log(`building the map viewer: map-viewer/dist is ${built ? 'older than its sources' : 'missing'} (tsc -p map-viewer, then vite build)`);
    await run('tsc', ['--noEmit', '-p', 'map-viewer']);
    await run('vite', ['build', '--config', 'map-viewer/vite.config.ts', '--logLevel', 'warn']);
  });
}

/**
 * Headless Chromium with WebGL through SwiftShader (no GPU here), and nothing that phones home. `extraArgs`: e.g.
 * `--host-resolver-rules=MAP dept.example.gov.cn 127.0.0.1` to give local servers real host names (origins).
 */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--enable-unsafe-swiftshader',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--disable-features=Translate,OptimizationHints,MediaRouter',
      ...extraArgs,
    ],
  });
}

/** Serve a koa app on a free 127.0.0.1 port. */
export async function listen(app: { listen(port: number, host: string): Server }): Promise<{ url: string; close(): Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A page and everything it did: requests (URL, status) and errors (console errors, uncaught exceptions). */
export interface Watched {
  page: Page;
  requests: Array<{ url: string; status?: number }>;
  errors: string[];
}

export async function openViewer(browser: Browser, url: string, options: BrowserContextOptions = {}): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', acceptDownloads: true, ...options });
  // tsx compiles the tests with esbuild's keepNames, so functions handed to page.evaluate call `__name`.
  await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  const page = await context.newPage();
  const watched: Watched = { page, requests: [], errors: [] };
  page.on('request', (r) => void watched.requests.push({ url: r.url() }));
  page.on('response', (r) => {
    const entry = [...watched.requests].reverse().find((q) => q.url === r.url() && q.status === undefined);
    if (entry) entry.status = r.status();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') watched.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => void watched.errors.push(`page: ${e.message}`));
  await page.goto(url);
  try {
    await mapIdle(page);
  } catch (err) {
    const failed = watched.requests.filter((r) => r.status === undefined || r.status >= 400).map((r) => `${r.status ?? 'pending'} ${r.url}`);
    throw new Error(`${(err as Error).message}\npage errors: ${watched.errors.join('\n') || 'none'}\nfailed or pending requests: ${failed.join('\n') || 'none'}`);
  }
  return watched;
}

/** Wait until the map has drawn everything it has to draw (MapLibre's `idle`), failing after `timeoutMs`. */
export async function mapIdle(page: Page, timeoutMs = 30_000): Promise<void> {
  await page.waitForFunction(() => Boolean((window as unknown as { citybase?: unknown }).citybase), null, { timeout: timeoutMs });
  const idle = await page.evaluate(
    (ms) =>
      new Promise<boolean>((resolve) => {
        const { map } = (window as unknown as { citybase: { map: import('maplibre-gl').Map } }).citybase;
        setTimeout(() => resolve(false), ms);
        map.once('idle', () => resolve(true));
        map.triggerRepaint();
      }),
    timeoutMs,
  );
  if (!idle) throw new Error(`the map did not become idle within ${timeoutMs} ms (style or tiles failing?)`);
}

/** The map canvas's pixels (RGBA, device pixels) as drawn in the next frame: what the map shows, no DOM on top. */
export async function mapPixels(page: Page): Promise<{ width: number; height: number; data: Uint8Array }> {
  await mapIdle(page);
  const { width, height, b64 } = await page.evaluate(async () => {
    const { map } = (window as unknown as { citybase: { map: import('maplibre-gl').Map } }).citybase;
    const url = await new Promise<string>((resolve) => {
      map.once('render', () => resolve(map.getCanvas().toDataURL('image/png')));
      map.triggerRepaint();
    });
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    const bytes = ctx.getImageData(0, 0, img.width, img.height).data;
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return { width: img.width, height: img.height, b64: btoa(s) };
  });
  return { width, height, data: new Uint8Array(Buffer.from(b64, 'base64')) };
}

/** Pixels of a region whose colour is within `tolerance` of `rgb` (each channel). */
export function countColour(px: { width: number; data: Uint8Array }, rgb: [number, number, number], box?: { x: number; y: number; w: number; h: number }, tolerance = 12): number {
  const { x = 0, y = 0, w = px.width, h = px.data.length / 4 / px.width } = box ?? {};
  let n = 0;
  for (let j = y; j < y + h; j++)
    for (let i = x; i < x + w; i++) {
      const o = (j * px.width + i) * 4;
      if (Math.abs(px.data[o]! - rgb[0]) <= tolerance && Math.abs(px.data[o + 1]! - rgb[1]) <= tolerance && Math.abs(px.data[o + 2]! - rgb[2]) <= tolerance) n++;
    }
  return n;
}

/** How many pixels of a region differ between two captures of the same size. */
export function differingPixels(a: { width: number; data: Uint8Array }, b: { data: Uint8Array }, box?: { x: number; y: number; w: number; h: number }): number {
  const { x = 0, y = 0, w = a.width, h = a.data.length / 4 / a.width } = box ?? {};
  let n = 0;
  for (let j = y; j < y + h; j++)
    for (let i = x; i < x + w; i++) {
      const o = (j * a.width + i) * 4;
      if (Math.abs(a.data[o]! - b.data[o]!) + Math.abs(a.data[o + 1]! - b.data[o + 1]!) + Math.abs(a.data[o + 2]! - b.data[o + 2]!) > 30) n++;
    }
  return n;
}

/** Save a screenshot to test-results/ (a test artifact), the map freshly drawn first. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await mapIdle(page, 10_000).catch(() => {}); // a picture of a half-drawn map is still worth having
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
}

type MapLibreMap = import('maplibre-gl').Map;

/** Run a function on the page's map (the viewer exposes it as `window.citybase.map`). */
export async function onMap<R, A = undefined>(page: Page, fn: (map: MapLibreMap, arg: A) => R | Promise<R>, arg?: A): Promise<R> {
  const handle = await page.evaluateHandle(() => (window as unknown as { citybase: { map: MapLibreMap } }).citybase.map);
  try {
    // Playwright's types cannot follow a generic function through; the value comes back as R.
    return (await handle.evaluate(fn as never, arg as never)) as R;
  } finally {
    await handle.dispose();
  }
}

/** Where a lon/lat is on the screen: in page coordinates (for the mouse), or in the map canvas's CSS pixels. */
export async function screenPoint(page: Page, lon: number, lat: number, inPage = true): Promise<{ x: number; y: number }> {
  const p = await onMap(page, (map, ll) => map.project(ll), [lon, lat] as [number, number]);
  if (!inPage) return { x: p.x, y: p.y };
  const box = (await page.locator('#map canvas').boundingBox())!;
  return { x: box.x + p.x, y: box.y + p.y };
}
