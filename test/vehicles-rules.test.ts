import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { AlarmEngine, type LiveFix } from '../tile-server/src/vehicles/alarms/engine.ts';
import type { Fence } from '../tile-server/src/vehicles/alarms/fence-store.ts';
import type { VehicleInfo } from '../tile-server/src/vehicles/fleet.ts';
import { startTestPlatform, type TestPlatform } from './helpers/platform.ts';

/**
 * Alarm rules that are data (issue 12 §4): 疲劳驾驶 from continuous driving time and 违规停车 (a stop outside every
 * allowed place), with their thresholds per department and vehicle type in vehicles.alarm_rules.
 */
const truck: VehicleInfo = { id: '苏H71001', plate: '苏H71001', plateColor: 2, type: 'muck_truck', department: 'jtj', company: null, phone: '13971000001' };
const taxi: VehicleInfo = { ...truck, id: '苏H71002', plate: '苏H71002', type: 'taxi' };
// Tuesday 2026-12-01 08:00 in Huai'an (00:00 UTC).
const day = Date.UTC(2026, 11, 1, 0, 0, 0);
const engine = () => new AlarmEngine({ overspeedMinS: 30, offlineAfterS: 600 });

/** A drive of `minutes` from `start` (a fix a minute, 40 km/h), then optionally a halt (0 km/h). */
function drive(start: number, minutes: number, speedKmh = 40): LiveFix[] {
  return Array.from({ length: minutes }, (_, i) => ({ time: start + i * 60_000, lon: 119.0 + i * 0.001, lat: 33.6, speedKmh, alarm: 0 }));
}
const run = (e: AlarmEngine, fixes: LiveFix[], v = truck) => fixes.flatMap((f) => e.evaluate(v, f)).filter((a) => a.type !== 'overspeed');

test('疲劳驾驶 by day: more than 4 h of continuous driving raises one alarm, dated when the limit was passed', (t) => {
  const alarms = run(engine(), drive(day, 5 * 60));
  t.is(alarms.length, 1);
  t.like(alarms[0], { type: 'fatigue_driving', at: day + 4 * 3600_000, detail: { limitS: 4 * 3600, night: false } });
});

test('a rest of 20 minutes ends the driving period; a shorter halt or a short gap does not', (t) => {
  const rested = [...drive(day, 180), ...drive(day + 180 * 60_000, 25, 0), ...drive(day + 205 * 60_000, 180)];
  t.deepEqual(run(engine(), rested), []);
  const shortHalt = [...drive(day, 180), ...drive(day + 180 * 60_000, 10, 0), ...drive(day + 190 * 60_000, 90)];
  t.deepEqual(run(engine(), shortHalt).map((a) => a.type), ['fatigue_driving']);
  // The terminal silent for half an hour (switched off while parked) counts as a rest.
  const silent = [...drive(day, 180), ...drive(day + 210 * 60_000, 180)];
  t.deepEqual(run(engine(), silent), []);
  const blip = [...drive(day, 180), ...drive(day + 190 * 60_000, 90)];
  t.deepEqual(run(engine(), blip).map((a) => a.type), ['fatigue_driving']);
});

test('driving that begins at night has the night limit of 2 h', (t) => {
  const night = Date.UTC(2026, 11, 1, 15, 0, 0); // 23:00 in Huai'an
  const alarms = run(engine(), drive(night, 150));
  t.deepEqual(alarms.map((a) => [a.type, a.at, a.detail?.night]), [['fatigue_driving', night + 2 * 3600_000, true]]);
});

test('the rules are data: off for taxis by default, switched on with another limit for the department', (t) => {
  t.deepEqual(run(engine(), drive(day, 300), taxi), []);
  const e = engine();
  e.rules.set([{ department: 'jtj', vehicleType: 'taxi', rule: 'fatigue_driving', params: { enabled: true, dayMaxS: 3600 } }]);
  t.deepEqual(run(e, drive(day, 90), taxi).map((a) => [a.type, a.at]), [['fatigue_driving', day + 3600_000]]);
  // Another department keeps the defaults.
  t.deepEqual(run(e, drive(day, 90), { ...taxi, id: 'x', department: 'cgj' }), []);
});

const site: Fence = {
  id: 7,
  department: 'jtj',
  name: '清江浦工地',
  kind: 'expected_stop',
  shape: { kind: 'circle', center: [119.05, 33.6], radiusM: 150 },
  speedLimitKmh: null,
  vehicleTypes: ['muck_truck'],
  schedule: null,
  dwellS: 30,
};
/** Standing at a place for `minutes` with ±5 m of GPS jitter. */
const stand = (start: number, lon: number, minutes: number): LiveFix[] =>
  Array.from({ length: minutes * 2 }, (_, i) => ({ time: start + i * 30_000, lon: lon + (i % 2 ? 0.00005 : -0.00005), lat: 33.6, speedKmh: 0, alarm: 0 }));

