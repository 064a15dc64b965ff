// AQI per HJ 633-2012 and HJ 633-2026: every breakpoint row of both tables, the worked values, the table notes,
// levels and colours. The oracle tables below are transcribed from the team reference domain-standards.md §4.1–4.2
// independently of tile-server/src/analyses/aqi/hj633.json, so a typo in the data file fails here.
import test from 'ava';
import {
  AqiInputError,
  computeAqi,
  iaqiOf,
  levelOf,
  realtimeAqi,
  standardInForce,
  type AqiParameter,
  type StandardId,
} from '../tile-server/src/analyses/aqi/aqi.ts';

const IAQI = [0, 50, 100, 150, 200, 300, 400, 500];
const HJ633_2012: Record<AqiParameter, Array<number | null>> = {
  so2_24h: [0, 50, 150, 475, 800, 1600, 2100, 2620],
  so2_1h: [0, 150, 500, 650, 800, null, null, null],
  no2_24h: [0, 40, 80, 180, 280, 565, 750, 940],
  no2_1h: [0, 100, 200, 700, 1200, 2340, 3090, 3840],
  pm10_24h: [0, 50, 150, 250, 350, 420, 500, 600],
  co_24h: [0, 2, 4, 14, 24, 36, 48, 60],
  co_1h: [0, 5, 10, 35, 60, 90, 120, 150],
  o3_1h: [0, 160, 200, 300, 400, 800, 1000, 1200],
  o3_8h: [0, 100, 160, 215, 265, 800, null, null],
  pm2_5_24h: [0, 35, 75, 115, 150, 250, 350, 500],
};
// HJ 633-2026 changes the PM2.5 and PM10 24-hour rows at IAQI 100 only.
const HJ633_2026: Record<AqiParameter, Array<number | null>> = {
  ...HJ633_2012,
  pm2_5_24h: [0, 35, 60, 115, 150, 250, 350, 500],
  pm10_24h: [0, 50, 120, 250, 350, 420, 500, 600],
};
const TABLES: Record<StandardId, Record<AqiParameter, Array<number | null>>> = { 'HJ633-2012': HJ633_2012, 'HJ633-2026': HJ633_2026 };

const sub = (p: AqiParameter, v: number, s: StandardId) => computeAqi({ [p]: v }, s).iaqi[p];

const row = test.macro({
  exec(t, standard: StandardId, parameter: AqiParameter) {
    const bp = TABLES[standard][parameter];
    for (let i = 0; i < bp.length; i++) {
      const c = bp[i];
      if (c === null || c === undefined) continue;
      t.is(sub(parameter, c, standard), IAQI[i], `${parameter} = ${c} is on breakpoint ${i}`);
      const next = bp[i + 1];
      if (next === null || next === undefined) continue;
      t.is(sub(parameter, (c + next) / 2, standard), (IAQI[i]! + IAQI[i + 1]!) / 2, `${parameter} halfway between ${c} and ${next}`);
      t.is(sub(parameter, c + 0.001, standard), IAQI[i]! + 1, `${parameter} just above ${c} rounds up`);
      t.is(sub(parameter, next - 0.001, standard), IAQI[i + 1], `${parameter} just below ${next} rounds up to the breakpoint's IAQI`);
    }
  },
  title: (_, standard, parameter) => `${standard} ${parameter}: every breakpoint and the values between them`,
});
for (const standard of Object.keys(TABLES) as StandardId[])
  for (const parameter of Object.keys(HJ633_2012) as AqiParameter[]) test(row, standard, parameter);

// domain-standards.md §4.2, "Worked oracle values (computed from the tables above with ceil rounding)".
const worked: Array<[AqiParameter, number, number, number]> = [
  ['pm2_5_24h', 60, 82, 100],
  ['pm2_5_24h', 75, 100, 114],
  ['pm10_24h', 150, 100, 112],
  ['pm2_5_24h', 35.5, 51, 51],
  ['so2_24h', 100, 75, 75],
  ['o3_8h', 180, 119, 119],
  ['co_24h', 3, 75, 75],
  ['no2_1h', 250, 105, 105],
  ['o3_1h', 250, 125, 125],
];
for (const [p, c, in2012, in2026] of worked)
  test(`worked value: ${p} = ${c} is ${in2012} under HJ 633-2012 and ${in2026} under HJ 633-2026`, (t) => {
    t.is(computeAqi({ [p]: c }, 'HJ633-2012').aqi, in2012);
    t.is(computeAqi({ [p]: c }, 'HJ633-2026').aqi, in2026);
  });

test('24-hour SO2 is read on the 24-hour row, not the 1-hour one (the bug of public code)', (t) => {
  t.is(sub('so2_24h', 100, 'HJ633-2012'), 75);
  t.is(sub('so2_1h', 100, 'HJ633-2012'), 34);
  t.is(sub('so2_24h', 500, 'HJ633-2012'), 154); // 1h row would say 100
});

test('SO2 1h above 800 has no sub-index: the SO2 sub-index comes from the 24-hour value (table note 2)', (t) => {
  t.is(sub('so2_1h', 800, 'HJ633-2012'), 200);
  const r = computeAqi({ so2_1h: 900, so2_24h: 100, pm2_5_24h: 10 }, 'HJ633-2012');
  t.deepEqual(r.iaqi, { so2_24h: 75, pm2_5_24h: 15 });
  t.is(r.aqi, 75);
  t.deepEqual(r.primary_pollutants, ['so2_24h']);
  t.true(r.notes.some((n) => n.includes('SO2 1-hour')));
  const err = t.throws(() => computeAqi({ so2_1h: 800.5 }, 'HJ633-2026'), { instanceOf: AqiInputError });
  t.is(err.code, 'so2_1h_above_800');
  t.is(iaqiOf('so2_1h', 801, 'HJ633-2012'), null);
});

