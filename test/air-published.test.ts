import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { parse } from 'csv-parse/sync';
import { importReadings } from '../tile-server/src/analyses/air/readings-import.ts';
import { realtimeAqi } from '../tile-server/src/analyses/aqi/aqi.ts';
import { importDatabase, type ImportDb } from './fixtures/import/helpers.ts';
import { root } from './helpers/platform.ts';

/**
 * The stations' hourly AQI as the monitoring centre publishes it (issue 15 §7). The oracle is CNEMC's published
 * `aqi` column of real station-hours (test/fixtures/air, HJ 633—2026 in force), not the code: the file is imported
 * as it was published (NA and / for missing values, the published aqi ignored) and the stored AQI must equal it.
 */
let db: ImportDb;
const file = path.join(root, 'test', 'fixtures', 'air', 'cnemc_2026-03-10T15.csv');
const csv = fs.readFileSync(file, 'utf8');
const published = (parse(csv, { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>).filter((r) => /^\d+$/.test(r.aqi!));

test.before(async () => {
  db = await importDatabase();
});
test.after.always(async () => {
  await db?.close();
});

test.serial('every published station-hour of the fixture is reproduced by the readings import', async (t) => {
  t.true(published.length >= 50);
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await importReadings(client, csv);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  const { rows } = await db.pool.query<{ code: string; aqi: number }>(
    `SELECT s.code, r.aqi FROM environment.air_readings r JOIN environment.air_stations s ON s.id = r.station_id`,
  );
  const stored = new Map(rows.map((r) => [r.code, r.aqi]));
  const wrong = published.filter((r) => stored.get(r.stationcode!) !== Number(r.aqi)).map((r) => `${r.stationcode} ${r.positionname}: published ${r.aqi}, stored ${stored.get(r.stationcode!)}`);
  t.deepEqual(wrong, []);
});

test('the station-hours where the 8-hour O3 sub-index would dominate are the ones it must stay out of', (t) => {
  // 阿勒泰 市站: O3 8-h 118 µg/m³ (sub-index 65) while every 1-hour sub-index is at most 30, the published AQI.
  const altay = published.find((r) => r.stationcode === '2708A')!;
  t.is(altay.aqi, '30');
  const n = (v: string) => (v === 'NA' || v === '/' ? null : Number(v));
  const reading = { so2: n(altay.so2!), no2: n(altay.no2!), co: n(altay.co!), o3: n(altay.o3!), o3_8h: n(altay.o3_8h!), pm10: n(altay.pm10!), pm2_5: n(altay.pm2_5!) };
  t.is(realtimeAqi(reading, 'HJ633-2026')!.aqi, 30);
});
