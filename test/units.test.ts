// Pure functions of the tile server, table-driven, plus round-trip properties. No database here.
import test from 'ava';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { anonymous, canSee, type Principal } from '../tile-server/src/access/access.ts';
import { ConfigError, loadConfig } from '../tile-server/src/config.ts';
import { HttpError } from '../tile-server/src/errors.ts';
import type { AccessLevel } from '../tile-server/src/registry/definition.ts';
import { TileCache, type CachedTile } from '../tile-server/src/tiles/cache.ts';
import {
  inRange,
  parseTile,
  tileBounds,
  tilesCovering,
  type LonLatBox,
  type TileCoord,
} from '../tile-server/src/tiles/coords.ts';
import { encoded, etagFor, makeTile, negotiate, notModified, type Encoding } from '../tile-server/src/tiles/encode.ts';

const gunzip = promisify(zlib.gunzip);
const unbrotli = promisify(zlib.brotliDecompress);

/** The server's default tile buffer as a fraction of a tile (64 / 4096). */
const BUFFER = 64 / 4096;
/** Tiles around Huai'an at every zoom up to 8 (the region the platform serves). */
const REGION: LonLatBox = [118.0, 32.5, 119.8, 34.3];

// ---------------------------------------------------------------------------------------------------------------
// parseTile
// ---------------------------------------------------------------------------------------------------------------

const parsesTo = test.macro({
  exec(t, z: string, x: string, y: string, expected: TileCoord) {
    t.deepEqual(parseTile(z, x, y), expected);
  },
  title: (_, z, x, y) => `parseTile accepts ${z}/${x}/${y}`,
});

test(parsesTo, '0', '0', '0', { z: 0, x: 0, y: 0 });
test(parsesTo, '14', '13675', '6524', { z: 14, x: 13675, y: 6524 });
test(parsesTo, '1', '1', '1', { z: 1, x: 1, y: 1 });
test(parsesTo, '30', '1073741823', '1073741823', { z: 30, x: 2 ** 30 - 1, y: 2 ** 30 - 1 });

const rejects = test.macro({
  exec(t, z: string, x: string, y: string, message: RegExp) {
    const err = t.throws(() => parseTile(z, x, y), { instanceOf: HttpError });
    t.is(err?.status, 400);
    t.is(err?.code, 'invalid_tile');
    t.regex(err?.message ?? '', message);
  },
  title: (_, z, x, y, message) => `parseTile rejects ${JSON.stringify(`${z}/${x}/${y}`)} with 400 (${String(message)})`,
});

test(rejects, '-1', '0', '0', /^z must be a non-negative integer, got "-1"$/);
test(rejects, '5', '-3', '0', /^x must be a non-negative integer, got "-3"$/);
test(rejects, '5', '0', '-0', /^y must be a non-negative integer/);
test(rejects, '01', '0', '0', /^z must be a non-negative integer, got "01"$/);
test(rejects, '5', '07', '0', /^x must be a non-negative integer, got "07"$/);
test(rejects, '1.5', '0', '0', /^z must be a non-negative integer, got "1.5"$/);
test(rejects, '5', '1e3', '0', /^x must be a non-negative integer, got "1e3"$/);
test(rejects, '5', '0', '0x1', /^y must be a non-negative integer/);
test(rejects, '5', ' 1', '0', /^x must be a non-negative integer/);
test(rejects, '', '0', '0', /^z must be a non-negative integer, got ""$/);
test(rejects, '5', '0', '', /^y must be a non-negative integer, got ""$/);
test(rejects, '31', '0', '0', /^z must be between 0 and 30, got 31$/);
test(rejects, '9999999999', '0', '0', /^z must be between 0 and 30/);
test(rejects, '0', '1', '0', /^x and y must be between 0 and 0 at zoom 0, got 1\/0$/);
test(rejects, '3', '0', '8', /^x and y must be between 0 and 7 at zoom 3, got 0\/8$/);
test(rejects, '14', '16384', '0', /between 0 and 16383 at zoom 14/);
test(rejects, '5', '99999999999999999999', '0', /^x must be a non-negative integer/);
test(rejects, '5', '1'.repeat(200), '0', /^x must be a non-negative integer, got "1{40}"$/); // echo is truncated

// ---------------------------------------------------------------------------------------------------------------
// tilesCovering / tileBounds
// ---------------------------------------------------------------------------------------------------------------

