import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import iconv from 'iconv-lite';
import { importFile } from '../import/index.ts';
import { detectTextEncoding } from '../import/encoding-detection.ts';
import { importDatabase, makeZip, tempDir, writeShapes, type ImportDb } from './fixtures/import/helpers.ts';

/**
 * Department files whose text encoding the file itself misstates (issue 15 §2, §5): a roads shapefile written by
 * ArcGIS on a Chinese Windows PC (GBK text, language driver 0x57 "ANSI", no .cpg), and a zip made by Windows
 * Explorer there (GBK entry names without the UTF-8 flag). The fixtures are written here with the test helpers;
 * the oracle is the text they were written from.
 */
let db: ImportDb;
let dir: string;
test.before(async () => {
  db = await importDatabase();
  dir = tempDir();
});
test.after.always(async () => {
  await db?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const run = (file: string, layer: string, extra: Record<string, unknown> = {}) => importFile({ pool: db.pool, file, layer, ...extra });
const q = async <T = Record<string, unknown>>(sql: string, values: unknown[] = []) => (await db.pool.query(sql, values)).rows as T[];

// Road names as Huai'an's road register writes them (吴家窑大街 is the one the issue saw garbled).
const stems = ['吴家窑', '淮海', '翔宇', '健康', '北京', '深圳', '承德', '交通', '解放', '人民', '枚乘', '漕运', '清河', '大治', '水渡口', '富准', '和平', '延安', '环城', '西安'];
const kinds = ['大街', '路', '南路', '北路', '东路', '西路', '大道', '巷'];
const roads = stems.flatMap((s) => kinds.map((k) => `${s}${k}`));
const grades = ['主干道', '次干道', '支路'];
const line = (i: number) => [[[119.0 + (i % 20) * 0.004, 33.55 + Math.floor(i / 20) * 0.004], [119.003 + (i % 20) * 0.004, 33.552 + Math.floor(i / 20) * 0.004]]];

function gbkRoads(name: string, ldid: number): string {
  return writeShapes(dir, name, {
    type: 3,
    shapes: roads.map((_r, i) => line(i)),
    fields: [
      { name: '道路名称', values: roads },
      { name: '等级', values: roads.map((_r, i) => grades[i % 3]!) },
    ],
    encoding: 'gbk',
    ldid,
  });
}

test.serial('a GBK roads file declaring the "ANSI" code page (LDID 0x57, no .cpg) is read as GBK, with the evidence in the summary', async (t) => {
  const file = gbkRoads('roads_ansi', 0x57);
  // The trap: every byte pair of this GBK text is valid Windows-1252 too.
  t.false(iconv.decode(iconv.encode(roads.join(''), 'gbk'), 'windows-1252').includes('\ufffd'));
  const s = await run(file, 'roads_ansi');
  t.is(s.imported, roads.length);
  t.regex(s.encoding!, /^gbk \(DBF language driver 0x57 \(the writer's "ANSI" code page\) overruled by the content: utf-8 invalid, windows-1252 0%, gbk (9\d|100)%/);
  t.deepEqual(s.columns.map((c) => c.name), ['道路名称', '等级']);
  const rows = await q<{ name: string; grade: string }>(`SELECT "道路名称" AS name, "等级" AS grade FROM imports.roads_ansi ORDER BY fid`);
  t.deepEqual(rows.map((r) => r.name), roads);
  t.deepEqual(rows.map((r) => r.grade), roads.map((_r, i) => grades[i % 3]));
  t.true(rows.some((r) => r.name === '吴家窑大街'));
  t.false(s.warnings.some((w) => /close call/.test(w)), 'a clear choice raises no warning');
});

test.serial('LDID 0x00 with GBK text is detected the same way; --encoding still overrides what the content says', async (t) => {
  const s = await run(gbkRoads('roads_none', 0), 'roads_none');
  t.regex(s.encoding!, /^gbk \(detected, content: /);
  const forced = await run(gbkRoads('roads_forced', 0x57), 'roads_forced', { encoding: 'windows-1252' });
  t.is(forced.encoding, 'windows-1252 (given)');
  const mojibake = (text: string) => iconv.decode(iconv.encode(text, 'gbk'), 'windows-1252');
  const column = forced.columns[0]!.name;
  t.is(column, mojibake('道路名称'), 'the bytes read as the given encoding');
  const [row] = await q<{ name: string }>(`SELECT "${column}" AS name FROM imports.roads_forced WHERE fid = 1`);
  t.is(row!.name, mojibake(roads[0]!));
});

test.serial('a Western file with LDID 0x57 stays Windows-1252: accented letters standing alone in words', async (t) => {
  const names = ['Zürich', 'São Paulo', "Côte d'Ivoire", 'Curaçao', 'Malmö', 'Reykjavík'];
  const file = writeShapes(dir, 'western', { type: 1, shapes: names.map((_n, i) => [[[119 + i * 0.01, 33.6]]]), fields: [{ name: 'NAME', values: names }], encoding: 'windows-1252', ldid: 0x57 });
  const s = await run(file, 'western');
  t.regex(s.encoding!, /^windows-1252 \(DBF language driver 0x57 .* confirmed by the content: .*windows-1252 100%/);
  t.deepEqual((await q<{ name: string }>(`SELECT name FROM imports.western ORDER BY fid`)).map((r) => r.name), names);
});

test.serial('a close call (text of rare characters) is read by the best score and warned about with decoded samples', async (t) => {
  // 亍 and 丌 are GB2312 level-2 characters: plausible Chinese, but weakly so.
  const names = ['丌亍'];
  const file = writeShapes(dir, 'rare', { type: 1, shapes: [[[[119.01, 33.6]]]], fields: [{ name: 'NAME', values: names }], encoding: 'gbk', ldid: 0x57 });
  const s = await run(file, 'rare');
  t.regex(s.encoding!, /^gbk /);
  const warning = s.warnings.find((w) => /close call/.test(w));
  t.truthy(warning);
  t.regex(warning!, /samples: gbk "丌亍"/);
  t.regex(warning!, /--encoding/);
});

test.serial('the detection scores each candidate by the share of non-ASCII bytes it makes plausible', (t) => {
  const gbk = detectTextEncoding([iconv.encode('吴家窑大街', 'gbk'), iconv.encode('淮安市', 'gbk')], 'windows-1252');
  t.is(gbk.encoding, 'gbk');
  t.false(gbk.close);
  t.regex(gbk.evidence, /utf-8 invalid/);
  const utf8 = detectTextEncoding([Buffer.from('清江浦区', 'utf8')], 'windows-1252');
  t.is(utf8.encoding, 'utf-8');
  const big5 = detectTextEncoding([iconv.encode('臺北市', 'big5'), iconv.encode('國語', 'big5')]);
  t.is(big5.encoding, 'big5');
  const ascii = detectTextEncoding([Buffer.from('Main Street')], 'windows-1252');
  t.deepEqual([ascii.encoding, ascii.ascii], ['windows-1252', true]);
});

test.serial('a zip from a Chinese Windows PC (GBK entry names, no UTF-8 flag): names decoded, --sublayer 河西站点 selects its dataset', async (t) => {
  const stations = (name: string, lon: number) =>
    writeShapes(dir, name, { type: 1, shapes: [[[[lon, 33.6]]], [[[lon + 0.01, 33.61]]]], fields: [{ name: '站名', values: [`${name}1`, `${name}2`] }], encoding: 'gbk', ldid: 0x4d });
  const entries = ['河西站点', '清河站点'].flatMap((n) => {
    stations(n, n === '河西站点' ? 119.0 : 119.1);
    return ['shp', 'shx', 'dbf'].map((e) => ({ name: `${n}.${e}`, rawName: iconv.encode(`站点数据\\${n}.${e}`, 'gbk'), data: fs.readFileSync(path.join(dir, `${n}.${e}`)) }));
  });
  const zip = path.join(dir, '站点.zip');
  fs.writeFileSync(zip, makeZip(entries));
  const listed = await t.throwsAsync(run(zip, 'stations_any'));
  t.regex(listed!.message, /2 datasets: 站点数据\/河西站点\.shp, 站点数据\/清河站点\.shp; choose one with --sublayer/);
  const s = await run(zip, 'stations_hexi', { sublayer: '河西站点' });
  t.is(s.imported, 2);
  t.deepEqual((await q<{ name: string }>(`SELECT "站名" AS name FROM imports.stations_hexi ORDER BY fid`)).map((r) => r.name), ['河西站点1', '河西站点2']);
});
