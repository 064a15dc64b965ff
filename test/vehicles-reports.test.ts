import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createLogger } from '../tile-server/src/log.ts';
import { raise } from '../tile-server/src/vehicles/alarms/lifecycle.ts';
import { DayKeeper } from '../tile-server/src/vehicles/reports/keep-days.ts';
import { addVehicle } from '../tile-server/src/vehicles/fleet.ts';
import { haversineM } from '../tile-server/src/vehicles/playback/track.ts';
import { startTestPlatform, type TestPlatform } from './helpers/platform.ts';

/**
 * The daily report and the 考核 figures (issue 12 §5) against known tracks: mileage per vehicle and city day,
 * fixes stored and refused, alarms by type; 入网率, 上线率, 数据合格率, overspeed per online vehicle.
 */
let tp: TestPlatform;
let dataDir: string;
const keys: Record<string, string> = {};

// Two city days (Huai'an, UTC+8) two and one days ago.
const cityDate = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);
const d1 = cityDate(Date.now() - 2 * 86_400_000);
const d2 = cityDate(Date.now() - 86_400_000);
const at = (date: string, hour: number) => Date.parse(`${date}T${String(hour).padStart(2, '0')}:00:00+08:00`);
// Day 1: 11 fixes driving north 0.001° a minute; day 2: parked where day 1 ended, then 5 more fixes north.
const day1 = Array.from({ length: 11 }, (_, i) => ({ t: at(d1, 10) + i * 60_000, lon: 119.0, lat: 33.5 + i * 0.001, speed: 40 + i }));
const day2 = Array.from({ length: 6 }, (_, i) => ({ t: at(d2, 9) + i * 60_000, lon: 119.0, lat: 33.51 + i * 0.001, speed: 30 }));
const legs = (fixes: Array<{ lon: number; lat: number }>) => fixes.slice(1).reduce((d, f, i) => d + haversineM(fixes[i]!, f), 0);

test.before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-reports-'));
  tp = await startTestPlatform({ DATA_DIR: dataDir });
  const pool = tp.platform.pool;
  await addVehicle(pool, { plate: '苏H72001', color: 2, phone: '13972000001', type: 'muck_truck', department: 'jtj', district: '320812', group: '一车队', company: '淮安渣土运输' });
  await addVehicle(pool, { plate: '苏H72002', color: 2, phone: '13972000002', type: 'muck_truck', department: 'jtj', district: '320812' });
  await addVehicle(pool, { plate: '苏H72003', color: 2, phone: '13972000003', type: 'bus', department: 'jtj', district: '320812' });
  await addVehicle(pool, { plate: '苏H72004', color: 2, phone: '13972000004', type: 'bus', department: 'jtj', district: '320803' });
  await addVehicle(pool, { plate: '苏H72999', color: 2, phone: '13972999999', type: 'taxi', department: 'cgj' });
  // 入网: terminals that registered (the first two jtj vehicles and the cgj one).
  await tp.sql.query(`UPDATE vehicles.terminals SET registered_at = now() WHERE vehicle_id IN ('苏H72001', '苏H72002', '苏H72999')`);
  await tp.platform.vehicles.refreshFleet();
  const writer = tp.platform.vehicles.writer;
  for (const f of [...day1, ...day2])
    writer.add({ vehicleId: '苏H72001', time: f.t, lon: f.lon, lat: f.lat, speedKmh: f.speed, course: 0, altitudeM: null, source: 'test', alarm: 0, status: 0, mileageKm: null, satellites: 8, extras: null, receivedAt: f.t, backfill: false });
  writer.add({ vehicleId: '苏H72999', time: at(d1, 11), lon: 119.1, lat: 33.6, speedKmh: 20, course: 0, altitudeM: null, source: 'test', alarm: 0, status: 0, mileageKm: null, satellites: 8, extras: null, receivedAt: at(d1, 11), backfill: false });
  for (const k of [1, 2]) writer.reject({ vehicleId: '苏H72001', time: at(d1, 10) + k, receivedAt: at(d1, 10) + k * 1000, lon: 0, lat: 0, reason: 'zero' });
  await writer.flush();
  await raise(pool, { vehicleId: '苏H72001', department: 'jtj', type: 'overspeed', fenceId: null, at: at(d1, 10) + 300_000, lon: 119, lat: 33.505, detail: null });
  await raise(pool, { vehicleId: '苏H72001', department: 'jtj', type: 'fatigue_driving', fenceId: null, at: at(d2, 9) + 60_000, lon: 119, lat: 33.511, detail: null });
  keys.jtj = (await tp.platform.keys.create('jtj', 'desk', ['vehicle:watch'])).key;
  keys.qinghe = (await tp.platform.keys.create('jtj', 'qinghe', ['vehicle:watch'], { scopes: ['320812'] })).key;
  keys.noRight = (await tp.platform.keys.create('jtj', 'gis', ['layer:read'])).key;
});