/** Every tile at zoom z that REGION touches. */
function regionTiles(z: number): TileCoord[] {
  const r = tilesCovering(REGION, z, 0);
  const out: TileCoord[] = [];
  for (let x = r.minX; x <= r.maxX; x++) for (let y = r.minY; y <= r.maxY; y++) out.push({ z, x, y });
  return out;
}

/** A box strictly inside a tile: its bounds shrunk by `inset` of the tile's size on every side. */
function inside(tile: TileCoord, inset: number): LonLatBox {
  const [w, s, e, n] = tileBounds(tile);
  const dx = (e - w) * inset;
  const dy = (n - s) * inset;
  return [w + dx, s + dy, e - dx, n - dy];
}

test('tilesCovering: a box strictly inside any tile up to z8 yields a range containing that tile', (t) => {
  let checked = 0;
  for (let z = 0; z <= 8; z++) {
    for (const tile of regionTiles(z)) {
      for (const inset of [0.001, 0.25, 0.49]) {
        const box = inside(tile, inset);
        t.true(inRange(tilesCovering(box, z, BUFFER), tile.x, tile.y), `${z}/${tile.x}/${tile.y} inset ${inset}`);
        checked++;
      }
    }
  }
  t.true(checked >= 9 * 3); // at least one tile per zoom
});

test('tilesCovering: without a buffer, a box strictly inside a tile yields exactly that tile', (t) => {
  for (let z = 0; z <= 8; z++)
    for (const tile of regionTiles(z))
      t.deepEqual(tilesCovering(inside(tile, 0.01), z, 0), { z, minX: tile.x, maxX: tile.x, minY: tile.y, maxY: tile.y });
});

test('tilesCovering: a box well inside a tile (farther from its edges than the buffer) yields only that tile', (t) => {
  for (let z = 1; z <= 8; z++)
    for (const tile of regionTiles(z))
      t.deepEqual(tilesCovering(inside(tile, 0.1), z, BUFFER), { z, minX: tile.x, maxX: tile.x, minY: tile.y, maxY: tile.y });
});

test('tilesCovering: a box within the buffer of a tile edge also covers the neighbour across that edge', (t) => {
  const tile = { z: 8, x: 212, y: 102 };
  const [w, , e] = tileBounds(tile);
  const [, s, , n] = inside(tile, 0.25);
  const nearEast = e - (e - w) * (BUFFER / 2);
  const r = tilesCovering([nearEast, s, nearEast, n], 8, BUFFER);
  t.true(inRange(r, 212, 102));
  t.true(inRange(r, 213, 102));
  t.false(inRange(r, 211, 102));
});

test('tilesCovering: a point exactly on a tile edge is covered on both sides with a buffer', (t) => {
  for (let z = 1; z <= 8; z++) {
    // Tiles with a neighbour to the west and to the north (0/… and …/0 have none: the world ends there).
    for (const tile of regionTiles(z).filter((c) => c.x > 0 && c.y > 0)) {
      const [w, s, e, n] = tileBounds(tile);
      const midLon = (w + e) / 2;
      const midLat = (s + n) / 2;
      // West edge: this tile and its western neighbour.
      const west = tilesCovering([w, midLat, w, midLat], z, BUFFER);
      t.true(inRange(west, tile.x, tile.y) && inRange(west, tile.x - 1, tile.y), `west edge of ${z}/${tile.x}/${tile.y}`);
      // North edge: this tile and the one above it (y grows southwards).
      const north = tilesCovering([midLon, n, midLon, n], z, BUFFER);
      t.true(inRange(north, tile.x, tile.y) && inRange(north, tile.x, tile.y - 1), `north edge of ${z}/${tile.x}/${tile.y}`);
      // A corner: all four tiles that meet there.
      const corner = tilesCovering([w, n, w, n], z, BUFFER);
      for (const [dx, dy] of [[0, 0], [-1, 0], [0, -1], [-1, -1]] as const)
        t.true(inRange(corner, tile.x + dx, tile.y + dy), `corner of ${z}/${tile.x}/${tile.y} (${dx},${dy})`);
    }
  }
});

