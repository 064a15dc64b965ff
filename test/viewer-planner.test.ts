import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { loadSamplesOnce } from '../data-samples/load.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { artifacts, countColour, ensureViewerBuilt, launchChromium, listen, mapIdle, mapPixels, onMap, openViewer, screenPoint, screenshot } from './helpers/browser.ts';
import { eventually, root, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

/**
 * Issue 14, what a planner tried and could not do, in a real browser on a desktop and on a phone: identify
 * order, highlight and keyboard (§1), legends and layer order (§2), the print layout (§5), air quality (§6),
 * phones (§7), service errors, loading and keys (§8), and the table, filters, time, base maps and bookmarks
 * (§9). Expected values come from PostGIS for the very places the test clicks.
 */

let p: TestPlatform;
let server: Awaited<ReturnType<typeof listen>>;
let browser: Browser;

const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true, isMobile: true };

test.before(async () => {
  await ensureViewerBuilt();
  p = await startTestPlatform({}, { layersDir: path.join(root, 'layers'), fixtures: false });
  await loadSamplesOnce(p.platform.pool, createLogger('silent'));
  server = await listen(p.platform.app);
  browser = await launchChromium();
});
test.after.always(async () => {
  await browser?.close();
  await server?.close();
  await p?.close();
});

/** The point deepest inside the feature of `table` nearest to a place (a safe place to click). */
async function inside(table: string, lon: number, lat: number, where = 'true'): Promise<{ lon: number; lat: number; id: number }> {
  const { rows } = await p.sql.query<{ lon: number; lat: number; id: number }>(
    `SELECT ST_X(c) AS lon, ST_Y(c) AS lat, id FROM (
       SELECT id, (ST_MaximumInscribedCircle(geom)).center AS c FROM ${table}
       WHERE ${where} ORDER BY geom <-> ST_SetSRID(ST_MakePoint($1, $2), 4326) LIMIT 1) x`,
    [lon, lat],
  );
  return rows[0]!;
}

async function close(page: Page): Promise<void> {
  await page.context().close();
}

const SHELTERS = 'civil_defence.shelters';
const BASE = 'basemap_districts,basemap_labels,basemap_roads,basemap_streets,basemap_water,basemap_communities';

// §1 ------------------------------------------------------------------------------------------------------

test.serial('§1 a click on a parcel shows the parcel first, base-map areas left out, and highlights it', async (t) => {
  const parcel = await inside('planning.land_use_map', 119.02, 33.595);
  const { page, errors } = await openViewer(browser, `${server.url}/#map=15/${parcel.lat}/${parcel.lon}&layers=planning_land_use,${BASE}`);
  const before = await mapPixels(page);
  const at = await screenPoint(page, parcel.lon, parcel.lat);
  await page.mouse.click(at.x, at.y);
  const popup = page.locator('.identify');
  await popup.locator('h3').waitFor();
  t.is(await popup.locator('h3').getAttribute('data-layer'), 'planning_land_use', 'the layer switched on comes first');
  t.is(await popup.locator('h3').getAttribute('data-id'), String(parcel.id));
  const pages = Number(((await popup.locator('.page').textContent().catch(() => null)) ?? '第 1 / 1 个').match(/\/ (\d+)/)![1]);
  for (let i = 1; i < pages; i++) {
    await popup.locator('button[aria-label="下一个"]').click();
    const layer = await popup.locator('h3').getAttribute('data-layer');
    t.false(['basemap_districts', 'basemap_communities'].includes(layer!), `no base-map area pages (page ${i + 1}: ${layer})`);
  }
  await screenshot(page, 'planner-identify-highlight');
  // The highlight's cyan (#00B7FF) is drawn where it was not before.
  const after = await mapPixels(page);
  t.true(countColour(after, [0x00, 0xb7, 0xff], undefined, 20) > countColour(before, [0x00, 0xb7, 0xff], undefined, 20) + 200, 'the parcel is outlined');
  // Closing the popup clears the highlight.
  await page.locator('.maplibregl-popup-close-button').click();
  t.true(countColour(await mapPixels(page), [0x00, 0xb7, 0xff], undefined, 20) < 50);
  t.deepEqual(errors, []);
  await close(page);
});

