// OGC API - Tiles: the tile matrix set, each layer's vector tileset, and tiles by tileMatrix/tileRow/tileCol that
// are the very tiles of /tiles/{layer}/{z}/{x}/{y}.mvt (row = y, column = x), with the same access rule.
import test, { type ExecutionContext } from 'ava';
import { decodeTile, tileOf } from './helpers/mvt.ts';
import { binary, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let p: TestPlatform;
let rfbKey: string;
test.before(async () => {
  p = await startTestPlatform();
  rfbKey = (await p.platform.keys.create('rfb', 'ogc tiles test')).key;
});
test.after.always(async () => {
  await p?.close();
});

const TMS = 'WebMercatorQuad';
const MVT = 'application/vnd.mapbox-vector-tile';

async function json<T = Record<string, unknown>>(url: string, query: Record<string, string> = {}): Promise<T> {
  const res = await p.http.get(url).query(query);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return JSON.parse(res.text) as T;
}
const raw = (url: string, query: Record<string, string> = {}) =>
  p.http.get(url).query(query).set('Accept-Encoding', 'identity').buffer(true).parse(binary);

interface Link {
  href: string;
  rel: string;
  type?: string;
  templated?: boolean;
}
const path = (href: string) => href.replace(/^https?:\/\/[^/]+/, '');

// A z14 tile of fx_points with features, whose column and row differ (a swap would be noticed).
const { z, x, y } = tileOf(119.05, 33.6, 14);

const honoured: Record<string, (t: ExecutionContext) => Promise<void>> = {
  'ogcapi-tiles-1/1.0/conf/core': async (t) => {
    t.is((await raw(`/collections/fx_points/tiles/${TMS}/${z}/${y}/${x}`)).status, 200);
  },
  'ogcapi-tiles-1/1.0/conf/tileset': async (t) => {
    const ts = await json<{ tileMatrixSetURI: string; links: Link[] }>(`/collections/fx_points/tiles/${TMS}`);
    t.is(ts.tileMatrixSetURI, 'http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad');
    t.truthy(ts.links.find((l) => l.rel === 'item' && l.templated));
  },
  'ogcapi-tiles-1/1.0/conf/tilesets-list': async (t) => {
    t.is((await json<{ tilesets: unknown[] }>('/collections/fx_points/tiles')).tilesets.length, 1);
  },
  'ogcapi-tiles-1/1.0/conf/geodata-tilesets': async (t) => {
    const c = await json<{ links: Link[] }>('/collections/fx_points');
    const l = c.links.find((x) => x.rel === 'http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector')!;
    t.is(path(l.href), '/collections/fx_points/tiles');
  },
  'ogcapi-tiles-1/1.0/conf/mvt': async (t) => {
    const res = await raw(`/collections/fx_points/tiles/${TMS}/${z}/${y}/${x}`);
    t.is(res.headers['content-type'], MVT);
    t.true(decodeTile(res.body as Buffer, z, x, y).fx_points!.length > 0);
  },
  'tms/2.0/conf/tilematrixset': async (t) => {
    t.is((await json<{ id: string }>(`/tileMatrixSets/${TMS}`)).id, TMS);
  },
  'tms/2.0/conf/json-tilematrixset': async (t) => {
    const list = await json<{ tileMatrixSets: Array<{ id: string; links: Link[] }> }>('/tileMatrixSets');
    t.deepEqual(list.tileMatrixSets.map((s) => s.id), [TMS]);
    t.is(path(list.tileMatrixSets[0]!.links[0]!.href), `/tileMatrixSets/${TMS}`);
  },
};

test('every OGC API - Tiles class advertised is one this suite checks, and each is honoured', async (t) => {
  const { conformsTo } = await json<{ conformsTo: string[] }>('/conformance');
  const tiles = conformsTo.filter((c) => /\/spec\/(ogcapi-tiles-1|tms)\//.test(c));
  t.deepEqual(tiles.sort(), Object.keys(honoured).map((k) => `http://www.opengis.net/spec/${k}`).sort());
  for (const check of Object.values(honoured)) await check(t);
});

test('a tile by tileMatrix/tileRow/tileCol is the XYZ tile z/x/y with row = y, column = x: same bytes, same ETag', async (t) => {
  t.not(x, y);
  const xyz = await raw(`/tiles/fx_points/${z}/${x}/${y}.mvt`);
  const ogc = await raw(`/collections/fx_points/tiles/${TMS}/${z}/${y}/${x}`);
  t.is(ogc.status, 200);
  t.deepEqual(ogc.body, xyz.body);
  t.is(ogc.headers.etag, xyz.headers.etag);
  // Under /ogc too, for clients that append paths to the landing page.
  t.deepEqual((await raw(`/ogc/collections/fx_points/tiles/${TMS}/${z}/${y}/${x}`)).body, xyz.body);
  // Swapped, it is another place: the tile at column y, row x.
  const swapped = await raw(`/collections/fx_points/tiles/${TMS}/${z}/${x}/${y}`);
  t.notDeepEqual(swapped.body, xyz.body);
  // filter= works as on /tiles.
  const filtered = await raw(`/collections/fx_points/tiles/${TMS}/${z}/${y}/${x}`, { filter: "kind = 'a'" });
  t.deepEqual(filtered.body, (await raw(`/tiles/fx_points/${z}/${x}/${y}.mvt`, { filter: "kind = 'a'" })).body);
  t.true(decodeTile(filtered.body as Buffer, z, x, y).fx_points!.every((f) => f.properties.kind === 'a'));
});

test('the tileset gives the matrix limits of the data at every zoom of the layer, its layer schema and an item template', async (t) => {
  const ts = await json<{
    dataType: string;
    crs: string;
    tileMatrixSetLimits: Array<{ tileMatrix: string; minTileRow: number; maxTileRow: number; minTileCol: number; maxTileCol: number }>;
    boundingBox: { lowerLeft: number[]; upperRight: number[] };
    layers: Array<{ id: string; geometryDimension: number; minTileMatrix: string; maxTileMatrix: string; propertiesSchema: { properties: Record<string, { type: string }> } }>;
    links: Link[];
  }>(`/collections/fx_points/tiles/${TMS}`);
  t.is(ts.dataType, 'vector');
  t.is(ts.crs, 'http://www.opengis.net/def/crs/EPSG/0/3857');
  // fx_points draws at zooms 5-20: one limits entry each, and the tile used above is inside its zoom's limits.
  t.deepEqual(ts.tileMatrixSetLimits.map((l) => l.tileMatrix), Array.from({ length: 16 }, (_, i) => String(i + 5)));
  const at14 = ts.tileMatrixSetLimits.find((l) => l.tileMatrix === String(z))!;
  t.true(at14.minTileCol <= x && x <= at14.maxTileCol && at14.minTileRow <= y && y <= at14.maxTileRow);
  // The limits are the data's: the tile just outside them is empty.
  t.is((await raw(`/collections/fx_points/tiles/${TMS}/${z}/${at14.minTileRow - 1}/${at14.minTileCol}`)).status, 204);
  const { rows } = await p.sql.query<{ w: number; s: number; e: number; n: number }>(
    'SELECT ST_XMin(b) AS w, ST_YMin(b) AS s, ST_XMax(b) AS e, ST_YMax(b) AS n FROM (SELECT ST_Extent(geom) AS b FROM fixtures.points) AS x',
  );
  t.true(Math.abs(ts.boundingBox.lowerLeft[0]! - rows[0]!.w) < 0.01 && Math.abs(ts.boundingBox.upperRight[1]! - rows[0]!.n) < 0.01);
  t.deepEqual(ts.layers.map((l) => [l.id, l.geometryDimension, l.minTileMatrix, l.maxTileMatrix]), [['fx_points', 0, '5', '20']]);
  t.is(ts.layers[0]!.propertiesSchema.properties.value!.type, 'number');
  const item = ts.links.find((l) => l.rel === 'item')!;
  t.is(item.type, 'application/vnd.mapbox-vector-tile');
  const url = path(item.href).replace('{tileMatrix}', String(z)).replace('{tileRow}', String(y)).replace('{tileCol}', String(x));
  t.deepEqual((await raw(url)).body, (await raw(`/tiles/fx_points/${z}/${x}/${y}.mvt`)).body);
  const scheme = ts.links.find((l) => l.rel === 'http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme')!;
  t.is(path(scheme.href), `/tileMatrixSets/${TMS}`);
});

test('WebMercatorQuad is the OGC definition: 2^z × 2^z tiles of 256 px from the top-left of EPSG:3857', async (t) => {
  const tms = await json<{
    crs: string;
    tileMatrices: Array<{ id: string; matrixWidth: number; matrixHeight: number; cellSize: number; scaleDenominator: number; pointOfOrigin: number[]; cornerOfOrigin: string }>;
  }>(`/tileMatrixSets/${TMS}`);
  t.is(tms.crs, 'http://www.opengis.net/def/crs/EPSG/0/3857');
  t.is(tms.tileMatrices.length, 25);
  const [m0, m14] = [tms.tileMatrices[0]!, tms.tileMatrices[14]!];
  t.is(m14.id, '14');
  t.is(m14.matrixWidth, 16384);
  t.is(m14.matrixHeight, 16384);
  // Values of the OGC TMS 2.0 standard, annex D.1.
  t.true(Math.abs(m0.cellSize - 156543.033928041) < 1e-6);
  t.true(Math.abs(m0.scaleDenominator - 559082264.028717) < 1e-3);
  t.deepEqual(m0.pointOfOrigin, [-20037508.3427892, 20037508.3427892]);
  t.is(m0.cornerOfOrigin, 'topLeft');
});

test('access and errors: an invisible layer is 404 like an unknown one; a tile outside the tileset is 404, a malformed one 400', async (t) => {
  for (const url of ['/collections/fx_secret/tiles', `/collections/fx_secret/tiles/${TMS}`, `/collections/fx_secret/tiles/${TMS}/${z}/${y}/${x}`]) {
    const res = await p.http.get(url);
    t.is(res.status, 404, url);
    t.deepEqual(res.body, { error: 'unknown_layer', message: 'no layer "fx_secret"' });
    t.is((await p.http.get(url).query({ key: rfbKey })).status, 200, `${url} with the owner's key`);
  }
  const tileset = await json<{ links: Link[] }>('/collections/fx_secret/tiles', { key: rfbKey });
  t.true(tileset.links.every((l) => l.href.includes(`key=${rfbKey}`)), 'links carry the key');
  const cases: Array<[string, number, RegExp]> = [
    ['/collections/fx_points/tiles/WorldCRS84Quad', 404, /no tile matrix set "WorldCRS84Quad"/],
    ['/tileMatrixSets/EuropeanETRS89_LAEAQuad', 404, /the one served is WebMercatorQuad/],
    // Outside the tileset is 404 (OGC API - Tiles); a malformed number is 400.
    [`/collections/fx_points/tiles/${TMS}/25/0/0`, 404, /tile matrices 5 to 20 of WebMercatorQuad, not 25/],
    [`/collections/fx_points/tiles/${TMS}/2/0/0`, 404, /tile matrices 5 to 20 of WebMercatorQuad, not 2/],
    [`/collections/fx_points/tiles/${TMS}/5/32/0`, 404, /rows and columns 0 to 31, not 32\/0/],
    [`/collections/fx_points/tiles/${TMS}/${z}/-1/${x}`, 400, /tileRow must be a non-negative integer/],
    [`/collections/fx_points/tiles/${TMS}/${z}/${y}/1e3`, 400, /tileCol must be a non-negative integer/],
    ['/collections/fx_points,fx_parcels/tiles', 404, /no layer/],
    ['/collections/fx_points/tiles?limit=3', 400, /unknown parameter "limit"/],
  ];
  for (const [url, status, message] of cases) {
    const res = await p.http.get(url);
    t.is(res.status, status, url);
    t.regex(res.body.message, message, url);
  }
});

test('the landing page links to the tile matrix sets; function layers have tilesets too', async (t) => {
  const landing = await json<{ links: Link[] }>('/ogc');
  t.is(path(landing.links.find((l) => l.rel === 'http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes')!.href), '/tileMatrixSets');
  const density = await json<{ layers: Array<{ id: string }> }>(`/collections/fx_density/tiles/${TMS}`);
  t.deepEqual(density.layers.map((l) => l.id), ['fx_density']);
});
