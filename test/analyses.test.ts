// The analyses' HTTP contract without sample data: AQI parameters and standard choice, water class per GB 3838
// and noise limits per GB 3096 (oracles transcribed from the team reference domain-standards.md §4.3–4.4),
// every bad input a 400 naming it, and the layers' access rules applied to the analyses that read them.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { standardInForce } from '../tile-server/src/analyses/aqi/aqi.ts';
import { root, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let p: TestPlatform;
let dir: string;
let zrzyKey: string;

// The platform's layers/, except that 人防工程 is internal here: analyses reading it must follow.
test.before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'citybase-analyses-layers-'));
  await cp(path.join(root, 'layers'), dir, { recursive: true });
  const file = path.join(dir, 'civil_defence_shelters.json');
  await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), access: 'internal' }));
  p = await startTestPlatform({}, { layersDir: dir, fixtures: false });
  zrzyKey = (await p.platform.keys.create('zrzy', 'analyses test')).key;
});
test.after.always(async () => {
  await p?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const get = (url: string) => p.http.get(url);

// ---------------------------------------------------------------------------------------------------------------
// AQI
// ---------------------------------------------------------------------------------------------------------------

test('GET /api/env/aqi: the standard by name or by the date it was in force', async (t) => {
  const byName = await get('/api/env/aqi?standard=HJ633-2026&pm2_5_24h=75');
  t.is(byName.status, 200);
  t.deepEqual(byName.body, {
    aqi: 114,
    level: 3,
    category: '轻度污染',
    color: '#FF7E00',
    primary_pollutants: ['pm2_5_24h'],
    primary_pollutants_named: [{ parameter: 'pm2_5_24h', name: 'PM₂.₅', label: '颗粒物(PM2.5) 24小时平均', unit: 'µg/m³' }],
    exceeding: ['pm2_5_24h'],
    iaqi: { pm2_5_24h: 114 },
    standard: 'HJ633-2026',
    notes: [],
  });
  t.like((await get('/api/env/aqi?date=2026-02-28&pm2_5_24h=75')).body, { aqi: 100, standard: 'HJ633-2012' });
  t.like((await get('/api/env/aqi?date=2026-03-01&pm2_5_24h=75')).body, { aqi: 114, standard: 'HJ633-2026' });
  t.like((await get('/api/env/aqi?date=2026-03-01&standard=HJ633-2026&pm10_24h=150')).body, { aqi: 112 });
  const today = standardInForce(new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10));
  t.is((await get('/api/env/aqi?pm10_24h=20')).body.standard, today);
  const low = await get('/api/env/aqi?standard=HJ633-2012&pm10_24h=20&so2_24h=10&co_24h=0.4');
  t.like(low.body, { aqi: 20, level: 1, category: '优', color: '#00E400', primary_pollutants: [], primary_pollutants_named: [] });
  const ozone = await get('/api/env/aqi?standard=HJ633-2012&o3_8h=300&no2_24h=100');
  t.deepEqual(ozone.body.primary_pollutants_named.map((p: { name: string }) => p.name), ['O₃'], 'names as the bureau writes them');
  const fallback = await get('/api/env/aqi?standard=HJ633-2012&so2_1h=900&so2_24h=100');
  t.deepEqual(fallback.body.iaqi, { so2_24h: 75 });
  t.is(fallback.body.notes.length, 1);
});

const refused = test.macro({
  async exec(t, query: string, code: string, mentions: RegExp) {
    const res = await get(`/api/env/aqi${query}`);
    t.is(res.status, 400);
    t.is(res.body.error, code);
    t.regex(res.body.message, mentions);
  },
  title: (_, query, code) => `GET /api/env/aqi${query} is 400 ${code}`,
});
test(refused, '?pm2_5_24h=-1', 'invalid_parameter', /pm2_5_24h/);
test(refused, '?pm2_5_24h=abc', 'invalid_parameter', /pm2_5_24h: "abc"/);
test(refused, '?pm2_5_24h=1e3', 'invalid_parameter', /pm2_5_24h/);
test(refused, '?pm2_5_24h=Infinity', 'invalid_parameter', /pm2_5_24h/);
test(refused, '?pm25_24h=10', 'unknown_parameter', /pm25_24h/);
test(refused, '?pm2_5_24h=10&pm2_5_24h=20', 'invalid_parameter', /pm2_5_24h: give it once/);
test(refused, '?standard=HJ633-2019&pm10_24h=1', 'invalid_parameter', /standard/);
test(refused, '?date=2026-02-30&pm10_24h=1', 'invalid_parameter', /date/);
test(refused, '?date=20260301&pm10_24h=1', 'invalid_parameter', /date/);
test(refused, '?date=2015-12-31&pm10_24h=1', 'no_standard', /2015-12-31/);
test(refused, '?date=2026-02-01&standard=HJ633-2026&pm10_24h=1', 'conflicting_parameters', /HJ633-2012/);
test(refused, '', 'no_pollutants', /pm2_5_24h/);
test(refused, '?pm2_5_24h=', 'no_pollutants', /pm2_5_24h/);
test(refused, '?so2_1h=900', 'so2_1h_above_800', /so2_24h/);
test(refused, '?o3_8h=801', 'o3_8h_above_800', /o3_1h/);

// ---------------------------------------------------------------------------------------------------------------
// Water class, GB 3838-2002 表1
// ---------------------------------------------------------------------------------------------------------------

type Row = { factor: string; type: 'river' | 'lake'; limits: number[]; lower?: boolean };
const GB3838: Row[] = [
  { factor: 'do', type: 'river', limits: [7.5, 6, 5, 3, 2], lower: true },
  { factor: 'codmn', type: 'river', limits: [2, 4, 6, 10, 15] },
  { factor: 'cod', type: 'lake', limits: [15, 15, 20, 30, 40] },
  { factor: 'bod5', type: 'river', limits: [3, 3, 4, 6, 10] },
  { factor: 'nh3n', type: 'lake', limits: [0.15, 0.5, 1.0, 1.5, 2.0] },
  { factor: 'tp', type: 'river', limits: [0.02, 0.1, 0.2, 0.3, 0.4] },
  { factor: 'tp', type: 'lake', limits: [0.01, 0.025, 0.05, 0.1, 0.2] },
  { factor: 'tn', type: 'lake', limits: [0.2, 0.5, 1.0, 1.5, 2.0] },
];
const LABELS = ['I', 'II', 'III', 'IV', 'V', '劣V'];
/** The oracle: the best class whose limit the value meets (DO: at least the limit), 劣V (6) when none. */
const expectedClass = (row: Row, v: number) => 1 + [...row.limits, Number.NaN].findIndex((l, i) => i === 5 || (row.lower ? v >= l : v <= l));

const classOf = async (type: string, sample: Record<string, number>) => {
  const q = Object.entries(sample).map(([k, v]) => `${k}=${v}`).join('&');
  const res = await get(`/api/env/water/class?type=${type}&${q}`);
  if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { class: number; class_label: string; worst_factors: string[]; not_evaluated: string[]; factors: Record<string, { class: number }> };
};

for (const row of GB3838)
  test(`water class: ${row.factor} (${row.type}) on and just past each class limit`, async (t) => {
    const step = row.lower ? -0.001 : 0.001;
    for (const limit of new Set(row.limits)) {
      for (const v of [limit, Number((limit + step).toFixed(3))]) {
        const want = expectedClass(row, v);
        const got = await classOf(row.type, { [row.factor]: v });
        t.is(got.class, want, `${row.factor} = ${v}`);
        t.is(got.class_label, LABELS[want - 1]!);
      }
    }
  });

test('water class: pH 6–9 for every class; TP differs for rivers and lakes; TN counts for lakes only', async (t) => {
  for (const [ph, cls] of [[6, 1], [9, 1], [5.99, 6], [9.01, 6]] as const) t.is((await classOf('river', { ph })).class, cls, `pH ${ph}`);
  t.is((await classOf('river', { tp: 0.05 })).class_label, 'II');
  t.is((await classOf('lake', { tp: 0.05 })).class_label, 'III');
  const river = await classOf('river', { tn: 3, do: 6.5 });
  t.is(river.class_label, 'II');
  t.deepEqual(river.not_evaluated, ['tn']);
  t.is((await classOf('lake', { tn: 3 })).class_label, '劣V');
});

test('water class: the worst factor decides, and is named', async (t) => {
  const r = await classOf('river', { do: 6.5, nh3n: 1.2, tp: 0.05, codmn: 3.5 });
  t.is(r.class_label, 'IV');
  t.deepEqual(r.worst_factors, ['nh3n']);
  t.deepEqual(Object.fromEntries(Object.entries(r.factors).map(([k, v]) => [k, v.class])), { do: 2, nh3n: 4, tp: 2, codmn: 2 });
  const tie = await classOf('lake', { tp: 0.3, tn: 2.5 });
  t.deepEqual(tie.worst_factors, ['tn', 'tp']);
});

test('water class: bad requests are 400 naming the problem', async (t) => {
  for (const [query, code] of [
    ['do=5', 'missing_parameter'],
    ['type=sea&do=5', 'invalid_parameter'],
    ['type=river', 'missing_parameter'],
    ['type=river&cl=5', 'unknown_parameter'],
    ['type=river&tp=-0.1', 'invalid_parameter'],
    ['type=river&tp=lots', 'invalid_parameter'],
  ] as const) {
    const res = await get(`/api/env/water/class?${query}`);
    t.is(res.status, 400, query);
    t.is(res.body.error, code, query);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Noise, GB 3096-2008
// ---------------------------------------------------------------------------------------------------------------

test('noise limits per function zone: day and night LAeq, and the night maximum at night + 15 dB(A)', async (t) => {
  const res = await get('/api/env/noise/limits');
  t.is(res.status, 200);
  const limits = (res.body.limits as Array<{ zone_class: string; day_db: number; night_db: number; night_max_db: number }>).map(
    ({ zone_class, day_db, night_db, night_max_db }) => [zone_class, day_db, night_db, night_max_db],
  );
  t.deepEqual(limits, [
    ['0', 50, 40, 55],
    ['1', 55, 45, 60],
    ['2', 60, 50, 65],
    ['3', 65, 55, 70],
    ['4a', 70, 55, 70],
    ['4b', 70, 60, 75],
  ]);
  t.is(res.body.day, '06:00–22:00');
  for (const query of ['lon=119', 'lon=200&lat=33', 'lon=119&lat=33&day=loud', 'lon=119&lat=33&evening=50'])
    t.is((await get(`/api/env/noise?${query}`)).status, 400, query);
});

// ---------------------------------------------------------------------------------------------------------------
// Access: an analysis follows the layers it reads
// ---------------------------------------------------------------------------------------------------------------

test('an analysis reading an internal layer is a 404 for anonymous callers, like the layer, and served to departments', async (t) => {
  for (const url of ['/api/civil-defence/coverage', '/api/civil-defence/uncovered-residential']) {
    const anon = await get(url);
    t.is(anon.status, 404, url);
    t.deepEqual(anon.body, { error: 'unknown_layer', message: 'no layer "civil_defence_shelters"' });
    t.is((await get(`${url}?key=${zrzyKey}`)).status, 200, url);
  }
  t.is((await get('/api/urban/locate?lon=119&lat=33.6')).status, 200, 'analyses of public layers stay public');
  t.is((await get('/api/env/water/sections')).status, 200);
});

test('coverage and the point lookup answer on an empty platform, and refuse bad input', async (t) => {
  const cov = await get(`/api/civil-defence/coverage?distance=300&key=${zrzyKey}`);
  t.is(cov.body.service_distance_m, 300);
  t.deepEqual(cov.body.districts, []);
  const loc = await get('/api/urban/locate?lon=119&lat=33.6');
  t.true(Object.values(loc.body).every((v) => v === null));
  for (const url of ['/api/urban/locate?lon=119', '/api/urban/locate?lon=x&lat=1', `/api/civil-defence/coverage?distance=0&key=${zrzyKey}`,
    `/api/civil-defence/uncovered-residential?district=3208&key=${zrzyKey}`])
    t.is((await get(url)).status, 400, url);
});