const zoomZero = test.macro({
  exec(t, box: LonLatBox, buffer: number) {
    t.deepEqual(tilesCovering(box, 0, buffer), { z: 0, minX: 0, minY: 0, maxX: 0, maxY: 0 });
  },
  title: (_, box, buffer) => `tilesCovering at z0 is always the one tile 0/0/0: ${JSON.stringify(box)}, buffer ${buffer}`,
});
test(zoomZero, REGION, BUFFER);
test(zoomZero, [-180, -90, 180, 90], BUFFER);
test(zoomZero, [-180, -85.0511287798066, -180, -85.0511287798066], 0.5);
test(zoomZero, [180, 85.0511287798066, 180, 85.0511287798066], 0.5);
test(zoomZero, [0, 0, 0, 0], 0);

test('tilesCovering clamps to the world: boxes beyond ±180° / the mercator limit stay within 0..2^z-1', (t) => {
  for (let z = 1; z <= 8; z++) {
    const r = tilesCovering([-200, -89.9, 200, 89.9], z, BUFFER);
    t.deepEqual(r, { z, minX: 0, minY: 0, maxX: 2 ** z - 1, maxY: 2 ** z - 1 });
  }
});

test('tileBounds round-trips through tilesCovering for every tile up to z8 in the region', (t) => {
  for (let z = 0; z <= 8; z++)
    for (const tile of regionTiles(z)) {
      const [w, s, e, n] = tileBounds(tile);
      t.true(w < e && s < n);
      const centre: LonLatBox = [(w + e) / 2, (s + n) / 2, (w + e) / 2, (s + n) / 2];
      const r = tilesCovering(centre, z, 0);
      t.deepEqual([r.minX, r.minY, r.maxX, r.maxY], [tile.x, tile.y, tile.x, tile.y]);
    }
});

// ---------------------------------------------------------------------------------------------------------------
// Content negotiation and validators (tiles/encode.ts)
// ---------------------------------------------------------------------------------------------------------------

const negotiates = test.macro({
  exec(t, header: string | undefined, expected: Encoding) {
    t.is(negotiate(header), expected);
  },
  title: (_, header, expected) => `negotiate(${JSON.stringify(header)}) → ${expected}`,
});

test(negotiates, 'gzip, deflate, br', 'br');
test(negotiates, 'gzip', 'gzip');
test(negotiates, 'br;q=0, gzip', 'gzip');
test(negotiates, '*', 'br');
test(negotiates, 'identity', 'identity');
test(negotiates, '', 'identity');
test(negotiates, undefined, 'identity');
test(negotiates, 'gzip;q=0', 'identity');
test(negotiates, 'deflate', 'identity');
test(negotiates, 'GZIP', 'gzip');
test(negotiates, 'br;q=0.5, gzip;q=1.0', 'br'); // preference order is the server's: any q > 0 is acceptable
test(negotiates, 'gzip ; q=0.8', 'gzip');
test(negotiates, '*;q=0, gzip', 'gzip');
test(negotiates, '*, br;q=0', 'gzip');
test(negotiates, 'br;q=0.000', 'identity');

/** Deterministic, compressible bytes looking a little like an MVT. */
function someBytes(length: number, seed = 1): Buffer {
  const b = Buffer.alloc(length);
  let s = seed;
  for (let i = 0; i < length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    b[i] = i % 7 === 0 ? (s >>> 16) & 0xff : 0x1a + (i % 5);
  }
  return b;
}

test('encoded: gzip and brotli forms decompress to the raw bytes and are remembered on the tile', async (t) => {
  const tile = makeTile(someBytes(20_000));
  const g = await encoded(tile, 'gzip');
  t.is(g.encoding, 'gzip');
  t.true(g.added);
  t.true(g.body.length < tile.raw.length);
  t.deepEqual(await gunzip(g.body), tile.raw);
  const b = await encoded(tile, 'br');
  t.is(b.encoding, 'br');
  t.true(b.added);
  t.deepEqual(await unbrotli(b.body), tile.raw);
  // Second use: the same bytes, nothing new made.
  const g2 = await encoded(tile, 'gzip');
  const b2 = await encoded(tile, 'br');
  t.false(g2.added);
  t.false(b2.added);
  t.is(g2.body, tile.gzip!);
  t.is(b2.body, tile.br!);
  const i = await encoded(tile, 'identity');
  t.deepEqual(i, { body: tile.raw, encoding: 'identity', added: false });
});

