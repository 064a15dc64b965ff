import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import pg from 'pg';
import { ImportError } from '../import/errors.ts';
import { openSource } from '../import/formats/open.ts';
import { JsonScanner, JsonStructureError } from '../import/formats/json-scanner.ts';
import { Cql2Error } from '../tile-server/src/features/cql2/errors.ts';
import { parseCql2Json } from '../tile-server/src/features/cql2/json.ts';
import { parseCql2 } from '../tile-server/src/features/cql2/parser.ts';
import { decodeFrame, Deframer, FrameError } from '../tile-server/src/vehicles/jt808/frame.ts';
import { BodyError, decodeAuthenticate, decodeBatch, decodeLocation, decodeRegister } from '../tile-server/src/vehicles/jt808/messages.ts';
import { fixturesDir, testDatabaseUrl } from './helpers/platform.ts';

/**
 * Fuzzing the parsers (issue 16 §7): real inputs from test/fixtures, mutated (bytes flipped, runs deleted,
 * duplicated or overwritten with extreme values, cut short) from a fixed seed, so a failure replays. Every
 * input must end in the parser's own clean error or a result: never a TypeError, a RangeError, a hang (ava's
 * timeout bounds each test) or a crash. The seed is printed; FUZZ_SEED and FUZZ_ROUNDS override.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 150);

/** mulberry32: small, seedable, good enough to pick mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EXTREMES = [0x00, 0xff, 0x7f, 0x80, 0x7e, 0x7d, 0x22, 0x5c, 0x7b, 0x5b];

/** One mutation of `input`: the kind of damage a bad disk, a cut upload or a hostile sender does. */
function mutate(input: Buffer, r: () => number): Buffer {
  const b = Buffer.from(input);
  const at = () => Math.floor(r() * b.length);
  switch (Math.floor(r() * 6)) {
    case 0: // flip bits here and there
      for (let i = 0; i < 1 + r() * 8; i++) b[at()]! ^= 1 << Math.floor(r() * 8);
      return b;
    case 1: // extreme bytes (flags, quotes, 0xFF counts)
      for (let i = 0; i < 1 + r() * 8; i++) b[at()] = EXTREMES[Math.floor(r() * EXTREMES.length)]!;
      return b;
    case 2: // cut short
      return b.subarray(0, at());
    case 3: { // a run deleted
      const s = at();
      return Buffer.concat([b.subarray(0, s), b.subarray(Math.min(b.length, s + 1 + Math.floor(r() * 64)))]);
    }
    case 4: { // a run repeated
      const s = at();
      const run = b.subarray(s, s + 1 + Math.floor(r() * 32));
      return Buffer.concat([b.subarray(0, s), run, run, run, b.subarray(s)]);
    }
    default: // a 32-bit little-endian count overwritten with something huge or negative
      if (b.length >= 4) b.writeInt32LE([0x7fffffff, -1, -2147483648, 65536][Math.floor(r() * 4)]!, Math.floor(r() * (b.length - 3)));
      return b;
  }
}

/** Run `fn` on ROUNDS mutations of each seed input; only the named error classes may escape. */
async function fuzz(
  t: import('ava').ExecutionContext,
  name: string,
  seeds: Buffer[],
  fn: (input: Buffer) => unknown,
  allowed: Array<new (...args: never[]) => Error>,
): Promise<void> {
  const r = rng(SEED ^ [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7));
  let clean = 0;
  let results = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const input = mutate(seeds[i % seeds.length]!, r);
    try {
      await fn(input);
      results++;
    } catch (err) {
      if (!allowed.some((E) => err instanceof E))
        return t.fail(`${name} round ${i} (FUZZ_SEED=${SEED}): ${(err as Error)?.constructor?.name} ${(err as Error)?.message}\n${input.subarray(0, 200).toString('hex')}`);
      clean++;
    }
  }
  t.log(`${name}: ${ROUNDS} mutated inputs, ${clean} refused with a clean error, ${results} read (seed ${SEED})`);
  t.true(clean > 0, 'the mutations did reach the error paths');
}

// ---- import formats, through openSource and every record, as an import reads them ----