test.after.always(async () => {
  await tp?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const report = (q: string, key = keys.jtj) => tp.http.get(`/api/vehicles/reports/daily?${q}`).set('Authorization', `Bearer ${key}`);

test('mileage, fixes, refused fixes, top speed and alarms per vehicle and city day', async (t) => {
  const res = await report(`from=${d1}&to=${d2}`);
  t.is(res.status, 200);
  t.deepEqual(res.body.days, [d1, d2]);
  t.deepEqual(res.body.vehicles.map((v: { id: string }) => v.id), ['苏H72001', '苏H72002', '苏H72003', '苏H72004'], 'the department’s vehicles only');
  const [a1, a2] = res.body.vehicles[0].days;
  t.like(a1, { date: d1, fixes: 11, rejected: 2, maxSpeedKmh: 50, alarms: { overspeed: 1 } });
  t.true(Math.abs(a1.mileageKm - legs(day1) / 1000) < 0.001, `${a1.mileageKm} km`);
  // Day 2 starts where day 1 ended: its first leg (overnight, no move) adds nothing.
  t.like(a2, { date: d2, fixes: 6, rejected: 0, maxSpeedKmh: 30, alarms: { fatigue_driving: 1 } });
  t.true(Math.abs(a2.mileageKm - legs(day2) / 1000) < 0.001);
  t.deepEqual(res.body.vehicles[1].days, [
    { date: d1, fixes: 0, rejected: 0, mileageKm: 0, maxSpeedKmh: 0, alarms: {} },
    { date: d2, fixes: 0, rejected: 0, mileageKm: 0, maxSpeedKmh: 0, alarms: {} },
  ]);
});

test('the 考核 figures: 入网率, 上线率, 数据合格率, overspeed per online vehicle, fatigue alarms', async (t) => {
  const { summary } = (await report(`from=${d1}&to=${d2}`)).body;
  t.like(summary, {
    trackCompletenessRate: 1,
    driftVehicleRate: 0,
    vehicles: 4,
    connected: 2,
    online: 1,
    fixes: 17,
    rejected: 2,
    connectionRate: 0.5,
    onlineRate: 0.5,
    dataQualifiedRate: Math.round((17 / 19) * 10_000) / 10_000,
    overspeedPerOnlineVehicle: 1,
    fatigueAlarms: 1,
    alarms: { overspeed: 1, fatigue_driving: 1 },
  });
  // One day only.
  const one = (await report(`from=${d2}&to=${d2}`)).body;
  t.like(one.summary, { fixes: 6, rejected: 0, dataQualifiedRate: 1, alarms: { fatigue_driving: 1 } });
  // A district-limited operator: its district's vehicles.
  const scoped = (await report(`from=${d1}&to=${d2}`, keys.qinghe)).body;
  t.deepEqual(scoped.vehicles.map((v: { id: string }) => v.id), ['苏H72001', '苏H72002', '苏H72003']);
  t.like(scoped.summary, { vehicles: 3, connectionRate: 0.6667 });
});

test('as CSV: one row per vehicle and day, Chinese and English headers, for Excel', async (t) => {
  const res = await report(`from=${d1}&to=${d2}&format=csv`);
  t.is(res.status, 200);
  t.regex(res.headers['content-type']!, /^text\/csv; charset=utf-8/);
  t.regex(res.headers['content-disposition']!, new RegExp(`vehicles-${d1}-${d2}\\.csv`));
  const lines = res.text.replace(/^\uFEFF/, '').trim().split('\r\n');
  t.is(lines.length, 1 + 4 * 2);
  t.true(lines[0]!.startsWith('日期 date,车牌 plate,类型 type,分组 group,企业 company,定位点 fixes,不合格 rejected,里程km mileage_km'));
  const row = lines[1]!.split(',');
  t.deepEqual(row.slice(0, 7), [d1, '苏H72001', 'muck_truck', '一车队', '淮安渣土运输', '11', '2']);
  t.is(row[9], '1', 'one alarm that day');
  t.is(row[10], '1', 'an overspeed');
});

test('bad ranges are 400s naming the problem; the right is needed', async (t) => {
  for (const [q, error] of [
    [`to=${d2}`, 'invalid_range'],
    [`from=${d1}&to=2026-02-30`, 'invalid_range'],
    [`from=${d1}&to=yesterday`, 'invalid_range'],
    [`from=${d2}&to=${d1}`, 'invalid_range'],
    ['from=2026-01-01&to=2026-02-01', 'range_too_long'],
    [`from=${d1}&to=${d2}&format=xml`, 'invalid_parameter'],
  ] as const) {
    const res = await report(q);
    t.is(res.status, 400, q);
    t.is(res.body.error, error, q);
  }
  t.is((await tp.http.get(`/api/vehicles/reports/daily?from=${d1}&to=${d2}`)).status, 401);
  t.is((await report(`from=${d1}&to=${d2}`, keys.noRight)).status, 403);
});

test('days that are over are kept, and forgotten when a fix of theirs (or of the day before) arrives late', async (t) => {
  const pool = tp.platform.pool;
  // Another department's vehicle, so that the other tests' totals (jtj) do not see it.
  await addVehicle(pool, { plate: '苏H72005', color: 2, phone: '13972000005', type: 'muck_truck', department: 'sthj', district: '320812' });
  const key = (await tp.platform.keys.create('sthj', 'reports', ['vehicle:watch'])).key;
  await tp.platform.vehicles.refreshFleet();
  const writer = tp.platform.vehicles.writer;
  const fix = (f: { t: number; lon: number; lat: number; speed: number }, backfill = false) =>
    writer.add({ vehicleId: '苏H72005', time: f.t, lon: f.lon, lat: f.lat, speedKmh: f.speed, course: 0, altitudeM: null, source: 'test', alarm: 0, status: 0, mileageKm: null, satellites: 8, extras: null, receivedAt: Date.now(), backfill });
  for (const f of [...day1, ...day2]) fix(f);
  await writer.flush();
  const days = async () => {
    const res = await report(`from=${d1}&to=${d2}`, key);
    t.is(res.status, 200);
    return (res.body.vehicles as Array<{ id: string; days: Array<{ date: string; fixes: number; mileageKm: number }> }>).find((v) => v.id === '苏H72005')!.days;
  };
  const kept = async () => (await tp.sql.query(`SELECT to_char(day, 'YYYY-MM-DD') AS day, fixes FROM vehicles.day_stats WHERE vehicle_id = '苏H72005' ORDER BY day`)).rows;
  const km = (m: number) => Math.round(m) / 1000;

  const before = await days();
  t.like(before, [{ date: d1, fixes: 11 }, { date: d2, fixes: 6 }]);
  t.deepEqual(await kept(), [{ day: d1, fixes: 11 }, { day: d2, fixes: 6 }], 'both days are over: kept');
  t.deepEqual(await days(), before, 'read back from what was kept, the same figures');

  // A blind-area fix of day 1 comes in late, at 23:00 and 1 km further north: day 1 and day 2 (whose first leg
  // starts at day 1's last fix) are forgotten, and computed again with it.
  const late = { t: at(d1, 23), lon: 119.0, lat: 33.52, speed: 10 };
  fix(late, true);
  await writer.flush();
  t.deepEqual(await kept(), [], 'forgotten');
  const after = await days();
  t.is(after[0]!.fixes, 12);
  t.true(Math.abs(after[0]!.mileageKm - km(legs([...day1, late]))) < 0.002, `day 1: ${after[0]!.mileageKm} km`);
  t.true(Math.abs(after[1]!.mileageKm - km(legs([late, ...day2]))) < 0.002, `day 2 starts from the late fix: ${after[1]!.mileageKm} km`);
  t.deepEqual(await kept(), [{ day: d1, fixes: 12 }, { day: d2, fixes: 6 }]);

  // The nightly pass keeps yesterday for every vehicle, days without fixes as zeros.
  await tp.sql.query(`DELETE FROM vehicles.day_stats WHERE day = $1`, [d2]);
  await new DayKeeper(pool, createLogger('silent')).keepYesterday();
  const { rows } = await tp.sql.query(`SELECT vehicle_id, fixes FROM vehicles.day_stats WHERE day = $1 AND vehicle_id IN ('苏H72005', '苏H72004')`, [d2]);
  t.deepEqual(Object.fromEntries(rows.map((r) => [r.vehicle_id, r.fixes])), { 苏H72005: 6, 苏H72004: 0 });

  // 轨迹完整率 and 卫星定位漂移车辆率: a fix 7 km on from day 2's last one breaks the track (more than 5 km between
  // fixes: counted in the mileage, not in the complete mileage), and a fix refused as a jump makes the vehicle drift.
  const far = { t: at(d2, 22), lon: 119.0, lat: 33.515 + 0.063, speed: 50 };
  fix(far, true);
  writer.reject({ vehicleId: '苏H72005', time: at(d2, 21), receivedAt: at(d2, 21) + 1000, lon: 119.5, lat: 34, reason: 'jump: 900 km/h implied from the previous fix (limit 160)' });
  await writer.flush();
  const { summary } = (await report(`from=${d1}&to=${d2}`, key)).body;
  const total = legs([...day1, late]) + legs([late, ...day2, far]);
  const broken = haversineM(day2.at(-1)!, far);
  t.true(broken > 5000);
  t.true(Math.abs(summary.trackCompletenessRate - (total - broken) / total) < 0.001, `轨迹完整率 ${summary.trackCompletenessRate}`);
  t.is(summary.driftVehicleRate, 1, 'the one online vehicle drifted');
});