test('encoded: tiles below 256 bytes are sent uncompressed whatever the client accepts', async (t) => {
  const tile = makeTile(someBytes(255));
  for (const want of ['br', 'gzip', 'identity'] as const) t.deepEqual(await encoded(tile, want), { body: tile.raw, encoding: 'identity', added: false });
  t.is(tile.gzip, undefined);
  t.is(tile.br, undefined);
  const big = makeTile(someBytes(256));
  t.is((await encoded(big, 'gzip')).encoding, 'gzip');
});

test('makeTile: the ETag depends on the bytes only (same data, same tag; different data, different tag)', (t) => {
  t.is(makeTile(someBytes(1000, 1)).etag, makeTile(someBytes(1000, 1)).etag);
  t.not(makeTile(someBytes(1000, 1)).etag, makeTile(someBytes(1000, 2)).etag);
  t.not(makeTile(Buffer.alloc(0)).etag, '');
});

test('etagFor: each encoding is a different strong validator of the same tile', (t) => {
  const tile = makeTile(someBytes(1000));
  const tags = (['identity', 'gzip', 'br'] as const).map((e) => etagFor(tile, e));
  t.is(new Set(tags).size, 3);
  for (const tag of tags) {
    t.regex(tag, /^"[^"]+"$/); // strong (no W/) and quoted
    t.true(tag.includes(tile.etag));
  }
  t.is(tags[0], `"${tile.etag}"`);
});

const conditional = test.macro({
  exec(t, header: (tile: CachedTile, other: CachedTile) => string | undefined, expected: boolean) {
    const tile = makeTile(someBytes(1000, 1));
    const other = makeTile(someBytes(1000, 2));
    t.is(notModified(header(tile, other), tile), expected);
  },
  title: (title, _header, expected) => `notModified ${expected ? 'matches' : 'does not match'}: ${title ?? ''}`,
});

test('the identity tag', conditional, (tile) => etagFor(tile, 'identity'), true);
test('the gzip tag', conditional, (tile) => etagFor(tile, 'gzip'), true);
test('the br tag', conditional, (tile) => etagFor(tile, 'br'), true);
test('*', conditional, () => '*', true);
test(' * (with spaces)', conditional, () => ' * ', true);
test('a weak W/ tag of the same content', conditional, (tile) => `W/${etagFor(tile, 'gzip')}`, true);
test('a list holding the tag among others', conditional, (tile, other) => `${etagFor(other, 'identity')}, W/${etagFor(tile, 'br')}`, true);
test('another tile’s tags', conditional, (_tile, other) => `${etagFor(other, 'identity')}, ${etagFor(other, 'br')}`, false);
test('no header', conditional, () => undefined, false);
test('an empty header', conditional, () => '', false);
test('a prefix of the tag', conditional, (tile) => `"${tile.etag.slice(0, 10)}"`, false);

// ---------------------------------------------------------------------------------------------------------------
// TileCache
// ---------------------------------------------------------------------------------------------------------------

const key = (layers: string, c: TileCoord) => `${layers}/${c.z}/${c.x}/${c.y}`;

function put(cache: TileCache, layers: string[], c: TileCoord, raw: Buffer = someBytes(100)): CachedTile {
  const tile = makeTile(raw);
  cache.set(key(layers.join(','), c), layers, c, tile, cache.epochOf(layers));
  return tile;
}

/** The tiles around a place at zooms 5..14: a 5×5 block centred on the tile holding it. */
function blockAround(lon: number, lat: number): TileCoord[] {
  const out: TileCoord[] = [];
  for (let z = 5; z <= 14; z++) {
    const r = tilesCovering([lon, lat, lon, lat], z, 0);
    for (let dx = -2; dx <= 2; dx++) for (let dy = -2; dy <= 2; dy++) out.push({ z, x: r.minX + dx, y: r.minY + dy });
  }
  return out;
}

test('TileCache: set then get returns the very tile; other keys miss', (t) => {
  const cache = new TileCache(1 << 20, BUFFER);
  const c = { z: 10, x: 852, y: 408 };
  const tile = put(cache, ['a'], c);
  t.is(cache.get(key('a', c)), tile);
  t.is(cache.get(key('b', c)), undefined);
  t.is(cache.get(key('a', { ...c, x: 853 })), undefined);
  t.is(cache.size, 1);
  t.true(cache.bytes >= tile.raw.length);
  t.is(cache.hits, 1);
  t.is(cache.misses, 2);
});

