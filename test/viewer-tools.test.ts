import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { Browser, Page } from 'playwright-core';
import { loadSamplesOnce } from '../data-samples/load.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { artifacts, ensureViewerBuilt, launchChromium, listen, onMap, openViewer, screenPoint, screenshot } from './helpers/browser.ts';
import { root, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

/**
 * The viewer's tools in a real browser: measuring, area statistics (with the features API and with the map's
 * own features while that API is missing), cursor coordinates, search, PNG export and the AQI chart. Expected
 * numbers come from PostGIS, for the very points the test clicked.
 */

let p: TestPlatform;
let server: Awaited<ReturnType<typeof listen>>;
let browser: Browser;
/** Two sample places: 淮安, and 沭阳 (Shuyang, just north of the city). */
let huaian: { lon: number; lat: number };
let shuyang: { lon: number; lat: number };

test.before(async () => {
  await ensureViewerBuilt();
  p = await startTestPlatform({}, { layersDir: path.join(root, 'layers'), fixtures: false });
  await loadSamplesOnce(p.platform.pool, createLogger('silent'));
  server = await listen(p.platform.app);
  browser = await launchChromium();
  const at = async (name: string) =>
    (await p.sql.query<{ lon: number; lat: number }>(`SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM basemap.places WHERE name = $1`, [name])).rows[0]!;
  [huaian, shuyang] = [await at('Huaiyin'), await at('Shuyang')];
});
test.after.always(async () => {
  await browser?.close();
  await server?.close();
  await p?.close();
});

/** Click at page pixels; return the lon/lat MapLibre gives those pixels (what the tool received). */
async function clickAt(page: Page, points: Array<[number, number]>, last: 'click' | 'dblclick' = 'click'): Promise<Array<[number, number]>> {
  const lonlats: Array<[number, number]> = [];
  for (const [i, [x, y]] of points.entries()) {
    if (i === points.length - 1 && last === 'dblclick') await page.mouse.dblclick(x, y);
    else await page.mouse.click(x, y);
    lonlats.push(
      await onMap(
        page,
        (map, [px, py]) => {
          const r = map.getCanvas().getBoundingClientRect();
          return map.unproject([px - r.left, py - r.top]).toArray() as [number, number];
        },
        [x, y] as [number, number],
      ),
    );
  }
  return lonlats;
}

const wkt = (pts: Array<[number, number]>) => pts.map(([x, y]) => `${x} ${y}`).join(',');
const number = (text: string | null) => Number((text ?? '').replace(/[^0-9.]/g, ''));

test.serial('measuring a distance gives the great-circle length PostGIS gives for the clicked points', async (t) => {
  const { page, errors } = await openViewer(browser, `${server.url}/#map=11/33.58/119.03&layers=basemap_prefecture`);
  await page.locator('button[data-tool="distance"]').click();
  t.is(await page.locator('button[data-tool="distance"]').getAttribute('aria-pressed'), 'true');
  // Right of the tool panel, which sits over the map's top left corner.
  const pts = await clickAt(page, [[700, 220], [1000, 260], [1100, 640]], 'dblclick');
  await screenshot(page, 'viewer-measure-distance');
  const out = page.locator('output[data-measure="distance"]');
  t.is(await page.locator('.results').getAttribute('data-finished'), 'true', 'a double-click finishes');
  const { rows } = await p.sql.query<{ m: number }>(`SELECT ST_Length(ST_GeomFromText($1, 4326)::geography, false) AS m`, [`LINESTRING(${wkt(pts)})`]);
  const expected = rows[0]!.m;
  const shown = Number(await out.getAttribute('data-value'));
  t.true(Math.abs(shown - expected) / expected < 1e-6, `${shown} m vs PostGIS ${expected} m`);
  t.true(Math.abs(number(await out.textContent()) - expected / 1000) <= 0.0005, `"${await out.textContent()}" is ${expected / 1000} km to the metre`);
  t.regex((await out.textContent())!, / km$/);
  t.deepEqual(errors, []);
  await page.context().close();
});

test.serial('measuring an area gives the spherical area and perimeter of the clicked polygon', async (t) => {
  const { page, errors } = await openViewer(browser, `${server.url}/#map=12/33.58/119.03&layers=basemap_prefecture`);
  await page.locator('button[data-tool="area"]').click();
  const pts = await clickAt(page, [[700, 150], [1100, 180], [1150, 600], [720, 700]]);
  await page.locator('button[data-action="finish"]').click();
  await screenshot(page, 'viewer-measure-area');
  const ring = `POLYGON((${wkt([...pts, pts[0]!])}))`;
  const { rows } = await p.sql.query<{ a: number; l: number }>(
    `SELECT ST_Area(g::geography, false) AS a, ST_Perimeter(g::geography, false) AS l FROM ST_GeomFromText($1, 4326) AS g`,
    [ring],
  );
  const area = Number(await page.locator('output[data-measure="area"]').getAttribute('data-value'));
  const perimeter = Number(await page.locator('output[data-measure="perimeter"]').getAttribute('data-value'));
  // Both on the same sphere; turf draws edges straight in an equal-area cylindrical projection, PostGIS as great
  // circles: at city scale the two areas differ by well under 0.1 %.
  t.true(Math.abs(area - rows[0]!.a) / rows[0]!.a < 1e-3, `${area} m² vs PostGIS ${rows[0]!.a} m²`);
  t.true(Math.abs(perimeter - rows[0]!.l) / rows[0]!.l < 1e-6, `${perimeter} m vs PostGIS ${rows[0]!.l} m`);
  t.regex((await page.locator('output[data-measure="area"]').textContent())!, /km² \([\d,.]+ 公顷\)$/);
  // From the keyboard: Backspace takes the last corner back, Escape clears.
  await page.locator('#map canvas').focus();
  await page.keyboard.press('Backspace');
  const triangle = await p.sql.query<{ a: number }>(`SELECT ST_Area(ST_GeomFromText($1, 4326)::geography, false) AS a`, [
    `POLYGON((${wkt([...pts.slice(0, 3), pts[0]!])}))`,
  ]);
  const three = Number(await page.locator('output[data-measure="area"]').getAttribute('data-value'));
  t.true(Math.abs(three - triangle.rows[0]!.a) / triangle.rows[0]!.a < 1e-3, `three corners left: ${three} m² vs PostGIS ${triangle.rows[0]!.a} m²`);
  await page.keyboard.press('Escape');
  t.is(Number(await page.locator('output[data-measure="area"]').getAttribute('data-value')), 0);
  t.deepEqual(errors, []);
  await page.context().close();
});

/** Draw a polygon around two sample places with the area-statistics tool; return the table and the polygon. */
async function drawQuery(page: Page) {
  const a = await screenPoint(page, huaian.lon, huaian.lat);
  const b = await screenPoint(page, shuyang.lon, shuyang.lat);
  const [x0, x1] = [Math.min(a.x, b.x) - 60, Math.max(a.x, b.x) + 60].map(Math.round) as [number, number];
  const [y0, y1] = [Math.min(a.y, b.y) - 60, Math.max(a.y, b.y) + 60].map(Math.round) as [number, number];
  await page.locator('button[data-tool="query"]').click();
  const pts = await clickAt(page, [[x0, y0], [x1, y0 + 10], [x1, y1], [x0 + 10, y1]], 'dblclick');
  const result = page.locator('.query-result[data-state="done"]');
  await result.waitFor();
  return { pts, result };
}

async function expectedCounts(pts: Array<[number, number]>) {
  const { rows } = await p.sql.query<{ n: number; pop: number }>(
    `SELECT count(*)::int AS n, sum(pop_max)::float8 AS pop FROM basemap.places WHERE ST_Intersects(geom, ST_GeomFromText($1, 4326))`,
    [`POLYGON((${wkt([...pts, pts[0]!])}))`],
  );
  return rows[0]!;
}

test.serial('a drawn polygon gives per-layer counts and sums (POST /query)', async (t) => {
  const { page, errors } = await openViewer(browser, `${server.url}/#map=8.2/33.85/118.9&layers=basemap_places`);
  const asked: string[] = [];
  page.on('request', (r) => void (r.url().endsWith('/query') && asked.push(r.postData() ?? '')));
  const { pts, result } = await drawQuery(page);
  await screenshot(page, 'viewer-query');
  const expected = await expectedCounts(pts);
  t.true(expected.n >= 2, 'the polygon holds both places');
  t.is(asked.length, 1, 'the server was asked');
  t.is(await result.locator('[data-approx]').getAttribute('data-approx'), 'false');
  const row = result.locator('tr[data-layer="basemap_places"]');
  t.is(Number(await row.getAttribute('data-count')), expected.n);
  t.is(Number(await row.locator('[data-sum="pop_max"]').getAttribute('data-value')), expected.pop);
  t.regex((await row.locator('[data-sum="pop_max"]').textContent())!, /^人口: [\d,]+ 人$/);
  t.deepEqual(errors, []);
  await page.context().close();
});

test.serial('without the query API the counts come from the features on the map, marked approximate', async (t) => {
  const { page } = await openViewer(browser, `${server.url}/#map=8.2/33.85/118.9&layers=basemap_places`);
  await page.route('**/query', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"not_found","message":"no route for POST /query"}' }));
  const { pts, result } = await drawQuery(page);
  const expected = await expectedCounts(pts);
  t.is(await result.locator('[data-approx]').getAttribute('data-approx'), 'true');
  const row = result.locator('tr[data-layer="basemap_places"]');
  t.is(Number(await row.getAttribute('data-count')), expected.n);
  t.is(Number(await row.locator('[data-sum="pop_max"]').getAttribute('data-value')), expected.pop);
  await page.context().close();
});

test.serial('the cursor position is shown in WGS84 and in CGCS2000 GK CM 120E as PostGIS projects it', async (t) => {
  const { page } = await openViewer(browser, `${server.url}/#map=13/33.6/119.02&layers=basemap_prefecture`);
  await page.mouse.move(700, 420);
  const wgs = page.locator('#coords .wgs84');
  const [lon, lat] = [Number(await wgs.getAttribute('data-lon')), Number(await wgs.getAttribute('data-lat'))];
  const [expLon, expLat] = await onMap(page, (map) => {
    const r = map.getCanvas().getBoundingClientRect();
    return map.unproject([700 - r.left, 420 - r.top]).toArray();
  });
  t.is(lon, expLon!);
  t.is(lat, expLat!);
  const { rows } = await p.sql.query<{ e: number; n: number }>(
    `SELECT ST_X(g) AS e, ST_Y(g) AS n FROM ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), 4549) AS g`,
    [lon, lat],
  );
  const gk = page.locator('#coords .gk');
  t.true(Math.abs(Number(await gk.getAttribute('data-e')) - rows[0]!.e) < 0.001, 'easting to the millimetre');
  t.true(Math.abs(Number(await gk.getAttribute('data-n')) - rows[0]!.n) < 0.001, 'northing to the millimetre');
  t.true((await gk.textContent())!.includes(`东 ${rows[0]!.e.toFixed(2)} 北 ${rows[0]!.n.toFixed(2)}`));
  t.true((await wgs.textContent())!.includes(`${lon.toFixed(6)}°, ${lat.toFixed(6)}°`));
  await page.context().close();
});

test.serial('the search box finds a place by its Chinese name and takes the map there', async (t) => {
  const { page } = await openViewer(browser, `${server.url}/#map=7/32/117&layers=basemap_prefecture`);
  await page.locator('input[data-search]').fill('淮安');
  await page.locator('input[data-search]').press('Enter');
  const hit = page.locator('.search-results button[data-layer="basemap_places"]', { hasText: '淮安' });
  await hit.waitFor();
  await hit.click();
  await page.waitForFunction(() => location.hash.includes('basemap_places'));
  // The flight (600 ms, longer on a busy machine) has ended when the map stops moving.
  await page.waitForFunction(() => !(window as unknown as { citybase: { map: import('maplibre-gl').Map } }).citybase.map.isMoving());
  const [lon, lat] = await onMap(page, (map) => map.getCenter().toArray());
  t.true(Math.abs(lon! - huaian.lon) < 1e-6 && Math.abs(lat! - huaian.lat) < 1e-6, `centred on 淮安 (${lon}, ${lat})`);
  t.true(await page.locator('#layer-basemap_places').isChecked(), 'the layer of the found feature is switched on');
  await page.context().close();

  // Without the geocoder and the features API, the search looks among the features loaded on the map.
  const offline = await openViewer(browser, `${server.url}/#map=8/33.6/119&layers=basemap_places`);
  await offline.page.route('**/collections/**', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"not_found","message":"no route"}' }));
  await offline.page.route('**/api/geocode**', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"not_found","message":"no route"}' }));
  await offline.page.locator('input[data-search]').fill('淮安');
  await offline.page.locator('input[data-search]').press('Enter');
  await offline.page.locator('.search-results button[data-layer="basemap_places"]', { hasText: '淮安' }).waitFor();
  t.pass('found in the loaded tiles');
  await offline.page.context().close();
});

test.serial('the current view exports as a PNG of the map', async (t) => {
  const { page } = await openViewer(browser, `${server.url}/#map=9/33.6/119.02&layers=basemap_prefecture,basemap_places`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('button[data-tool="export"]').click()]);
  const file = path.join(artifacts, 'viewer-export.png');
  await download.saveAs(file);
  const png = readFileSync(file);
  t.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  const canvas = await onMap(page, (map) => [map.getCanvas().width, map.getCanvas().height]);
  t.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], canvas, 'the size of the map canvas');
  t.regex(download.suggestedFilename(), /^citybase-\d{14}-119\.\d{4}_33\.\d{4}_z9\.0\.png$/);
  t.true(png.length > 20_000, 'not an empty image');
  await page.context().close();
});

test.serial('an air station popup charts its last 72 hourly AQI readings', async (t) => {
  const { rows: [station] } = await p.sql.query<{ code: string; name: string; lon: number; lat: number; n: number }>(
    `SELECT s.code, s.name, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
            (SELECT count(*)::int FROM (SELECT 1 FROM environment.air_readings r WHERE r.station_id = s.id ORDER BY observed_at DESC LIMIT 72) x) AS n
     FROM environment.air_stations s ORDER BY s.code LIMIT 1`,
  );
  t.truthy(station, 'the samples have air stations');
  const { page, errors } = await openViewer(browser, `${server.url}/#map=13/${station!.lat}/${station!.lon}&layers=environment_air_stations`);
  const at = await screenPoint(page, station!.lon, station!.lat);
  await page.mouse.click(at.x, at.y);
  const chart = page.locator(`.identify .aqi-chart[data-station="${station!.code}"]`);
  await chart.waitFor();
  await chart.locator('canvas').waitFor();
  await screenshot(page, 'viewer-aqi-chart');
  t.is(await page.locator('.identify .station-name').textContent(), station!.name);
  t.is(Number(await chart.getAttribute('data-points')), station!.n);
  t.deepEqual(errors, []);
  await page.context().close();
});
