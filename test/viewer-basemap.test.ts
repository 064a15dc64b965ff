import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync } from 'node:zlib';
import test from 'ava';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../tile-server/src/config.ts';
import { countColour, ensureViewerBuilt, launchChromium, mapPixels, openViewer } from './helpers/browser.ts';
import { startTestPlatform, type TestPlatform } from './helpers/platform.ts';

/**
 * Issue 14 §9: the city's own imagery as a base map (BASEMAP_RASTER_TILES), offered by the viewer's base-map
 * switcher only when configured, and always on the server's own host. The "imagery" here is a solid-colour
 * PNG tile served beside the platform on the same origin, as a reverse proxy would.
 */

const IMAGERY: [number, number, number] = [0x2a, 0x6f, 0x3b];

/** A 256 × 256 PNG of one colour (filter byte 0 per row, RGB). */
function solidPng([r, g, b]: [number, number, number]): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const x of buf) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(256, 0);
  ihdr.writeUInt32BE(256, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: 256 }, () => [r, g, b]).flat())]);
  const raw = Buffer.concat(Array.from({ length: 256 }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

let p: TestPlatform;
let server: http.Server;
let url: string;
let browser: Browser;
const tile = solidPng(IMAGERY);

test.before(async () => {
  await ensureViewerBuilt();
  p = await startTestPlatform({ BASEMAP_RASTER_TILES: '/imagery/{z}/{x}/{y}.png', BASEMAP_RASTER_ATTRIBUTION: '淮安市影像（测试）' });
  const app = p.platform.app.callback();
  server = http.createServer((req, res) => {
    if (req.url?.startsWith('/imagery/')) {
      res.writeHead(200, { 'Content-Type': 'image/png' });
      res.end(tile);
    } else void app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});
test.after.always(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await p?.close();
});

test('the style carries the configured imagery, switched off, on this host', async (t) => {
  const style = (await p.http.get('/styles/default.json')).body;
  t.like(style.sources['basemap-raster'], { type: 'raster', tileSize: 256, attribution: '淮安市影像（测试）' });
  t.regex(style.sources['basemap-raster'].tiles[0], /^http:\/\/127\.0\.0\.1:\d+\/imagery\/\{z\}\/\{x\}\/\{y\}\.png$/);
  t.like(style.layers[1], { id: 'basemap-raster', type: 'raster', layout: { visibility: 'none' } });
  // Another host is refused at start: the viewer's pages load nothing from elsewhere.
  t.throws(() => loadConfig({ BASEMAP_RASTER_TILES: 'https://t0.tianditu.gov.cn/img_w/{z}/{x}/{y}' }), { message: /BASEMAP_RASTER_TILES/ });
});

test('the base-map switcher offers the imagery and draws it', async (t) => {
  const { page, requests, errors } = await openViewer(browser, `${url}/#map=12/33.6/119.02`);
  t.false(requests.some((r) => r.url.includes('/imagery/')), 'not loaded while switched off');
  await page.locator('#basemap-raster').check();
  const px = await mapPixels(page);
  t.true(countColour(px, IMAGERY, undefined, 3) > 0.5 * (px.data.length / 4), 'the imagery covers the map');
  t.true(requests.some((r) => new URL(r.url).origin === url && /\/imagery\/\d+\/\d+\/\d+\.png$/.test(r.url)), 'tiles from this host');
  await page.locator('#basemap-vector').check();
  t.true(countColour(await mapPixels(page), IMAGERY, undefined, 3) < 100, 'gone with the vector base map');
  t.deepEqual(errors, []);
  await page.context().close();
});