test.serial('§1 keyboard: the skip link is the first tab stop and Enter on the map identifies at its centre', async (t) => {
  const parcel = await inside('planning.land_use_map', 119.02, 33.595);
  const { page } = await openViewer(browser, `${server.url}/#map=15/${parcel.lat}/${parcel.lon}&layers=planning_land_use,${BASE}`);
  await page.keyboard.press('Tab');
  t.is(await page.evaluate(() => document.activeElement?.id), 'skip-to-map');
  t.true(await page.locator('#skip-to-map').isVisible(), 'visible while focused');
  await page.keyboard.press('Enter');
  t.true(await page.evaluate(() => document.activeElement?.classList.contains('maplibregl-canvas')), 'the map has the focus');
  await page.keyboard.press('Enter');
  await page.locator('.identify h3').waitFor();
  t.is(await page.locator('.identify h3').getAttribute('data-id'), String(parcel.id), 'the parcel under the centre');
  await close(page);
});

test.serial('§1 on a phone, a tap on an urban-management event shows the event first, as a bottom sheet', async (t) => {
  const { rows: [ev] } = await p.sql.query<{ lon: number; lat: number }>(
    `SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM urban.events_map ORDER BY geom <-> ST_SetSRID(ST_MakePoint(119.02, 33.595), 4326) LIMIT 1`,
  );
  const { page, errors } = await openViewer(browser, `${server.url}/#map=16/${ev!.lat}/${ev!.lon}&layers=urban_events,${BASE}`, PHONE);
  const at = await screenPoint(page, ev!.lon, ev!.lat);
  await page.touchscreen.tap(at.x, at.y);
  await page.locator('.identify h3').waitFor();
  t.is(await page.locator('.identify h3').getAttribute('data-layer'), 'urban_events');
  await screenshot(page, 'planner-phone-sheet');
  const sheet = (await page.locator('.maplibregl-popup').boundingBox())!;
  t.true(Math.abs(sheet.y + sheet.height - 844) <= 4, `the sheet sits on the bottom edge (${sheet.y + sheet.height})`);
  t.is(Math.round(sheet.width), 390, 'across the whole width');
  for (const button of await page.locator('.maplibregl-ctrl-top-right button').all()) {
    const b = (await button.boundingBox())!;
    t.true(b.y + b.height <= sheet.y, 'the map controls stay free');
  }
  t.deepEqual(errors, []);
  await close(page);
});

// §2 ------------------------------------------------------------------------------------------------------

interface LegendEntry {
  label: { zh: string; en: string };
  color: string;
  where?: { property?: string; equals?: unknown[]; min?: number; max?: number; other?: true };
  count?: number;
}
const legendOf = async (id: string, key?: string) => {
  const res = await fetch(`${server.url}/layers/${id}/legend${key ? `?key=${key}` : ''}`);
  return { status: res.status, body: (await res.json()) as { legend: LegendEntry[]; error?: string } };
};

test.serial('§2 legends are made from the style and the data: every class the map draws, counted', async (t) => {
  const { rows } = await p.sql.query<{ class_code: string; class_name: string; color: string; n: number }>(
    `SELECT class_code, class_name, color, count(*)::int AS n FROM planning.land_use_map GROUP BY 1, 2, 3 ORDER BY 1, 3`,
  );
  const landUse = await legendOf('planning_land_use');
  t.is(landUse.status, 200);
  t.deepEqual(
    landUse.body.legend.map((e) => [e.label.zh, e.color, e.count]),
    rows.map((r) => [`${r.class_code} ${r.class_name}`, r.color, r.n]),
    'one entry per class of the data, with its colour and count',
  );
  t.true(rows.length > 13, `more classes (${rows.length}) than the 13 written by hand`);
  // A step on a number: ranges named by the property's label.
  const parcels = (await legendOf('planning_regulatory_parcels')).body.legend;
  t.deepEqual(parcels.map((e) => e.label.zh), ['容积率 < 1', '容积率 1 – 2', '容积率 2 – 3', '容积率 3 – 4', '容积率 ≥ 4']);
  t.deepEqual(parcels[1]!.where, { property: 'rjl', min: 1, max: 2 });
  // A match on a value: its values, with the catalog's words for the colours, and the fallback colour.
  const shelters = (await legendOf('civil_defence_shelters')).body.legend;
  t.deepEqual(shelters.map((e) => e.color), ['#1B9E77', '#E6AB02', '#7570B3', '#999999']);
  t.deepEqual(shelters[0]!.where, { property: 'status', equals: ['完好'] });
  t.true(shelters[3]!.where?.other);
  // AQI levels the data has not reached stay in the legend: the style can draw them.
  const air = (await legendOf('environment_air_stations')).body.legend;
  for (const c of ['#00E400', '#FFFF00', '#FF7E00', '#FF0000', '#99004C', '#7E0023']) t.true(air.some((e) => e.color.toUpperCase() === c), c);
  // Unknown and restricted layers are the same 404.
  t.is((await legendOf('nothing_here')).status, 404);
  t.is((await legendOf('civil_defence_key_targets')).status, 404);
  const { key } = await p.platform.keys.create('rfb', 'legend test');
  t.is((await legendOf('civil_defence_key_targets', key)).status, 200);
});