test('O3 8h above 800 has no sub-index: the O3 sub-index comes from the 1-hour value (table note 3)', (t) => {
  t.is(sub('o3_8h', 800, 'HJ633-2026'), 300);
  const r = computeAqi({ o3_8h: 850, o3_1h: 900 }, 'HJ633-2026');
  t.deepEqual(r.iaqi, { o3_1h: 350 });
  t.is(r.aqi, 350);
  t.is(r.level, 6);
  const err = t.throws(() => computeAqi({ o3_8h: 801 }, 'HJ633-2012'), { instanceOf: AqiInputError });
  t.is(err.code, 'o3_8h_above_800');
});

test('a concentration above the top breakpoint is reported as 500, with a note', (t) => {
  const r = computeAqi({ pm2_5_24h: 620 }, 'HJ633-2012');
  t.is(r.aqi, 500);
  t.is(r.notes.length, 1);
});

test('levels, categories and colours per HJ 633 附录A, on both sides of each boundary', (t) => {
  const expected: Array<[number, number, string, string]> = [
    [0, 1, '优', '#00E400'],
    [50, 1, '优', '#00E400'],
    [51, 2, '良', '#FFFF00'],
    [100, 2, '良', '#FFFF00'],
    [101, 3, '轻度污染', '#FF7E00'],
    [150, 3, '轻度污染', '#FF7E00'],
    [151, 4, '中度污染', '#FF0000'],
    [200, 4, '中度污染', '#FF0000'],
    [201, 5, '重度污染', '#99004C'],
    [300, 5, '重度污染', '#99004C'],
    [301, 6, '严重污染', '#7E0023'],
    [500, 6, '严重污染', '#7E0023'],
  ];
  for (const [aqi, level, category, color] of expected) t.deepEqual(levelOf(aqi), { level, category, color }, `AQI ${aqi}`);
  // AQI 50.625 is 51 after rounding up: level 2, not 1.
  t.like(computeAqi({ pm2_5_24h: 35.5 }, 'HJ633-2012'), { aqi: 51, level: 2, category: '良' });
});

test('primary pollutants are named only above 50, all of them on a tie; exceeding ones are those above 100', (t) => {
  t.deepEqual(computeAqi({ pm2_5_24h: 35, pm10_24h: 50 }, 'HJ633-2012').primary_pollutants, []);
  const tie = computeAqi({ pm2_5_24h: 75, pm10_24h: 150, no2_24h: 40 }, 'HJ633-2012');
  t.is(tie.aqi, 100);
  t.deepEqual(tie.primary_pollutants, ['pm10_24h', 'pm2_5_24h']);
  t.deepEqual(tie.exceeding, []);
  const high = computeAqi({ pm2_5_24h: 116, o3_8h: 161 }, 'HJ633-2012');
  t.deepEqual(high.primary_pollutants, ['pm2_5_24h']);
  t.deepEqual(high.exceeding, ['o3_8h', 'pm2_5_24h']);
});

test('bad inputs are refused: nothing given, negative or not finite', (t) => {
  t.is(t.throws(() => computeAqi({}, 'HJ633-2012'), { instanceOf: AqiInputError }).code, 'no_pollutants');
  t.is(t.throws(() => computeAqi({ pm10_24h: -1 }, 'HJ633-2012'), { instanceOf: AqiInputError }).code, 'invalid_parameter');
  t.is(t.throws(() => computeAqi({ pm10_24h: Number.NaN }, 'HJ633-2012'), { instanceOf: AqiInputError }).code, 'invalid_parameter');
});

test('the standard in force: HJ 633-2012 from 2016-01-01, HJ 633-2026 from 2026-03-01, none before', (t) => {
  t.is(standardInForce('2015-12-31'), null);
  t.is(standardInForce('2016-01-01'), 'HJ633-2012');
  t.is(standardInForce('2026-02-28'), 'HJ633-2012');
  t.is(standardInForce('2026-03-01'), 'HJ633-2026');
});

test('hourly readings: PM on the 24-hour rows, the SO2 1h fallback from the 24-hour column, no 8-hour O3 (实时报), missing values skipped', (t) => {
  const r = realtimeAqi({ pm2_5: 60, pm10: null, so2: 900, so2_24h: 100, no2: 250, o3: 120, o3_8h: 180, co: 1.2 }, 'HJ633-2026')!;
  // The 8-hour O3 (180 µg/m³, sub-index 119) is published beside the hour but is not part of its AQI.
  t.deepEqual(r.iaqi, { so2_24h: 75, no2_1h: 105, co_1h: 12, o3_1h: 38, pm2_5_24h: 100 });
  t.is(r.aqi, 105);
  t.deepEqual(r.primary_pollutants, ['no2_1h']);
  // No 24-hour SO2 to stand in: SO2 is left out of that hour, the rest still counts.
  t.deepEqual(realtimeAqi({ so2: 900, pm2_5: 60 }, 'HJ633-2012')!.iaqi, { pm2_5_24h: 82 });
  t.is(realtimeAqi({ pm2_5: null, so2: null }, 'HJ633-2012'), null);
});