test('TileCache: a cache of size 0 is off: it stores and serves nothing', (t) => {
  const cache = new TileCache(0, BUFFER);
  t.false(cache.active);
  const c = { z: 10, x: 852, y: 408 };
  put(cache, ['a'], c);
  t.is(cache.get(key('a', c)), undefined);
  t.is(cache.size, 0);
  t.is(cache.evictLayer('a'), 0);
});

test('TileCache.evictBoxes removes exactly the tiles covering the box at every zoom, and keeps the others', (t) => {
  const cache = new TileCache(64 << 20, BUFFER);
  const [lon, lat] = [119.0213, 33.6047];
  const tiles = blockAround(lon, lat);
  for (const c of tiles) {
    put(cache, ['a'], c);
    put(cache, ['b'], c);
  }
  const box: LonLatBox = [lon - 0.0001, lat - 0.0001, lon + 0.0001, lat + 0.0001];
  const expected = tiles.filter((c) => inRange(tilesCovering(box, c.z, BUFFER), c.x, c.y));
  t.true(expected.length >= 10); // at least one per zoom
  t.is(cache.evictBoxes('a', [box]), expected.length);
  for (const c of tiles) {
    const gone = expected.includes(c);
    t.is(cache.get(key('a', c)) === undefined, gone, `a ${c.z}/${c.x}/${c.y}`);
    t.not(cache.get(key('b', c)), undefined, `b ${c.z}/${c.x}/${c.y} is another layer`);
  }
  t.is(cache.size, tiles.length * 2 - expected.length);
});

test('TileCache.evictBoxes with several boxes and a large box evicts the union, walking either the range or the index', (t) => {
  const cache = new TileCache(64 << 20, BUFFER);
  const tiles = [...blockAround(119.02, 33.6), ...blockAround(118.6, 33.9)];
  for (const c of tiles) put(cache, ['a'], c);
  const boxes: LonLatBox[] = [
    [119.02, 33.6, 119.02, 33.6],
    [118.5, 33.8, 118.7, 34.0], // covers many tiles at high zoom: the cached tiles are walked instead of the range
  ];
  const expected = new Set(
    tiles.filter((c) => boxes.some((b) => inRange(tilesCovering(b, c.z, BUFFER), c.x, c.y))).map((c) => key('a', c)),
  );
  t.is(cache.evictBoxes('a', boxes), expected.size);
  for (const c of tiles) t.is(cache.get(key('a', c)) === undefined, expected.has(key('a', c)), key('a', c));
});

test('TileCache.evictBoxes far from every cached tile evicts nothing', (t) => {
  const cache = new TileCache(1 << 20, BUFFER);
  const tiles = blockAround(119.02, 33.6);
  for (const c of tiles) put(cache, ['a'], c);
  t.is(cache.evictBoxes('a', [[2.35, 48.85, 2.36, 48.86]]), 0);
  t.is(cache.evictBoxes('unknown', [[119.02, 33.6, 119.02, 33.6]]), 0);
  t.is(cache.size, tiles.length);
});

test('TileCache.evictLayer removes every tile of the layer (composites included) and nothing else', (t) => {
  const cache = new TileCache(64 << 20, BUFFER);
  const tiles = blockAround(119.02, 33.6);
  for (const c of tiles) {
    put(cache, ['a'], c);
    put(cache, ['b'], c);
    put(cache, ['a', 'c'], c);
  }
  t.is(cache.evictLayer('a'), tiles.length * 2);
  for (const c of tiles) {
    t.is(cache.get(key('a', c)), undefined);
    t.is(cache.get(key('a,c', c)), undefined);
    t.not(cache.get(key('b', c)), undefined);
  }
  t.is(cache.size, tiles.length);
  t.is(cache.evictLayer('a'), 0);
  t.is(cache.evictLayer('c'), 0); // the composite went with a
});

test('TileCache: a composite tile is indexed under each of its layers', (t) => {
  const cache = new TileCache(64 << 20, BUFFER);
  const c = tilesCovering([119.02, 33.6, 119.02, 33.6], 12, 0);
  const coord = { z: 12, x: c.minX, y: c.minY };
  put(cache, ['a', 'b'], coord);
  put(cache, ['b', 'a'], coord);
  t.is(cache.size, 2);
  t.is(cache.evictBoxes('b', [[119.02, 33.6, 119.02, 33.6]]), 2);
  t.is(cache.size, 0);
  put(cache, ['a', 'b', 'c'], coord);
  t.is(cache.evictLayer('c'), 1);
  t.is(cache.get(key('a,b,c', coord)), undefined);
});