test.serial('§2 the panel shows the full legend, can list only the classes in view, and layers reorder by dragging', async (t) => {
  const parcel = await inside('planning.land_use_map', 119.02, 33.595);
  const { page, errors } = await openViewer(browser, `${server.url}/#map=16/${parcel.lat}/${parcel.lon}&layers=planning_land_use,planning_regulatory_parcels`);
  const all = Number((await p.sql.query<{ n: number }>(`SELECT count(DISTINCT (class_code, color))::int AS n FROM planning.land_use_map`)).rows[0]!.n);
  const legend = page.locator('ul[data-legend="planning_land_use"] li');
  await eventually(async () => (await legend.count()) === all);
  t.is(await legend.count(), all, 'every class of the data');
  // Only the classes in view: those of the parcels PostGIS finds in the map's bounds.
  await page.locator('#legend-in-view').check();
  const bounds = await onMap(page, (map) => map.getBounds().toArray().flat());
  const { rows } = await p.sql.query<{ color: string }>(
    `SELECT DISTINCT upper(color) AS color FROM planning.land_use_map WHERE ST_Intersects(geom, ST_MakeEnvelope($1, $2, $3, $4, 4326)) ORDER BY 1`,
    bounds,
  );
  await mapIdle(page);
  await eventually(async () => (await legend.count()) < all, 10_000).catch(() => undefined);
  // Two classes may share a colour: compared as the set of colours.
  const shown = [...new Set(await legend.evaluateAll((els) => els.map((e) => (e.getAttribute('data-color') ?? '').toUpperCase())))].sort();
  t.deepEqual(shown, rows.map((r) => r.color).sort(), 'the classes of the parcels in view');
  t.true(shown.length < all);
  await page.locator('#legend-in-view').uncheck();

  // The planning theme does not bury the land use: with 控规 on top the parcels' colours still show.
  const at = await screenPoint(page, parcel.lon, parcel.lat, false);
  const pixel = async () => {
    const px = await mapPixels(page);
    const dpr = px.width / (await page.locator('#map canvas').boundingBox())!.width;
    const o = (Math.round(at.y * dpr) * px.width + Math.round(at.x * dpr)) * 4;
    return [px.data[o]!, px.data[o + 1]!, px.data[o + 2]!];
  };
  const both = await pixel();
  await page.locator('#layer-planning_land_use').uncheck();
  const without = await pixel();
  t.true(Math.abs(both[0]! - without[0]!) + Math.abs(both[1]! - without[1]!) + Math.abs(both[2]! - without[2]!) > 30, `用地 shows through 控规 (${both} vs ${without})`);
  await page.locator('#layer-planning_land_use').check();

  // Drag 用地 above 控规: the panel, the map's drawing order and the link follow.
  const order = () => page.locator('#theme-list-planning > li').evaluateAll((els) => els.map((e) => e.getAttribute('data-layer')));
  t.deepEqual(await order(), ['planning_regulatory_parcels', 'planning_land_use'], 'the panel starts in drawing order, top first');
  await page.locator('li[data-layer="planning_land_use"] .layer-head').dragTo(page.locator('li[data-layer="planning_regulatory_parcels"] .layer-head'), { targetPosition: { x: 20, y: 2 } });
  t.deepEqual(await order(), ['planning_land_use', 'planning_regulatory_parcels']);
  const drawn = await onMap(page, (map) => map.getStyle().layers.map((l) => l.id));
  t.true(drawn.indexOf('planning_land_use-fill') > drawn.indexOf('planning_regulatory_parcels-fill'), 'land use now drawn above');
  t.regex(await page.evaluate(() => location.hash), /layers=planning_land_use,planning_regulatory_parcels/);
  // The keyboard way: Alt+↓ on the switch moves it back.
  await page.locator('#layer-planning_land_use').focus();
  await page.keyboard.press('Alt+ArrowDown');
  t.deepEqual(await order(), ['planning_regulatory_parcels', 'planning_land_use']);
  t.deepEqual(errors, []);
  await close(page);
});

test.serial('§2 on a phone the legend is in the drawer and complete', async (t) => {
  const { page } = await openViewer(browser, `${server.url}/#map=14/33.595/119.02&layers=planning_land_use`, PHONE);
  await page.locator('#panel-toggle').tap();
  const { rows } = await p.sql.query<{ n: number }>(`SELECT count(DISTINCT (class_code, color))::int AS n FROM planning.land_use_map`);
  const legend = page.locator('ul[data-legend="planning_land_use"] li');
  await eventually(async () => (await legend.count()) === rows[0]!.n);
  await legend.last().scrollIntoViewIfNeeded();
  t.true(await legend.last().isVisible());
  await screenshot(page, 'planner-phone-legend');
  await close(page);
});