let pool: pg.Pool;
let dir: string;
test.before(() => {
  pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-fuzz-'));
});
test.after.always(async () => {
  await pool?.end();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Write the input as `name` (its siblings unchanged beside it) and read it through to the end. */
async function readThrough(files: Record<string, Buffer>, main: string): Promise<void> {
  const d = fs.mkdtempSync(path.join(dir, 'in-'));
  try {
    for (const [n, data] of Object.entries(files)) fs.writeFileSync(path.join(d, n), data);
    const opened = await openSource({ path: path.join(d, main), name: main }, { maxUnzippedBytes: 50 * 2 ** 20 }, pool);
    try {
      opened.source.srs();
      for await (const batch of opened.source.batches()) void batch.length;
      opened.source.srs();
    } finally {
      await opened.close();
    }
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
}

const shp = path.join(fixturesDir, 'data', 'shapefile-encodings', 'mapshaper');
const shapefile = (ext: string) => fs.readFileSync(path.join(shp, `ldid__chinese.${ext}`));

test('shapefile geometry (.shp) mutated: ImportError or a read', async (t) => {
  await fuzz(t, 'shp', [shapefile('shp')], (b) => readThrough({ 'f.shp': b, 'f.shx': shapefile('shx'), 'f.dbf': shapefile('dbf'), 'f.prj': shapefile('prj') }, 'f.shp'), [ImportError]);
});

test('dBASE attributes (.dbf) mutated: ImportError or a read', async (t) => {
  await fuzz(t, 'dbf', [shapefile('dbf'), fs.readFileSync(path.join(shp, 'big5.dbf'))], (b) =>
    readThrough({ 'f.shp': shapefile('shp'), 'f.shx': shapefile('shx'), 'f.dbf': b, 'f.prj': shapefile('prj') }, 'f.shp'), [ImportError]);
});

test('GeoJSON mutated: ImportError or a read', async (t) => {
  const doc = Buffer.from(
    JSON.stringify({
      type: 'FeatureCollection',
      features: Array.from({ length: 20 }, (_, i) => ({
        type: 'Feature',
        properties: { name: `点${i}`, v: i * 1.5, ok: i % 2 === 0, tags: ['a', 'b'] },
        geometry: i % 3 ? { type: 'Point', coordinates: [119 + i / 100, 33.6] } : { type: 'Polygon', coordinates: [[[119, 33], [119.1, 33], [119.1, 33.1], [119, 33]]] },
      })),
    }),
  );
  await fuzz(t, 'geojson', [doc], (b) => readThrough({ 'f.geojson': b }, 'f.geojson'), [ImportError]);
});

test('ZIP archives mutated: ImportError or a read', async (t) => {
  const { makeZip } = await import('./fixtures/import/helpers.ts');
  const zip = makeZip(['shp', 'shx', 'dbf', 'prj'].map((e) => ({ name: `towns.${e}`, data: shapefile(e) })));
  await fuzz(t, 'zip', [zip], (b) => readThrough({ 'f.zip': b }, 'f.zip'), [ImportError]);
});

test('the JSON scanner alone, fed mutated text in small chunks: its structure error or pieces', async (t) => {
  const text = Buffer.from(`{"type":"FeatureCollection","name":"x","features":[{"type":"Feature","properties":{"a":"b\\"}"},"geometry":null},{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1,2]}}]}`);
  await fuzz(t, 'json-scanner', [text], (b) => {
    const s = new JsonScanner();
    const str = b.toString('utf8');
    for (let i = 0; i < str.length; i += 7) for (const e of s.push(str.slice(i, i + 7))) if (e.kind === 'feature') JSON.parse(e.text);
    s.end();
  }, [JsonStructureError, SyntaxError]);
});

// ---- CQL2, text and JSON ----

test('CQL2 text mutated: Cql2Error or an expression', async (t) => {
  const seeds = [
    `name LIKE '淮安%' AND value BETWEEN 1 AND 10 OR NOT (kind IN ('a','b'))`,
    `S_INTERSECTS(geom, POLYGON((119 33, 119.1 33, 119.1 33.1, 119 33))) AND built > DATE('2020-01-01')`,
    `T_AFTER(built, TIMESTAMP('2026-01-01T00:00:00Z')) AND CASEI(name) = casei('ABC') AND value IS NOT NULL`,
  ].map((s) => Buffer.from(s));
  await fuzz(t, 'cql2-text', seeds, (b) => parseCql2(b.toString('utf8')), [Cql2Error]);
});

test('CQL2 JSON mutated: Cql2Error or an expression', async (t) => {
  const seeds = [
    { op: 'and', args: [{ op: '=', args: [{ property: 'name' }, '淮安'] }, { op: 'between', args: [{ property: 'value' }, 1, 10] }] },
    { op: 's_intersects', args: [{ property: 'geom' }, { type: 'Polygon', coordinates: [[[119, 33], [119.1, 33], [119.1, 33.1], [119, 33]]] }] },
    { op: 'like', args: [{ property: 'name' }, 'a%\\_'] },
  ].map((j) => Buffer.from(JSON.stringify(j)));
  await fuzz(t, 'cql2-json', seeds, (b) => parseCql2Json(b.toString('utf8')), [Cql2Error]);
});

// ---- JT/T 808, from the reference vectors ----

test('JT/T 808 frames mutated: FrameError/BodyError or a decoded message; the deframer never holds more than a frame', async (t) => {
  const vectors = JSON.parse(fs.readFileSync(path.join(fixturesDir, 'jt808', 'vectors.json'), 'utf8')) as Record<string, unknown>;
  const frames = Object.values(vectors)
    .flatMap((v) => (typeof v === 'string' ? [v] : typeof v === 'object' && v ? Object.values(v) : []))
    .filter((v): v is string => typeof v === 'string' && /^7e[0-9a-f]+7e$/i.test(v))
    .map((h) => Buffer.from(h, 'hex'));
  t.true(frames.length >= 5, `${frames.length} reference frames`);
  let most = 0;
  await fuzz(t, 'jt808', frames, (b) => {
    const found: Buffer[] = [];
    const d = new Deframer((f) => found.push(f), () => {});
    for (let i = 0; i < b.length; i += 5) {
      d.push(b.subarray(i, i + 5));
      most = Math.max(most, d.buffered);
    }
    for (const f of found) {
      const frame = decodeFrame(f);
      const body = frame.body;
      const version = frame.header.version;
      switch (frame.header.id) {
        case 0x0200: decodeLocation(body); break;
        case 0x0704: decodeBatch(body); break;
        case 0x0100: decodeRegister(body, version); break;
        case 0x0102: decodeAuthenticate(body, version); break;
      }
    }
    if (found.length === 0) throw new FrameError('no frame');
  }, [FrameError, BodyError]);
  t.true(most <= 2 * 1045, `the deframer held at most ${most} bytes`);
});