test('TileCache epoch guard: a tile whose layer changed after epochOf() is not stored', (t) => {
  const cache = new TileCache(1 << 20, BUFFER);
  const c = { z: 12, x: 3414, y: 1633 };
  const tile = makeTile(someBytes(100));

  const before = cache.epochOf(['a']);
  cache.evictBoxes('a', [[2.35, 48.85, 2.36, 48.86]]); // a change elsewhere still counts: the query may have read it
  cache.set(key('a', c), ['a'], c, tile, before);
  t.is(cache.get(key('a', c)), undefined);

  const composite = cache.epochOf(['a', 'b']);
  cache.evictLayer('b');
  cache.set(key('a,b', c), ['a', 'b'], c, tile, composite);
  t.is(cache.get(key('a,b', c)), undefined);

  const unrelated = cache.epochOf(['a']);
  cache.evictLayer('z');
  cache.set(key('a', c), ['a'], c, tile, unrelated);
  t.is(cache.get(key('a', c)), tile);
});

test('TileCache.reset: reset(false) empties and disables the cache; reset(true) re-enables it; in-flight tiles are refused', (t) => {
  const cache = new TileCache(1 << 20, BUFFER);
  const c = { z: 12, x: 3414, y: 1633 };
  put(cache, ['a'], c);
  const inflight = cache.epochOf(['a']);
  cache.reset(false);
  t.false(cache.active);
  t.is(cache.size, 0);
  put(cache, ['a'], c);
  t.is(cache.get(key('a', c)), undefined);
  cache.reset(true);
  t.true(cache.active);
  cache.set(key('a', c), ['a'], c, makeTile(someBytes(10)), inflight);
  t.is(cache.get(key('a', c)), undefined, 'a tile queried before the reset is not stored after it');
  const tile = put(cache, ['a'], c);
  t.is(cache.get(key('a', c)), tile);
});

test('TileCache: the byte bound holds however many tiles are stored, and the index follows LRU evictions', (t) => {
  const maxBytes = 20_000;
  const cache = new TileCache(maxBytes, BUFFER);
  const tiles = blockAround(119.02, 33.6); // 250 tiles
  for (const c of tiles) {
    put(cache, ['a'], c, someBytes(500, c.x + c.y));
    t.true(cache.bytes <= maxBytes);
  }
  t.true(cache.size > 0);
  t.true(cache.size < tiles.length);
  // Only what is still cached is indexed: evicting the layer reports exactly the cached entries.
  const cached = cache.size;
  t.is(cache.evictLayer('a'), cached);
  t.is(cache.size, 0);
  t.is(cache.bytes, 0);
});

test('TileCache.update: adding a compressed form is counted in the byte bound', async (t) => {
  const maxBytes = 50_000;
  const cache = new TileCache(maxBytes, BUFFER);
  const c = { z: 12, x: 3414, y: 1633 };
  const tile = put(cache, ['a'], c, someBytes(5000));
  const before = cache.bytes;
  const { body, added } = await encoded(tile, 'gzip');
  t.true(added);
  cache.update(key('a', c), tile);
  t.is(cache.bytes, before + body.length);
  t.is(cache.get(key('a', c)), tile);
  // Still indexed after the re-store.
  t.is(cache.evictLayer('a'), 1);
  // Updating a tile that is no longer cached does not bring it back.
  cache.update(key('a', c), tile);
  t.is(cache.size, 0);
});

test('TileCache: a tile larger than the whole cache is not stored and leaves nothing behind in the index', (t) => {
  const cache = new TileCache(1000, BUFFER);
  const c = { z: 12, x: 3414, y: 1633 };
  put(cache, ['a'], c, someBytes(5000));
  t.is(cache.get(key('a', c)), undefined);
  t.is(cache.size, 0);
  t.is(cache.evictLayer('a'), 0, 'evictLayer counts only tiles that were cached');
});

// ---------------------------------------------------------------------------------------------------------------
// loadConfig
// ---------------------------------------------------------------------------------------------------------------

