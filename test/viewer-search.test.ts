import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { strFromU8, unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { loadSamplesOnce } from '../data-samples/load.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { artifacts, ensureViewerBuilt, launchChromium, listen, onMap, openViewer, screenshot } from './helpers/browser.ts';
import { root, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

/**
 * Issue 14 §3, §4 and §9 in a real browser: the search box through the geocoder (context in each row, nearest
 * first, the place marked and its popup opened), the area tool's clipped figures by class with the base map left
 * out and its CSV and Excel exports, and a layer's download menu. Expected figures come from PostGIS.
 */

let p: TestPlatform;
let server: Awaited<ReturnType<typeof listen>>;
let browser: Browser;

test.before(async () => {
  await ensureViewerBuilt();
  // Loading the full samples on a busy machine can take longer than the default statement timeout.
  p = await startTestPlatform({ STATEMENT_TIMEOUT_MS: '120000' }, { layersDir: path.join(root, 'layers'), fixtures: false });
  await loadSamplesOnce(p.platform.pool, createLogger('silent'));
  server = await listen(p.platform.app);
  browser = await launchChromium();
});
test.after.always(async () => {
  await browser?.close();
  await server?.close();
  await p?.close();
});

const rows = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) => (await p.sql.query<T>(sql, values)).rows;

async function search(page: Page, q: string) {
  await page.locator('input[data-search]').fill(q);
  await page.locator('input[data-search]').press('Enter');
  await page.locator('.search-results button').first().waitFor();
  return page.locator('.search-results button');
}

for (const [viewport, name] of [
  [{ width: 1280, height: 800 }, 'desktop'],
  [{ width: 390, height: 844 }, 'phone'],
] as const) {
  test.serial(`${name}: a name shared by several communities lists each with its street and district, the one in view first; the chosen one is marked and its popup opened`, async (t) => {
    const places = await rows<{ code: string; street: string; district: string; lon: number; lat: number }>(`
      SELECT c.code, s.name AS street, d.name AS district, ST_X(ST_PointOnSurface(c.geom)) AS lon, ST_Y(ST_PointOnSurface(c.geom)) AS lat
      FROM basemap.communities c JOIN basemap.streets s ON s.code = c.street_code JOIN basemap.districts d ON d.adcode = s.district_code
      WHERE c.name = '华庭园社区' ORDER BY c.code`);
    const here = places.find((x) => x.code === '320812002009')!;
    const { page, errors } = await openViewer(browser, `${server.url}/#map=14/${here.lat}/${here.lon}&layers=planning_land_use`, { viewport });
    const buttons = await search(page, '华庭园');
    const communities = page.locator('.search-results button[data-kind="community"]');
    t.is(await communities.count(), places.length);
    t.is(await buttons.first().getAttribute('data-code'), here.code, 'the one in view first');
    for (const place of places) {
      const text = await page.locator(`.search-results button[data-code="${place.code}"]`).textContent();
      t.true(text!.includes(place.street) && text!.includes(place.district), `${place.code}: "${text}"`);
    }
    // Choose another one: the map goes there, marks it and opens its popup.
    const other = places.find((x) => x.district === '淮阴区')!;
    await page.locator(`.search-results button[data-code="${other.code}"]`).click();
    const popup = page.locator('.search-result-popup .search-popup');
    await popup.waitFor();
    t.is(await popup.getAttribute('data-code'), other.code);
    t.true((await popup.textContent())!.includes(other.street));
    const marked = await onMap(page, async (map) => {
      const source = map.getSource('citybase-search-mark') as import('maplibre-gl').GeoJSONSource | undefined;
      const data = (await source?.getData()) as GeoJSON.FeatureCollection | undefined;
      const b = map.getBounds();
      return { layer: Boolean(map.getLayer('citybase-search-mark-line')), type: data?.features[0]?.geometry.type, bounds: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()] };
    });
    t.true(marked.layer, 'the outline layer is on the map');
    t.regex(marked.type ?? '', /Polygon$/);
    const [w, s, e, n] = marked.bounds as [number, number, number, number];
    t.true(w < other.lon && other.lon < e && s < other.lat && other.lat < n, 'the map shows the chosen community');
    await screenshot(page, `viewer-search-${name}`);
    t.deepEqual(errors, []);
    await page.context().close();
  });
}

test.serial('coordinates and codes typed into the search box are found and marked', async (t) => {
  const { page, errors } = await openViewer(browser, `${server.url}/#map=10/33.6/119.02&layers=basemap_districts`);
  const buttons = await search(page, '119.02,33.60');
  t.is(await buttons.first().getAttribute('data-kind'), 'coordinate');
  t.true((await buttons.first().textContent())!.includes('清江浦区'));
  await buttons.first().click();
  await page.locator('.search-result-popup').waitFor();
  const [lon, lat] = await onMap(page, (map) => map.getCenter().toArray());
  t.true(Math.abs(lon! - 119.02) < 1e-6 && Math.abs(lat! - 33.6) < 1e-6);

  const byCode = await search(page, '320812002009');
  t.is(await byCode.first().getAttribute('data-code'), '320812002009');
  t.deepEqual(errors, []);
  await page.context().close();
});