test('违规停车: a stop of 10 minutes outside every allowed place raises one alarm; inside a 工地 none', (t) => {
  const e = engine();
  e.setFences([site]);
  t.deepEqual(run(e, stand(day, 119.05, 15)), [], 'loading at the site');
  const outside = run(e, [...drive(day + 20 * 60_000, 5), ...stand(day + 25 * 60_000, 119.08, 15)]);
  t.deepEqual(outside.map((a) => [a.type, a.at]), [['stop_outside_area', day + 25 * 60_000]]);
  t.like(outside[0]!.detail, { minStopS: 600 });
  // Nine minutes is not yet a stop.
  const e2 = engine();
  e2.setFences([site]);
  t.deepEqual(run(e2, stand(day, 119.08, 9)), []);
});

test('违规停车 applies only where the department drew its allowed places, and only to the types enabled', (t) => {
  t.deepEqual(run(engine(), stand(day, 119.08, 15)), [], 'no expected stops drawn: no rule to break');
  const e = engine();
  e.setFences([site]);
  t.deepEqual(run(e, stand(day, 119.08, 15), taxi), [], 'not enabled for taxis');
});

// ---- the rules through the API ----

let tp: TestPlatform;
let dataDir: string;
const keys: Record<string, string> = {};

test.before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-rules-'));
  tp = await startTestPlatform({ DATA_DIR: dataDir });
  keys.watch = (await tp.platform.keys.create('jtj', 'desk', ['vehicle:watch'])).key;
  keys.manage = (await tp.platform.keys.create('jtj', 'admin', ['vehicle:watch', 'vehicle:manage'])).key;
  keys.cgj = (await tp.platform.keys.create('cgj', 'desk', ['vehicle:watch'])).key;
});
test.after.always(async () => {
  await tp?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test.serial('a vehicle admin changes a rule for the department (audited); the engine uses it at once; bad changes are 4xx', async (t) => {
  const before = await tp.http.get('/api/vehicles/rules').set('Authorization', `Bearer ${keys.watch}`);
  t.is(before.status, 200);
  t.like(before.body.rules.muck_truck, { fatigue_driving: { enabled: true, dayMaxS: 14_400, nightMaxS: 7200, restMinS: 1200 }, stop_outside_area: { enabled: true, minStopS: 600 } });
  t.like(before.body.rules.taxi, { fatigue_driving: { enabled: false } });

  const put = (rule: string, body: unknown, key = keys.manage) => tp.http.put(`/api/vehicles/rules/${rule}`).set('Authorization', `Bearer ${key}`).send(body as object);
  const changed = await put('fatigue_driving', { vehicleType: 'muck_truck', params: { dayMaxS: 3 * 3600 } });
  t.is(changed.status, 200);
  t.like(changed.body.rules.muck_truck.fatigue_driving, { enabled: true, dayMaxS: 10_800, nightMaxS: 7200 });
  t.like(changed.body.rules.bus.fatigue_driving, { dayMaxS: 14_400 }, 'other types keep theirs');
  // A second change merges with the first.
  t.is((await put('fatigue_driving', { vehicleType: 'muck_truck', params: { nightMaxS: 5400 } })).status, 200);
  t.like(tp.platform.vehicles.alarms.rules.for('jtj', 'muck_truck').fatigue_driving, { dayMaxS: 10_800, nightMaxS: 5400 });
  t.like(tp.platform.vehicles.alarms.rules.for('cgj', 'muck_truck').fatigue_driving, { dayMaxS: 14_400 }, 'another department is untouched');
  const audited = (await tp.sql.query(`SELECT action, target, details FROM citybase.audit_log WHERE action = 'vehicle.rule' ORDER BY id`)).rows;
  t.is(audited.length, 2);
  t.like(audited[0], { target: 'rule:fatigue_driving', details: { department: 'jtj', vehicleType: 'muck_truck', params: { dayMaxS: 10_800 } } });

  const bad = await put('fatigue_driving', { params: { dayMaxS: 5 } });
  t.is(bad.status, 400);
  t.is(bad.body.error, 'invalid_rule');
  t.regex(bad.body.message, /dayMaxS/);
  t.is((await put('fatigue_driving', { params: { sleep: true } })).status, 400);
  t.is((await put('stop_outside_area', { vehicleType: 'tank', params: {} })).status, 400);
  t.is((await put('teleporting', { params: {} })).status, 404);
  t.is((await put('fatigue_driving', { params: { dayMaxS: 7200 } }, keys.watch)).status, 403);
  t.is((await tp.http.get('/api/vehicles/rules')).status, 401);
  t.like((await tp.http.get('/api/vehicles/rules').set('Authorization', `Bearer ${keys.cgj}`)).body.rules.muck_truck.fatigue_driving, { dayMaxS: 14_400 });
});