test('loadConfig: every setting has its documented default', (t) => {
  const c = loadConfig({});
  t.like(c, {
    PORT: 8080,
    HOST: '0.0.0.0',
    DATA_DIR: 'var',
    TILE_CACHE_MB: 256,
    CORS_ORIGINS: '*',
    CONTRIB_ACCESS: 'internal',
    CONTRIB_POLL_MS: 5000,
    LOG_LEVEL: 'info',
    TILE_CACHE_CONTROL: 'public, max-age=0, must-revalidate',
    STATEMENT_TIMEOUT_MS: 10000,
    DB_POOL_MAX: 16,
    TILE_EXTENT: 4096,
    TILE_BUFFER: 64,
    LOAD_SAMPLES: true,
    LAYERS_DIR: 'layers',
    TIMEZONE: 'Asia/Shanghai',
    IMPORT_TIMEZONE: 'Asia/Shanghai',
    corsOrigins: '*',
  });
  // IMPORT_TIMEZONE follows TIMEZONE unless it is set itself.
  t.is(loadConfig({ TIMEZONE: 'Asia/Urumqi' }).IMPORT_TIMEZONE, 'Asia/Urumqi');
  t.is(loadConfig({ TIMEZONE: 'Asia/Urumqi', IMPORT_TIMEZONE: 'UTC' }).IMPORT_TIMEZONE, 'UTC');
  t.is(c.DATABASE_URL, undefined);
  t.is(c.PUBLIC_URL, undefined);
  t.true(Object.isFrozen(c));
});

test('loadConfig: values are coerced from strings; empty strings and unknown keys are ignored', (t) => {
  const c = loadConfig({
    PORT: '9000',
    TILE_CACHE_MB: '0',
    CONTRIB_ACCESS: 'public',
    CONTRIB_POLL_MS: '300',
    DATABASE_URL: 'postgres://u:p@db.example:5432/gis',
    PUBLIC_URL: '',
    HOST: '',
    SOMETHING_ELSE: 'whatever',
  });
  t.like(c, { PORT: 9000, TILE_CACHE_MB: 0, CONTRIB_ACCESS: 'public', CONTRIB_POLL_MS: 300, HOST: '0.0.0.0' });
  t.is(c.DATABASE_URL, 'postgres://u:p@db.example:5432/gis');
  t.is(c.PUBLIC_URL, undefined);
  t.false('SOMETHING_ELSE' in c);
});

const loadSamples = test.macro({
  exec(t, value: string, expected: boolean) {
    t.is(loadConfig({ LOAD_SAMPLES: value }).LOAD_SAMPLES, expected);
  },
  title: (_, value, expected) => `loadConfig: LOAD_SAMPLES=${value} is ${expected}`,
});
test(loadSamples, 'true', true);
test(loadSamples, '1', true);
test(loadSamples, 'false', false);
test(loadSamples, '0', false);

test('loadConfig: invalid values raise one ConfigError listing every bad key at once', (t) => {
  const err = t.throws(
    () => loadConfig({ PORT: 'eighty', TILE_CACHE_MB: '-1', CONTRIB_ACCESS: 'open', CONTRIB_POLL_MS: '50', LOAD_SAMPLES: 'yes', HOST: 'localhost' }),
    { instanceOf: ConfigError },
  );
  const lines = err!.message.split('\n');
  t.is(lines[0], 'invalid configuration:');
  for (const k of ['PORT', 'TILE_CACHE_MB', 'CONTRIB_ACCESS', 'CONTRIB_POLL_MS', 'LOAD_SAMPLES'])
    t.true(lines.some((l) => l.startsWith(`  ${k}: `)), `${k} is reported`);
  t.false(err!.message.includes('HOST'), 'valid keys are not reported');
  t.is(lines.length, 6);
});

const badValue = test.macro({
  exec(t, env: Record<string, string>) {
    const [k] = Object.keys(env);
    const err = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
    t.regex(err!.message, new RegExp(`^  ${k}: .+$`, 'm'));
  },
  title: (_, env) => `loadConfig rejects ${JSON.stringify(env)}`,
});
test(badValue, { PORT: '65536' });
test(badValue, { PORT: '-1' });
test(badValue, { PORT: '80.5' });
test(badValue, { TILE_CACHE_MB: 'lots' });
test(badValue, { CONTRIB_ACCESS: 'open' });
test(badValue, { TIMEZONE: 'Beijing' });
test(badValue, { IMPORT_TIMEZONE: 'GMT+8 wall clock' });
test(badValue, { LOG_LEVEL: 'verbose' });
test(badValue, { DATABASE_URL: 'not a url' });
test(badValue, { PUBLIC_URL: 'gis.example.gov.cn' });
test(badValue, { TILE_EXTENT: '100' });
test(badValue, { DB_POOL_MAX: '0' });
test(badValue, { STATEMENT_TIMEOUT_MS: '10' });