// §7 ------------------------------------------------------------------------------------------------------

test.serial('§7 phone: targets of 44 px, a readable title, a drawer closed by a tap beside it, touch hints, locate me', async (t) => {
  const context = await browser.newContext({ ...PHONE, locale: 'zh-CN', geolocation: { longitude: 119.0153, latitude: 33.6102 }, permissions: ['geolocation'] });
  await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  const page = await context.newPage();
  await page.goto(`${server.url}/#map=12/33.6/119.02&layers=basemap_places`);
  await mapIdle(page);
  const small: string[] = [];
  for (const el of await page.locator('.maplibregl-ctrl button:visible, .topbar button:visible').all()) {
    const b = (await el.boundingBox())!;
    if (b.width < 44 || b.height < 44) small.push(`${await el.getAttribute('class')} ${b.width}×${b.height}`);
  }
  t.deepEqual(small, [], 'map and top-bar buttons');
  const title = page.locator('#app-title');
  t.is((await title.innerText()).trim(), '淮安市 GIS');
  t.true(await title.evaluate((el) => el.scrollWidth <= el.clientWidth), 'the title is not cut');

  await page.locator('#panel-toggle').tap();
  t.true(await page.locator('#panel').isVisible());
  for (const box of (await page.locator('#panel input[type=checkbox]').all()).slice(0, 6)) {
    const label = page.locator(`label[for="${await box.getAttribute('id')}"]`);
    const b = (await label.boundingBox())!;
    t.true(b.height >= 44, `the switch's label is a 44 px target (${b.height})`);
  }
  await page.touchscreen.tap(370, 500); // the map beside the drawer
  t.false(await page.locator('#panel').isVisible(), 'the drawer closed');
  t.is(await page.locator('.identify').count(), 0, 'and nothing was identified');

  await page.locator('button[data-tool="distance"]').tap();
  const hint = await page.locator('#tool-panel .hint').textContent();
  t.regex(hint!, /轻点/);
  t.notRegex(hint!, /回车|退格|空格/);
  await page.locator('#tool-panel .close').tap();

  await page.locator('.maplibregl-ctrl-geolocate').tap();
  const near = async () => {
    const [lon, lat] = await onMap(page, (map) => map.getCenter().toArray());
    return Math.abs(lon - 119.0153) < 1e-3 && Math.abs(lat - 33.6102) < 1e-3;
  };
  await eventually(near, 15_000).catch(() => undefined);
  t.true(await near(), 'the map went to the device position');
  await context.close();
});

// §8 ------------------------------------------------------------------------------------------------------

test.serial('§8 a key in the address is moved to the session, never into the address bar or a share link', async (t) => {
  const { key } = await p.platform.keys.create('rfb', 'planner test');
  const { page, requests, errors } = await openViewer(browser, `${server.url}/?key=${key}#map=11/33.6/119.02&layers=civil_defence_key_targets`);
  t.is(await page.evaluate(() => location.search), '', 'the address bar has no key');
  t.false((await page.evaluate(() => location.href)).includes(key));
  t.false((await page.evaluate(() => (window as unknown as { citybase: { shareableUrl(): string } }).citybase.shareableUrl())).includes(key));
  t.is(await page.evaluate(() => sessionStorage.getItem('citybase.key')), key);
  t.true(requests.some((r) => r.url.includes('/tiles/civil_defence_key_targets/') && r.status === 200), 'the restricted layer is served');
  // A reload (the address now without the key) still sees the restricted layer: the session kept the key.
  await page.reload();
  await mapIdle(page);
  t.true(await page.locator('#layer-civil_defence_key_targets').isChecked());
  t.deepEqual(errors, []);
  await close(page);
});

test.serial('§8 with the service down the map says so, retries, and the message goes by itself; tiles show a loading state', async (t) => {
  const { page, errors } = await openViewer(browser, `${server.url}/#map=10/33.6/119.02&layers=basemap_prefecture,basemap_districts`);
  const down = (route: import('playwright-core').Route) => route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"unavailable","message":"database unavailable"}' });
  await page.route('**/tiles/**', down);
  await page.route('**/health', down);
  await onMap(page, (map) => map.jumpTo({ center: [118.6, 33.2], zoom: 11 }));
  const banner = page.locator('#service-banner');
  await banner.waitFor({ state: 'visible' });
  t.is(await banner.textContent(), '服务暂不可用，正在重试…');
  await screenshot(page, 'planner-service-down');
  // Slow tiles from now on: the loading indicator shows while they come.
  await page.unroute('**/tiles/**');
  await page.route('**/tiles/**', async (route) => {
    await new Promise((r) => setTimeout(r, 800));
    await route.continue();
  });
  await page.unroute('**/health');
  await banner.waitFor({ state: 'hidden', timeout: 15_000 });
  await onMap(page, (map) => map.jumpTo({ center: [118.9, 33.4], zoom: 12 }));
  await page.locator('#loading').waitFor({ state: 'visible' });
  await mapIdle(page);
  t.true(await page.locator('#loading').isHidden(), 'gone when the map is idle');
  const other = errors.filter((e) => !/Failed to load resource.*503/.test(e));
  t.deepEqual(other, [], 'no console noise beside the failed requests themselves');
  await close(page);
});

