import path from 'node:path';
import test from 'ava';
import type { Browser } from 'playwright-core';
import { loadSamplesOnce } from '../data-samples/load.ts';
import { createLogger } from '../tile-server/src/log.ts';
import {
  countColour,
  differingPixels,
  ensureViewerBuilt,
  launchChromium,
  listen,
  mapIdle,
  mapPixels,
  onMap,
  openViewer,
  screenPoint,
  screenshot,
  type Watched,
} from './helpers/browser.ts';
import { root, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

/**
 * The map viewer in a real browser (Debian's Chromium, WebGL through SwiftShader) against a real platform:
 * the project's layers/ and data-samples/ in a fresh database, served on a real port. This file: loading,
 * drawing, labels, the layer panel, the click popup, the language and the URL. The tools: viewer-tools.test.ts.
 */

let p: TestPlatform;
let server: Awaited<ReturnType<typeof listen>>;
let browser: Browser;
let first: Watched;

test.before(async () => {
  await ensureViewerBuilt();
  p = await startTestPlatform({}, { layersDir: path.join(root, 'layers'), fixtures: false });
  await loadSamplesOnce(p.platform.pool, createLogger('silent'));
  server = await listen(p.platform.app);
  browser = await launchChromium();
  first = await openViewer(browser, `${server.url}/`);
});
test.after.always(async () => {
  await browser?.close();
  await server?.close();
  await p?.close();
});

/** A sample place, as the database has it. */
async function place(nameZh: string | null, name: string) {
  const { rows } = await p.sql.query<{ name_zh: string | null; name: string; pop_max: number; lon: number; lat: number }>(
    `SELECT name_zh, name, pop_max, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM basemap.places
     WHERE name = $1 AND name_zh IS NOT DISTINCT FROM $2`,
    [name, nameZh],
  );
  if (rows.length !== 1) throw new Error(`sample place ${name} not found once`);
  return rows[0]!;
}

test.serial('the page loads without errors and asks nothing of any host but the server', async (t) => {
  await screenshot(first.page, 'viewer-initial');
  t.deepEqual(first.errors, []);
  const origin = new URL(server.url).origin;
  t.deepEqual(
    first.requests.filter((r) => !r.url.startsWith(`${origin}/`) && !/^(data|blob):/.test(r.url)),
    [],
  );
  const failed = first.requests.filter((r) => r.status !== undefined && r.status >= 400);
  t.deepEqual(
    failed.filter((r) => !/\/(identify|query|styles\/default\.json)(\?|$)/.test(r.url)),
    [],
    'nothing fails but the APIs that may not exist yet',
  );
  t.true(first.requests.some((r) => /\/tiles\/basemap_prefecture\/\d+\/\d+\/\d+\.mvt/.test(r.url)), 'tiles come from this server');
});

test.serial("the map opens on Huai'an and draws the base map: pixels, not just a canvas", async (t) => {
  const { page } = first;
  const [lon, lat] = await onMap(page, (map) => map.getCenter().toArray());
  const { rows } = await p.sql.query<{ inside: boolean }>(
    `SELECT ST_Intersects(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)) AS inside FROM basemap.prefecture`,
    [lon, lat],
  );
  t.true(rows[0]!.inside, `the centre ${lon}, ${lat} is in 淮安市`);
  const px = await mapPixels(page);
  // The city boundary's colour (#8E6C8A, basemap_prefecture-line) is drawn somewhere.
  t.true(countColour(px, [0x8e, 0x6c, 0x8a], undefined, 20) > 300, 'the city boundary is drawn');
  const distinct = new Set<number>();
  for (let i = 0; i < px.data.length; i += 4 * 97) distinct.add((px.data[i]! << 16) | (px.data[i + 1]! << 8) | px.data[i + 2]!);
  t.true(distinct.size > 20, `a map has many colours (${distinct.size} sampled)`);
});

test.serial('Chinese and Latin labels are drawn from local fonts, with no glyph server', async (t) => {
  const huaian = await place('淮安', 'Huaiyin');
  const shuyang = await place(null, 'Shuyang'); // no Chinese name: its label is the Latin one
  const { page } = await openViewer(browser, `${server.url}/#map=8.6/33.85/118.95&layers=basemap_prefecture,basemap_places`);
  await screenshot(page, 'viewer-labels');
  t.is(await onMap(page, (map) => map.getStyle().glyphs ?? null), null, 'the style names no glyph URL');
  const withLabels = await mapPixels(page);
  await onMap(page, (map) => map.setLayoutProperty('basemap_places-label', 'visibility', 'none'));
  const without = await mapPixels(page);
  const dpr = withLabels.width / (await page.locator('#map canvas').boundingBox())!.width;
  for (const pl of [huaian, shuyang]) {
    const at = await screenPoint(page, pl.lon, pl.lat, false);
    // The label hangs under its dot (text-anchor top, offset 1.1 em).
    const box = { x: Math.round((at.x - 50) * dpr), y: Math.round((at.y + 6) * dpr), w: Math.round(100 * dpr), h: Math.round(24 * dpr) };
    t.true(differingPixels(withLabels, without, box) > 40, `label of ${pl.name_zh ?? pl.name} drawn`);
  }
  await page.context().close();
});

test.serial('a click on a sample place opens its attributes under their Chinese labels', async (t) => {
  const huaian = await place('淮安', 'Huaiyin');
  const { page, errors } = await openViewer(browser, `${server.url}/#map=11/33.58/119.03&layers=basemap_places`);
  const at = await screenPoint(page, huaian.lon, huaian.lat);
  await page.mouse.click(at.x, at.y);
  const popup = page.locator('.identify');
  await popup.waitFor();
  await screenshot(page, 'viewer-identify');
  t.is(await popup.locator('h3').textContent(), '地名（城市）');
  const row = (key: string) => popup.locator(`tr[data-property="${key}"]`);
  t.is(await row('name_zh').locator('th').textContent(), '名称');
  t.is(await row('name_zh').locator('td').textContent(), huaian.name_zh);
  t.is(await row('name').locator('td').textContent(), huaian.name);
  t.is(await row('pop_max').locator('th').textContent(), '人口');
  t.is(await row('pop_max').locator('td').textContent(), `${huaian.pop_max.toLocaleString('zh-CN')} 人`);
  t.deepEqual(errors, []);
  await page.context().close();
});

test.serial('a restricted layer is absent for the public and present, with its tiles, for its department\'s key', async (t) => {
  t.is(await first.page.locator('#layer-civil_defence_key_targets').count(), 0, 'not in the public panel');
  const { key } = await p.platform.keys.create('rfb', 'viewer test');
  const { page, requests, errors } = await openViewer(browser, `${server.url}/?key=${key}#map=11/33.6/119.02&layers=civil_defence_key_targets`);
  t.true(await page.locator('#layer-civil_defence_key_targets').isChecked());
  const tiles = requests.filter((r) => r.url.includes('/tiles/civil_defence_key_targets/'));
  t.true(tiles.length > 0, 'its tiles were asked for');
  t.true(tiles.every((r) => new URL(r.url).searchParams.get('key') === key && (r.status === 200 || r.status === 204)), 'with the key, and served');
  t.deepEqual(errors, []);
  await page.context().close();
});

test.serial('without the identify API a click still shows the attributes, from the features on the map', async (t) => {
  const huaian = await place('淮安', 'Huaiyin');
  const { page } = await openViewer(browser, `${server.url}/#map=11/33.58/119.03&layers=basemap_places,basemap_prefecture`);
  await page.route('**/identify?*', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"not_found","message":"no route"}' }));
  const at = await screenPoint(page, huaian.lon, huaian.lat);
  await page.mouse.click(at.x, at.y);
  const popup = page.locator('.identify');
  await popup.locator('.note').waitFor();
  t.is(await popup.locator('.note').textContent(), '按地图上显示的要素识别');
  // The place is drawn above the city outline: it comes first, the outline on the next page.
  t.is(await popup.locator('h3').getAttribute('data-layer'), 'basemap_places');
  t.is(await popup.locator('tr[data-property="name_zh"] td').textContent(), '淮安');
  t.is(await popup.locator('.page').textContent(), '第 1 / 2 个');
  await popup.locator('button[aria-label="下一个"]').click();
  t.is(await popup.locator('h3').getAttribute('data-layer'), 'basemap_prefecture');
  t.is(await popup.locator('tr[data-property="adcode"] td').textContent(), '320800');
  await page.context().close();
});

test.serial('switching a theme off and on changes the map and the URL', async (t) => {
  const { page } = await openViewer(browser, `${server.url}/#map=8.6/33.4/118.95`);
  const before = await mapPixels(page);
  const basemap = page.locator('input[data-theme-toggle="basemap"]');
  t.true(await basemap.isChecked(), 'the base map is on by default');
  await basemap.uncheck();
  const off = await mapPixels(page);
  // Every other theme is off by default: what is left is the background (#EEF0F3) alone.
  const all = before.data.length / 4;
  t.true(countColour(before, [0xee, 0xf0, 0xf3], undefined, 1) < 0.5 * all, 'the base map covers the background');
  t.true(countColour(off, [0xee, 0xf0, 0xf3], undefined, 1) > 0.99 * all, 'only the background is left');
  const hash = await page.evaluate(() => location.hash);
  t.false(/basemap_/.test(new URLSearchParams(hash.slice(1)).get('layers') ?? ''), `layers gone from ${hash}`);
  for (const box of await page.locator('#theme-list-basemap input[type=checkbox]').all()) t.false(await box.isChecked());
  await basemap.check();
  t.true(countColour(await mapPixels(page), [0x8e, 0x6c, 0x8a], undefined, 20) > 300, 'the boundary is back');
  await page.context().close();
});

test.serial('the URL hash restores a view: centre, zoom, layers and their opacity', async (t) => {
  const url = `${server.url}/#map=10.5/33.6/119.05&layers=basemap_prefecture@0.5,basemap_places`;
  const { page, errors } = await openViewer(browser, url);
  const view = await onMap(page, (map) => ({ zoom: map.getZoom(), centre: map.getCenter().toArray() }));
  t.is(view.zoom, 10.5);
  t.deepEqual(view.centre.map((v) => Math.round(v * 1e4) / 1e4), [119.05, 33.6]);
  const checked = await page.$$eval('input[data-layer-toggle]', (els) => els.filter((e) => (e as HTMLInputElement).checked).map((e) => e.getAttribute('data-layer-toggle')));
  t.deepEqual(checked.sort(), ['basemap_places', 'basemap_prefecture']);
  t.is(await page.locator('input[data-layer-opacity="basemap_prefecture"]').inputValue(), '50');
  t.is(await onMap(page, (map) => map.getPaintProperty('basemap_prefecture-line', 'line-opacity')), 0.5);
  // Moving the map and changing a layer write the hash back, so the link reproduces the new view.
  await page.locator('input[data-layer-opacity="basemap_places"]').fill('30');
  await onMap(page, (map) => map.jumpTo({ center: [119.1, 33.5], zoom: 9 }));
  await page.waitForFunction(() => location.hash.includes('map=9/'));
  const hash = decodeURIComponent(await page.evaluate(() => location.hash));
  t.regex(hash, /layers=basemap_places@0\.3,basemap_prefecture@0\.5|layers=basemap_prefecture@0\.5,basemap_places@0\.3/);
  const again = await openViewer(browser, `${server.url}/${hash}`);
  t.is(await again.page.locator('input[data-layer-opacity="basemap_places"]').inputValue(), '30');
  t.is(await onMap(again.page, (map) => map.getZoom()), 9);
  t.deepEqual([...errors, ...again.errors], []);
  await page.context().close();
  await again.page.context().close();
});

test.serial('the language switch changes the panel to English and is remembered', async (t) => {
  const { page } = await openViewer(browser, `${server.url}/`);
  t.is(await page.locator('#panel-title').textContent(), '图层');
  t.is(await page.locator('label[for="theme-basemap"]').textContent(), '底图');
  t.is(await page.locator('label[for="layer-basemap_places"]').textContent(), '地名（城市）');
  t.is(await page.locator('.maplibregl-ctrl-zoom-in').getAttribute('title'), '放大');
  t.is(await page.locator('button[data-tool="distance"]').getAttribute('aria-label'), '测距');
  await page.locator('#lang').click();
  t.is(await page.locator('#panel-title').textContent(), 'Layers');
  t.is(await page.locator('label[for="theme-basemap"]').textContent(), 'Base map');
  t.is(await page.locator('label[for="layer-basemap_places"]').textContent(), 'Places (cities)');
  t.is(await page.evaluate(() => document.documentElement.lang), 'en');
  t.is(await page.locator('.maplibregl-ctrl-zoom-in').getAttribute('title'), 'Zoom in');
  t.is(await page.locator('button[data-tool="distance"]').getAttribute('aria-label'), 'Distance');
  await page.reload();
  await mapIdle(page);
  t.is(await page.locator('#panel-title').textContent(), 'Layers', 'still English after a reload');
  await page.locator('#lang').click();
  t.is(await page.locator('#panel-title').textContent(), '图层');
  await page.context().close();
});

test.serial('controls are reachable by keyboard with a visible focus, and the panel is a drawer on a tablet', async (t) => {
  const { page } = await openViewer(browser, `${server.url}/#map=9/33.5/119&layers=basemap_prefecture`);
  // Tab from the top of the page until the places switch has focus, then switch it with the space bar.
  let focused = '';
  // The base map is the panel's last theme: past every layer's opacity, filter, table and legend controls.
  for (let i = 0; i < 400 && focused !== 'layer-basemap_places'; i++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement?.id ?? '');
  }
  t.is(focused, 'layer-basemap_places');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
  t.not(outline, 'none', 'the focus is visible');
  await page.keyboard.press('Space');
  t.true(await page.locator('#layer-basemap_places').isChecked());
  t.regex(await page.evaluate(() => location.hash), /basemap_places/);
  await page.context().close();

  const tablet = await openViewer(browser, `${server.url}/`, { viewport: { width: 800, height: 1280 }, hasTouch: true, isMobile: true });
  await screenshot(tablet.page, 'viewer-tablet');
  const toggle = tablet.page.locator('#panel-toggle');
  t.true(await toggle.isVisible());
  t.is(await toggle.getAttribute('aria-expanded'), 'false');
  t.false(await tablet.page.locator('#panel').isVisible(), 'the panel leaves the map to the inspector');
  await toggle.tap();
  t.true(await tablet.page.locator('#panel').isVisible());
  await screenshot(tablet.page, 'viewer-tablet-panel');
  t.deepEqual(tablet.errors, []);
  await tablet.page.context().close();

  // An inspector taps a place: its attributes open as for a click.
  const huaian = await place('淮安', 'Huaiyin');
  const inspector = await openViewer(browser, `${server.url}/#map=11/33.58/119.03&layers=basemap_places`, { viewport: { width: 800, height: 1280 }, hasTouch: true, isMobile: true });
  const at = await screenPoint(inspector.page, huaian.lon, huaian.lat);
  await inspector.page.touchscreen.tap(at.x, at.y);
  await inspector.page.locator('.identify tr[data-property="name_zh"]').waitFor();
  t.is(await inspector.page.locator('.identify tr[data-property="name_zh"] td').textContent(), '淮安');
  await inspector.page.context().close();
});