test.serial('area statistics: the land use inside the drawing by class with its colour, the drawn area, no base map unless asked; CSV and Excel', async (t) => {
  const { page, errors } = await openViewer(browser, `${server.url}/#map=14/33.59/119.02&layers=planning_land_use,basemap_districts`);
  await page.locator('button[data-tool="query"]').click();
  // A rectangle right of the tool panel.
  const box: Array<[number, number]> = [[700, 250], [1000, 250], [1000, 550], [700, 550]];
  const lonlats: Array<[number, number]> = [];
  for (const [i, [x, y]] of box.entries()) {
    if (i === box.length - 1) await page.mouse.dblclick(x, y);
    else await page.mouse.click(x, y);
    lonlats.push(await onMap(page, (map, [px, py]) => {
      const r = map.getCanvas().getBoundingClientRect();
      return map.unproject([px - r.left, py - r.top]).toArray() as [number, number];
    }, [x, y] as [number, number]));
  }
  const result = page.locator('.query-result[data-state="done"]');
  await result.waitFor();
  await screenshot(page, 'viewer-query-clipped');
  const polygon = `POLYGON((${[...lonlats, lonlats[0]!].map(([x, y]) => `${x} ${y}`).join(',')}))`;
  const classes = await rows<{ code: string; color: string; m2: number }>(`
    SELECT v.class_code AS code, min(v.color) AS color, sum(ST_Area(ST_Intersection(v.geom, a.g)::geography)) AS m2
    FROM planning.land_use_map v, (SELECT ST_GeomFromText($1, 4326) AS g) a WHERE ST_Intersects(v.geom, a.g)
    GROUP BY 1 ORDER BY 3 DESC`, [polygon]);
  const [drawn] = await rows<{ m2: number }>(`SELECT ST_Area(ST_GeomFromText($1, 4326)::geography) AS m2`, [polygon]);
  t.true(Math.abs(Number(await result.locator('.drawn-area').getAttribute('data-area')) - drawn!.m2) < 1);
  const total = classes.reduce((s, c) => s + c.m2, 0);
  t.true(Math.abs(Number(await result.locator('tr[data-layer="planning_land_use"]').getAttribute('data-area')) - total) < 1, 'clipped, not whole parcels');
  const shown = result.locator('tr[data-class-of="planning_land_use"]');
  t.is(await shown.count(), classes.length);
  for (const [i, c] of classes.entries()) {
    t.is(await shown.nth(i).getAttribute('data-class'), c.code);
    t.is(await shown.nth(i).getAttribute('data-color'), c.color);
    t.true(Math.abs(Number(await shown.nth(i).getAttribute('data-area')) - c.m2) < 1);
  }
  t.is(await result.locator('tr[data-layer="basemap_districts"]').count(), 0, 'the base map is left out');

  // CSV: UTF-8 with a BOM, the drawn area, a row per layer and per class.
  const [csv] = await Promise.all([page.waitForEvent('download'), result.locator('button[data-export="csv"]').click()]);
  const csvFile = path.join(artifacts, 'viewer-query.csv');
  await csv.saveAs(csvFile);
  const text = readFileSync(csvFile, 'utf8');
  t.true(text.startsWith('\uFEFF'));
  const lines = text.slice(1).trim().split('\r\n');
  t.is(lines.length, 2 + 1 + classes.length);
  t.regex(lines[1]!, new RegExp(`^绘制范围面积,,,,${Math.round(drawn!.m2 * 10) / 10},`));
  t.true(lines.some((l) => l.startsWith(`国土空间用地用海,${classes[0]!.code},`)));

  // Excel: a workbook whose sheet holds the same rows.
  const [xlsx] = await Promise.all([page.waitForEvent('download'), result.locator('button[data-export="xlsx"]').click()]);
  const xlsxFile = path.join(artifacts, 'viewer-query.xlsx');
  await xlsx.saveAs(xlsxFile);
  t.regex(xlsx.suggestedFilename(), /\.xlsx$/);
  const parts = unzipSync(new Uint8Array(readFileSync(xlsxFile)));
  t.truthy(parts['[Content_Types].xml'] && parts['xl/workbook.xml']);
  const sheet = strFromU8(parts['xl/worksheets/sheet1.xml']!);
  t.is((sheet.match(/<row /g) ?? []).length, lines.length);
  t.true(sheet.includes(`<t xml:space="preserve">${classes[0]!.code}</t>`));

  // Asked for, the base map is counted too.
  await page.locator('input[data-include-base]').check();
  await page.locator('.query-result[data-state="done"] tr[data-layer="basemap_districts"]').waitFor();
  t.deepEqual(errors, []);
  await page.context().close();
});

test.serial('a layer downloads from the panel as a zipped Shapefile in CGCS2000 GK', async (t) => {
  const { page, errors } = await openViewer(browser, `${server.url}/#map=12/33.59/119.02&layers=civil_defence_shelters`);
  const menu = page.locator('details[data-download-menu="civil_defence_shelters"]');
  await menu.locator('summary').click();
  await menu.locator('select[data-download-format]').selectOption('shp');
  await menu.locator('select[data-download-crs]').selectOption('EPSG:4549');
  // The panel redraws when the URL, filters or time columns change (the last arrives by itself after the map
  // is idle): a menu the planner has opened and set stays open and set through that.
  await page.evaluate(() => dispatchEvent(new HashChangeEvent('hashchange')));
  t.true(await menu.evaluate((d) => (d as HTMLDetailsElement).open));
  t.is(await menu.locator('select[data-download-crs]').inputValue(), 'EPSG:4549');
  const [file] = await Promise.all([page.waitForEvent('download'), menu.locator('a[data-download]').click()]);
  t.is(file.suggestedFilename(), 'civil_defence_shelters_4549.zip');
  const saved = path.join(artifacts, 'viewer-download.zip');
  await file.saveAs(saved);
  const names = Object.keys(unzipSync(new Uint8Array(readFileSync(saved)))).sort();
  t.deepEqual(names, ['cpg', 'dbf', 'prj', 'shp', 'shx'].map((x) => `civil_defence_shelters_4549.${x}`));
  t.deepEqual(errors, []);
  await page.context().close();
});