// §5 ------------------------------------------------------------------------------------------------------

async function print(page: Page, options: { title: string; paper: string; orientation: string; format: string }, tap = false) {
  await page.locator('button[data-tool="print"]')[tap ? 'tap' : 'click']();
  await page.locator('input[data-print="title"]').fill(options.title);
  await page.locator('select[data-print="paper"]').selectOption(options.paper);
  await page.locator('select[data-print="orientation"]').selectOption(options.orientation);
  await page.locator('select[data-print="format"]').selectOption(options.format);
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 90_000 }), page.locator('button[data-action="print"]').click()]);
  const file = path.join(artifacts, `planner-print-${options.paper}-${options.orientation}.${options.format}`);
  await download.saveAs(file);
  await page.locator('.print-status[data-scale]').waitFor();
  const status = page.locator('.print-status');
  return {
    bytes: readFileSync(file),
    name: download.suggestedFilename(),
    scale: Number(await status.getAttribute('data-scale')),
    legendEntries: Number(await status.getAttribute('data-legend-entries')),
  };
}

test.serial('§5 the print layout makes an A4 landscape PNG at 300 dpi with legend, scale and title', async (t) => {
  const { page, errors } = await openViewer(browser, `${server.url}/#map=13/33.6/119.02&layers=planning_land_use,basemap_districts`);
  const out = await print(page, { title: '清江浦区用地现状', paper: 'A4', orientation: 'landscape', format: 'png' });
  const png = out.bytes;
  t.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  t.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [3508, 2480], 'A4 landscape at 300 dpi');
  const phys = png.indexOf(Buffer.from('pHYs'));
  t.true(phys > 0 && phys < 64, 'the resolution is written in');
  t.is(png.readUInt32BE(phys + 4), 11811, '300 dpi in pixels per metre');
  t.is(png[phys + 12], 1);
  t.true(png.length > 300_000, 'a drawn page, not an empty one');
  t.true(out.legendEntries >= 10, `the legend lists the classes (${out.legendEntries})`);
  // The scale of the printed map: the screen's metres per pixel at 96 dpi, for the print zoom.
  t.true(out.scale > 5_000 && out.scale < 200_000, `1:${out.scale}`);
  t.regex(out.name, /^citybase-A4-landscape-\d{8}\.png$/);
  t.deepEqual(errors, []);
  await close(page);
});

test.serial('§5 and an A3 portrait PDF, on a phone as well', async (t) => {
  const { page } = await openViewer(browser, `${server.url}/#map=12/33.6/119.02&layers=civil_defence_shelters,basemap_districts`, PHONE);
  const out = await print(page, { title: '人防工程分布', paper: 'A3', orientation: 'portrait', format: 'pdf' }, true);
  const text = out.bytes.toString('latin1');
  t.true(text.startsWith('%PDF-1.4'));
  t.regex(text, /\/MediaBox \[0 0 841\.89 1190\.55\]/, 'A3 portrait in points');
  t.regex(text, /\/Width 3508 \/Height 4961/, 'the page image at 300 dpi');
  t.regex(text, /\/Filter \/DCTDecode/);
  t.regex(text, /%%EOF\n$/);
  // The cross-reference table points at each object.
  const xref = Number(/startxref\n(\d+)/.exec(text)![1]);
  t.true(text.slice(xref).startsWith('xref'));
  for (const m of text.slice(xref).matchAll(/^(\d{10}) 00000 n $/gm)) t.regex(text.slice(Number(m[1])), /^\d+ 0 obj/);
  await close(page);
});

// §6 ------------------------------------------------------------------------------------------------------