const blank = test.macro({
  exec(t, k: 'PORT' | 'TILE_CACHE_MB' | 'TILE_BUFFER' | 'DB_POOL_MAX') {
    // Like an empty value (unset → default) or an error; a stray space must not silently mean 0
    // (PORT 0 = a random port, TILE_CACHE_MB 0 = cache off, TILE_BUFFER 0 = features cut at tile edges).
    let value: number | undefined;
    try {
      value = loadConfig({ [k]: '  ' })[k];
    } catch (err) {
      t.true(err instanceof ConfigError);
      return;
    }
    t.is(value, loadConfig({})[k]);
  },
  title: (_, k) => `loadConfig: a blank ${k} (spaces only) is treated as unset or rejected, never read as 0`,
});
test(blank, 'PORT');
test(blank, 'TILE_CACHE_MB');
test(blank, 'TILE_BUFFER');
test(blank, 'DB_POOL_MAX');

test('loadConfig: libpq-style DATABASE_URLs (unix socket, IPv6, no password) are accepted', (t) => {
  for (const url of [
    'postgres:///citybase?host=/var/run/postgresql',
    'postgresql://%2Fvar%2Frun%2Fpostgresql/gis',
    'postgres://u:p@[::1]:5432/gis',
    'postgres://gis@localhost/gis',
  ])
    t.is(loadConfig({ DATABASE_URL: url }).DATABASE_URL, url);
});

const cors = test.macro({
  exec(t, value: string, expected: readonly string[] | '*') {
    t.deepEqual(loadConfig({ CORS_ORIGINS: value }).corsOrigins, expected);
  },
  title: (_, value, expected) => `loadConfig: CORS_ORIGINS=${JSON.stringify(value)} → ${JSON.stringify(expected)}`,
});
test(cors, '*', '*');
test(cors, ' * ', '*');
test(cors, 'https://map.huaian.gov.cn', ['https://map.huaian.gov.cn']);
test(cors, 'https://a.gov.cn, https://b.gov.cn ,http://localhost:5173', ['https://a.gov.cn', 'https://b.gov.cn', 'http://localhost:5173']);
test(cors, 'https://a.gov.cn,,', ['https://a.gov.cn']);

// ---------------------------------------------------------------------------------------------------------------
// canSee
// ---------------------------------------------------------------------------------------------------------------

const department = (d: string): Principal => ({ ...anonymous, kind: 'key', department: d, keyId: 1, rights: ['layer:read'] });
const layers: Record<string, { access: AccessLevel; owner: string; allow: string[] }> = {
  public: { access: 'public', owner: 'cgj', allow: [] },
  internal: { access: 'internal', owner: 'jtj', allow: [] },
  restricted: { access: 'restricted', owner: 'rfb', allow: ['sthj'] },
};
const principals: Record<string, Principal> = {
  anonymous,
  'owner rfb': department('rfb'),
  'allowed sthj': department('sthj'),
  'other jtj': department('jtj'),
};
const truth: Record<string, Record<string, boolean>> = {
  anonymous: { public: true, internal: false, restricted: false },
  'owner rfb': { public: true, internal: true, restricted: true },
  'allowed sthj': { public: true, internal: true, restricted: true },
  'other jtj': { public: true, internal: true, restricted: false }, // owning an internal layer is not needed
};

const sees = test.macro({
  exec(t, who: string, layer: string) {
    t.is(canSee(principals[who]!, layers[layer]!), truth[who]![layer]!);
  },
  title: (_, who, layer) => `canSee: ${who} ${truth[String(who)]![String(layer)] ? 'sees' : 'does not see'} a ${layer} layer`,
});
for (const who of Object.keys(principals)) for (const layer of Object.keys(layers)) test(sees, who, layer);

test('canSee: a restricted layer with no allow list is its owner’s only; the allow list never widens other levels', (t) => {
  t.true(canSee(department('rfb'), { access: 'restricted', owner: 'rfb', allow: [] }));
  t.false(canSee(department('sthj'), { access: 'restricted', owner: 'rfb', allow: [] }));
  t.false(canSee(anonymous, { access: 'internal', owner: 'rfb', allow: ['sthj'] }));
});