test.serial('§6 an air station shows its AQI on its level colour, names, its own time, and a chart per pollutant with values', async (t) => {
  const { rows: [st] } = await p.sql.query<{ code: string; name: string; lon: number; lat: number; aqi: number; observed_local: string; pm2_5: number; primary_pollutants: string }>(
    `SELECT code, name, ST_X(geom) AS lon, ST_Y(geom) AS lat, aqi, observed_local, pm2_5::float8 AS pm2_5, primary_pollutants
     FROM environment.air_stations_latest WHERE aqi IS NOT NULL ORDER BY code LIMIT 1`,
  );
  const { page, errors } = await openViewer(browser, `${server.url}/#map=13/${st!.lat}/${st!.lon}&layers=environment_air_stations`);
  const at = await screenPoint(page, st!.lon, st!.lat);
  await page.mouse.click(at.x, at.y);
  const popup = page.locator('.identify');
  await popup.locator('.aqi-chart canvas').waitFor();
  await screenshot(page, 'planner-aqi');
  t.is(await popup.locator('.aqi-value').textContent(), String(st!.aqi));
  const levels: Array<[number, string, string]> = [[50, '优', 'rgb(0, 228, 0)'], [100, '良', 'rgb(255, 255, 0)'], [150, '轻度污染', 'rgb(255, 126, 0)'], [200, '中度污染', 'rgb(255, 0, 0)'], [300, '重度污染', 'rgb(153, 0, 76)'], [999, '严重污染', 'rgb(126, 0, 35)']];
  const level = levels.find(([max]) => st!.aqi <= max)!;
  t.is(await popup.locator('.aqi-level').textContent(), level[1]);
  t.is(await popup.locator('.aqi-band').evaluate((e) => getComputedStyle(e).backgroundColor), level[2]);
  t.regex((await popup.locator('.aqi-time').textContent())!, new RegExp(`数据时间 ${st!.observed_local}`));
  // The samples' readings are old: the popup says there is no recent data, with the hour of the last one.
  const stale = Date.now() - Date.parse(`${st!.observed_local.replace(' ', 'T')}:00+08:00`) > 3 * 3_600_000;
  t.is(await popup.locator('.aqi-stale').count(), stale ? 1 : 0);
  t.is(await popup.locator('tr[data-pollutant="pm2_5"] th').textContent(), 'PM₂.₅');
  t.regex((await popup.locator('tr[data-pollutant="pm2_5"] td').textContent())!, new RegExp(`^${Math.round(st!.pm2_5)} µg/m³$`));
  t.is(await popup.locator('tr[data-property="color"]').count(), 0, 'no raw colour field');
  if (st!.primary_pollutants) t.notRegex((await popup.locator('.aqi-primary').textContent())!, /_24h|_8h|pm2_5/, 'primary pollutants by name');
  // The series: the data's own hours, per pollutant, with the value under the pointer.
  t.regex((await popup.locator('.aqi-series').textContent())!, /^AQI：\d{4}-\d\d-\d\d \d\d:\d\d 至 \d{4}-\d\d-\d\d \d\d:\d\d/);
  await popup.locator('.aqi-measures button[data-measure="pm2_5"]').click();
  t.is(await popup.locator('.aqi-chart').getAttribute('data-measure'), 'pm2_5');
  t.is(await popup.locator('.aqi-measures button[data-measure="pm2_5"]').getAttribute('aria-pressed'), 'true');
  t.regex((await popup.locator('.aqi-series').textContent())!, /^PM₂\.₅：/);
  const plot = (await popup.locator('.aqi-chart .u-over').boundingBox())!;
  await page.mouse.move(plot.x + plot.width - 3, plot.y + plot.height / 2);
  await eventually(async () => ((await popup.locator('.aqi-tip').textContent()) ?? '').includes('PM₂.₅'));
  t.regex((await popup.locator('.aqi-tip').textContent())!, /^\d{4}-\d\d-\d\d \d\d:\d\d · PM₂\.₅ \d+ µg\/m³$/);
  t.deepEqual(errors, []);
  await close(page);
});

test.serial('§6 the AQI API names the primary pollutants; on a phone a station without readings says so', async (t) => {
  const res = await fetch(`${server.url}/api/env/air/stations`);
  const { stations } = (await res.json()) as { stations: Array<{ primary_pollutants: string[] | null; primary_pollutants_named: Array<{ name: string; parameter: string }> }> };
  const named = stations.find((s) => (s.primary_pollutants ?? []).length > 0);
  t.truthy(named, 'some station has a primary pollutant');
  t.deepEqual(named!.primary_pollutants_named.map((n) => n.parameter), named!.primary_pollutants);
  t.true(named!.primary_pollutants_named.every((n) => /^(PM₂\.₅|PM₁₀|O₃|NO₂|SO₂|CO)$/.test(n.name)));
  // A station with no readings at all.
  await p.sql.query(`INSERT INTO environment.air_stations (code, name, kind, district_code, geom) SELECT '9999Z', '测试站', kind, district_code, ST_Translate(geom, 0.01, 0.01) FROM environment.air_stations ORDER BY code LIMIT 1`);
  const { rows: [st] } = await p.sql.query<{ lon: number; lat: number }>(`SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM environment.air_stations WHERE code = '9999Z'`);
  const { page } = await openViewer(browser, `${server.url}/#map=14/${st!.lat}/${st!.lon}&layers=environment_air_stations`, PHONE);
  const at = await screenPoint(page, st!.lon, st!.lat);
  await page.touchscreen.tap(at.x, at.y);
  await page.locator('.identify .station-name').waitFor();
  t.is(await page.locator('.identify .station-name').textContent(), '测试站');
  t.is(await page.locator('.identify .aqi-value').textContent(), '—');
  await page.locator('.identify .aqi-none').waitFor();
  t.is(await page.locator('.identify .aqi-none').textContent(), '暂无 AQI 数据');
  await close(page);
});

// §9 ------------------------------------------------------------------------------------------------------

test.serial('§9 the attribute table sorts, filters with CQL2, counts, and shows a row on the map', async (t) => {
  const { page, errors } = await openViewer(browser, `${server.url}/#map=11/33.6/119.02&layers=civil_defence_shelters`);
  await page.locator('button[data-table-open="civil_defence_shelters"]').click();
  const table = page.locator('#table-panel');
  await table.locator('tbody tr').first().waitFor();
  const count = async (where: string) => Number((await p.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${SHELTERS} WHERE ${where}`)).rows[0]!.n);
  t.regex((await table.locator('.table-count').textContent())!, new RegExp(`共 ${await count('true')} 条`));
  // Sorted by capacity, descending on the second click.
  await table.locator('button[data-sort="capacity"]').click();
  await table.locator('th[aria-sort="ascending"]').waitFor();
  await table.locator('button[data-sort="capacity"]').click();
  await table.locator('th[aria-sort="descending"]').waitFor();
  const max = Number((await p.sql.query<{ m: number }>(`SELECT max(capacity)::int AS m FROM ${SHELTERS}`)).rows[0]!.m);
  const firstCapacity = async () => Number((await table.locator('tbody tr').first().locator('td[data-property="capacity"]').textContent())?.replace(/,/g, ''));
  await eventually(async () => (await firstCapacity()) === max).catch(() => undefined);
  t.is(await firstCapacity(), max, 'the largest shelter first');
  // Filtered with CQL2.
  await table.locator('input[data-table-filter]').fill("capacity > 1000 AND status = '完好'");
  await table.locator('.table-filter button').click();
  const n = await count(`capacity > 1000 AND status = '完好'`);
  await eventually(async () => ((await table.locator('.table-count').textContent()) ?? '').includes(`共 ${n} 条`));
  t.regex((await table.locator('.table-count').textContent())!, new RegExp(`共 ${n} 条`));
  // A row click frames the shelter and highlights it.
  const row = table.locator('tbody tr').first();
  const id = await row.getAttribute('data-id');
  await row.click();
  const { rows: [pt] } = await p.sql.query<{ lon: number; lat: number }>(`SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM ${SHELTERS} WHERE id = $1`, [id]);
  const centre = await onMap(page, (map) => map.getCenter().toArray());
  t.true(Math.abs(centre[0]! - pt!.lon) < 1e-4 && Math.abs(centre[1]! - pt!.lat) < 1e-4, 'the map went to the shelter');
  t.true(countColour(await mapPixels(page), [0x00, 0xb7, 0xff], undefined, 20) > 50, 'highlighted');
  // The rows export as CSV with the column labels.
  const [download] = await Promise.all([page.waitForEvent('download'), table.locator('button[data-action="csv"]').click()]);
  const csv = readFileSync(await download.path()).toString('utf8');
  t.true(csv.startsWith('\uFEFF'));
  t.is(csv.trim().split('\r\n').length, Math.min(n, 50) + 1);
  t.deepEqual(errors, []);
  await close(page);
});

test.serial('§9 a filter built per layer and the time slider filter the map; the table follows', async (t) => {
  const { page, errors } = await openViewer(browser, `${server.url}/#map=10/33.6/119.02&layers=urban_events`);
  const filtered = () => page.evaluate(() => String((window as unknown as { citybase: { map: import('maplibre-gl').Map } }).citybase.map.getStyle().sources.urban_events && JSON.stringify((window as unknown as { citybase: { map: import('maplibre-gl').Map } }).citybase.map.getStyle().sources.urban_events)));
  await page.locator('button[data-filter-toggle="urban_events"]').click();
  await page.locator('select[data-filter-property="urban_events"]').selectOption('closed');
  await page.locator('select[data-filter-op="urban_events"]').selectOption('=');
  await page.locator('input[data-filter-value="urban_events"]').fill('false');
  // The panel redraws by itself (the time columns arrive after the map is idle): what was picked stays.
  await page.evaluate(() => dispatchEvent(new HashChangeEvent('hashchange')));
  await page.locator('button[data-action="add-condition"]').click();
  t.is(await page.locator('textarea[data-filter-text="urban_events"]').inputValue(), 'closed = FALSE');
  await page.locator('button[data-action="apply-filter"]').click();
  await eventually(async () => (await filtered()).includes('filter=closed'));
  // Every tile of the layer is made again, filtered and uncached: on a busy CI machine that took over 30 s once.
  await mapIdle(page, 90_000);
  // Every event drawn is open.
  const drawn = await onMap(page, (map) => map.queryRenderedFeatures({ layers: map.getStyle().layers.filter((l) => (l as { source?: string }).source === 'urban_events').map((l) => l.id) }).map((f) => f.properties.closed));
  t.true(drawn.length > 0 && drawn.every((c) => c === false), `${drawn.length} open events drawn`);
  // A wrong filter is named by the server and not applied.
  await page.locator('textarea[data-filter-text="urban_events"]').fill('nonsense >');
  await page.locator('button[data-action="apply-filter"]').click();
  await page.locator('.filter-builder .error:not([hidden])').waitFor();
  t.regex((await page.locator('.filter-builder .error').textContent())!, /^条件无效：/);

  // The time slider: the last day of the data.
  const { rows: [range] } = await p.sql.query<{ last: string }>(`SELECT to_char(max(reported_at) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS last FROM urban.events_map`);
  const period = page.locator('select[data-time-period="urban_events"]');
  await period.waitFor();
  await period.selectOption('day');
  t.regex((await page.locator('[data-time-for="urban_events"] .time-label').textContent())!, new RegExp(`截至 ${range!.last}`));
  await eventually(async () => (await filtered()).includes('TIMESTAMP'));
  const n = Number(
    (
      await p.sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM urban.events_map WHERE NOT closed AND reported_at >= ($1::date::timestamp AT TIME ZONE 'Asia/Shanghai') AND reported_at < (($1::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')`,
        [range!.last],
      )
    ).rows[0]!.n,
  );
  await page.locator('button[data-table-open="urban_events"]').click();
  await eventually(async () => ((await page.locator('#table-panel .table-count').textContent()) ?? '').includes(`共 ${n} 条`));
  t.regex((await page.locator('#table-panel .table-count').textContent())!, new RegExp(`共 ${n} 条`), 'the table lists what the map shows');
  t.deepEqual(errors.filter((e) => !/400 \(Bad Request\)/.test(e)), [], 'only the refused filter failed');
  await close(page);
});

test.serial('§9 base maps switch between vector and plain grey, and bookmarks keep views (phone too)', async (t) => {
  const { page, requests } = await openViewer(browser, `${server.url}/#map=10/33.6/119.02`, PHONE);
  await page.locator('#panel-toggle').tap();
  await page.locator('#basemap-grey').check();
  t.false(await page.locator('#layer-basemap_districts').isChecked());
  const grey = await mapPixels(page);
  t.true(countColour(grey, [0xd9, 0xdc, 0xe0], undefined, 2) > 0.95 * (grey.data.length / 4), 'a plain grey map');
  t.false(/basemap_/.test(await page.evaluate(() => location.hash)));
  await page.locator('#basemap-vector').check();
  t.true(await page.locator('#layer-basemap_districts').isChecked());
  t.is(await page.locator('#basemap-raster').count(), 0, 'no imagery unless the city configures a local source');
  const origin = new URL(server.url).origin;
  t.deepEqual(requests.filter((r) => !r.url.startsWith(origin) && !/^(data|blob):/.test(r.url)), [], 'no other host');

  // A bookmark: saved, listed after a reload, and it restores the view.
  await page.locator('input[data-bookmark-name]').fill('淮安区政府');
  await page.locator('button[data-action="add-bookmark"]').tap();
  await onMap(page, (map) => map.jumpTo({ center: [118.8, 33.3], zoom: 9 }));
  await page.reload();
  await mapIdle(page);
  await page.locator('#panel-toggle').tap();
  await page.locator('button[data-bookmark="淮安区政府"]').tap();
  await eventually(async () => Math.abs((await onMap(page, (map) => map.getZoom())) - 10) < 0.01);
  const [lon, lat] = await onMap(page, (map) => map.getCenter().toArray());
  t.true(Math.abs(lon - 119.02) < 1e-3 && Math.abs(lat - 33.6) < 1e-3, 'the saved view');
  await close(page);
});
