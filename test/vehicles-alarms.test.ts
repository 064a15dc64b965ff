import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createLogger } from '../tile-server/src/log.ts';
import { AlarmEngine, type LiveFix } from '../tile-server/src/vehicles/alarms/engine.ts';
import type { Fence } from '../tile-server/src/vehicles/alarms/fence-store.ts';
import { scheduleActive } from '../tile-server/src/vehicles/alarms/geometry.ts';
import { addVehicle, type VehicleInfo } from '../tile-server/src/vehicles/fleet.ts';
import { startGateway, type Gateway } from '../tile-server/src/vehicles/gateway/gateway.ts';
import { SimTerminal } from './helpers/jt808-terminal.ts';
import { startTestPlatform, type TestPlatform } from './helpers/platform.ts';

// A square no-entry zone (the old city), about 1.1 km a side, its east edge at lon 119.02.
const square: Array<[number, number]> = [
  [119.01, 33.6],
  [119.02, 33.6],
  [119.02, 33.61],
  [119.01, 33.61],
  [119.01, 33.6],
];
const truck: VehicleInfo = { id: '苏H70001', plate: '苏H70001', plateColor: 2, type: 'muck_truck', department: 'jtj', company: null, phone: '13970000001' };
const fence = (over: Partial<Fence> = {}): Fence => ({
  id: 1,
  department: 'jtj',
  name: '老城区禁行',
  kind: 'no_entry',
  shape: { kind: 'polygon', rings: [square] },
  speedLimitKmh: null,
  vehicleTypes: ['muck_truck'],
  schedule: null,
  dwellS: 30,
  ...over,
});
// Tuesday 2026-12-01 10:00 in Huai'an.
const t0 = Date.UTC(2026, 11, 1, 2, 0, 0);
const at = (s: number, lon: number, lat = 33.605, speedKmh = 20, alarm = 0): LiveFix => ({ time: t0 + s * 1000, lon, lat, speedKmh, alarm });

function run(engine: AlarmEngine, fixes: LiveFix[], v = truck) {
  return fixes.flatMap((f) => engine.evaluate(v, f));
}

test('GPS jitter at a fence edge raises nothing; a real entry raises one alarm, dated when it began', (t) => {
  const engine = new AlarmEngine({ overspeedMinS: 30, offlineAfterS: 600 });
  engine.setFences([fence()]);
  // Parked on the edge: 20 m in, 20 m out, every 5 s for two minutes.
  const jitter = Array.from({ length: 24 }, (_, i) => at(i * 5, i % 2 ? 119.0198 : 119.0202, 33.605, 0));
  t.deepEqual(run(engine, jitter), []);
  // Then it drives in and stays in: inside since its last jitter fix (115 s), confirmed 30 s later.
  const entry = Array.from({ length: 10 }, (_, i) => at(200 + i * 10, 119.019 - i * 0.0003));
  const alarms = run(engine, entry);
  t.is(alarms.length, 1);
  t.like(alarms[0], { type: 'fence_no_entry', fenceId: 1, at: t0 + 115_000, vehicleId: '苏H70001' });
});

test('a leg between two sparse fixes through a zone is a crossing', (t) => {
  const engine = new AlarmEngine({ overspeedMinS: 30, offlineAfterS: 600 });
  engine.setFences([fence({ shape: { kind: 'circle', center: [119.015, 33.605], radiusM: 200 }, dwellS: 60 })]);
  const alarms = run(engine, [at(0, 119.0, 33.605), at(60, 119.03, 33.605)]);
  t.deepEqual(alarms.map((a) => [a.type, a.detail?.crossed]), [['fence_no_entry', true]]);
});

test('schedules: a no-entry zone from 07:00 to 22:00 is free at night; other types and departments are not concerned', (t) => {
  const schedule = [{ days: [1, 2, 3, 4, 5, 6, 7], from: '07:00', to: '22:00' }];
  t.true(scheduleActive(schedule, t0));
  t.false(scheduleActive(schedule, Date.UTC(2026, 11, 1, 15, 0))); // 23:00 local
  t.true(scheduleActive([{ days: [2], from: '22:00', to: '06:00' }], Date.UTC(2026, 11, 1, 14, 30)), 'Tuesday 22:30');
  t.true(scheduleActive([{ days: [2], from: '22:00', to: '06:00' }], Date.UTC(2026, 11, 1, 20, 0)), 'Wednesday 04:00 is still Tuesday night');
  const night = new AlarmEngine({ overspeedMinS: 30, offlineAfterS: 600 });
  night.setFences([fence({ schedule })]);
  const inside = (start: number) => Array.from({ length: 8 }, (_, i) => ({ ...at(i * 10, 119.015), time: start + i * 10_000 }));
  t.deepEqual(run(night, inside(Date.UTC(2026, 11, 1, 15, 0))), []);
  t.deepEqual(run(night, inside(t0), { ...truck, id: 'taxi', type: 'taxi' }), []);
  t.deepEqual(run(night, inside(t0), { ...truck, id: 'other-dept', department: 'cgj' }), []);
  // Still inside when the zone's hours begin: that is an alarm too.
  t.is(run(night, inside(t0)).length, 1);
});

test('overspeed needs its minimum duration; a 限速区 lowers the limit; route corridors raise deviation', (t) => {
  const engine = new AlarmEngine({ overspeedMinS: 30, offlineAfterS: 600 });
  engine.setFences([
    fence({ id: 2, kind: 'speed_limit', speedLimitKmh: 40, dwellS: 0, shape: { kind: 'polygon', rings: [square] } }),
    fence({ id: 3, kind: 'route', dwellS: 20, shape: { kind: 'corridor', line: [[119.0, 33.605], [119.05, 33.605]], widthM: 100 } }),
  ]);
  // 50 km/h inside the 40 km/h zone for 20 s: nothing; for 40 s: one alarm.
  t.deepEqual(run(engine, [at(0, 119.012, 33.605, 50), at(10, 119.013, 33.605, 50), at(20, 119.0135, 33.605, 50), at(25, 119.014, 33.605, 30)]), []);
  const over = run(engine, [0, 10, 20, 30, 40].map((s) => at(100 + s, 119.015, 33.605, 50)));
  t.deepEqual(over.map((a) => [a.type, a.fenceId, a.detail?.limitKmh]), [['overspeed', 2, 40]]);
  // Leaving the corridor (300 m north) for longer than its dwell.
  const off = run(engine, [0, 10, 20, 30].map((s) => at(300 + s, 119.03, 33.608, 30)));
  t.deepEqual(off.map((a) => a.type), ['route_deviation']);
});

test('terminal alarm bits raise on their rising edge only; offline after the silence', (t) => {
  const engine = new AlarmEngine({ overspeedMinS: 30, offlineAfterS: 600 });
  const alarms = run(engine, [at(0, 119.1, 33.5, 0, 0), at(10, 119.1, 33.5, 0, 0b101), at(20, 119.1, 33.5, 0, 0b101), at(30, 119.1, 33.5, 0, 0)]);
  t.deepEqual(alarms.map((a) => a.type), ['terminal_emergency', 'terminal_fatigue']);
  t.deepEqual(engine.offline(t0 + 60_000, () => truck), []);
  t.deepEqual(engine.offline(t0 + 700_000, () => truck).map((a) => a.type), ['offline']);
  t.deepEqual(engine.offline(t0 + 800_000, () => truck), [], 'once per silence');
});

// ---- through the gateway, the database and the API ----

let tp: TestPlatform;
let gw: Gateway;
let dataDir: string;
let watch: string;
let manage: string;

test.before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-alarm-'));
  tp = await startTestPlatform({ DATA_DIR: dataDir });
  gw = await startGateway(tp.platform.vehicles, { port: 0, host: '127.0.0.1', maxConnections: 10, heartbeatSeconds: 60, messagesPerSecond: 1000, log: createLogger('silent') });
  await addVehicle(tp.platform.pool, { plate: '苏H70001', color: 2, phone: '13970000001', type: 'muck_truck', department: 'jtj' });
  watch = (await tp.platform.keys.create('jtj', 'desk', ['vehicle:watch'])).key;
  manage = (await tp.platform.keys.create('jtj', 'admin', ['vehicle:watch', 'vehicle:manage'])).key;
});

test.after.always(async () => {
  await gw?.close();
  await tp?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test.serial('a fence drawn through the API, a jittering truck, one alarm; backfill raises none; acknowledged and closed with an audit', async (t) => {
  const bad = await tp.http.post('/api/vehicles/fences').set('Authorization', `Bearer ${manage}`).send({ name: 'x', kind: 'no_entry', geometry: { type: 'Point', coordinates: [119, 33] } });
  t.is(bad.status, 400);
  t.regex(bad.body.message, /needs radiusM/);
  t.is((await tp.http.post('/api/vehicles/fences').set('Authorization', `Bearer ${watch}`).send({})).status, 403);
  const created = await tp.http
    .post('/api/vehicles/fences')
    .set('Authorization', `Bearer ${manage}`)
    .send({ name: '老城区禁行', kind: 'no_entry', geometry: { type: 'Polygon', coordinates: [square] }, vehicleTypes: ['muck_truck'], dwellS: 30 });
  t.is(created.status, 201);
  const fences = await tp.http.get('/api/vehicles/fences').set('Authorization', `Bearer ${watch}`);
  t.deepEqual(fences.body.features.map((f: { properties: { name: string } }) => f.properties.name), ['老城区禁行']);

  const term = await SimTerminal.connect(gw.port, '13970000001');
  await term.login('苏H70001', 2);
  const start = Math.floor(Date.now() / 1000) * 1000 - 3600_000;
  // Backfill through the middle of the zone, long ago: stored, no alarm.
  t.is(await term.batch(1, Array.from({ length: 10 }, (_, i) => ({ lat: 33.605, lon: 119.011 + i * 0.0008, speedKmh: 20, time: start - 7200_000 + i * 10_000 }))), 0);
  // Jitter at the edge, then a real entry (with its repeats while inside).
  for (let i = 0; i < 12; i++) t.is(await term.location({ lat: 33.605, lon: i % 2 ? 119.0198 : 119.0202, speedKmh: 0, time: start + i * 5000 }), 0);
  for (let i = 0; i < 10; i++) t.is(await term.location({ lat: 33.605, lon: 119.019 - i * 0.0003, speedKmh: 20, time: start + 100_000 + i * 10_000 }), 0);
  await tp.platform.vehicles.settled();
  const open = await tp.http.get('/api/vehicles/alarms').set('Authorization', `Bearer ${watch}`);
  t.is(open.body.alarms.length, 1);
  const alarm = open.body.alarms[0];
  t.like(alarm, { type: 'fence_no_entry', state: 'raised', vehicle_id: '苏H70001', repeats: 1 });

  const ack = await tp.http.post(`/api/vehicles/alarms/${alarm.id}/acknowledge`).set('Authorization', `Bearer ${watch}`).send({ note: '已电话联系司机' });
  t.is(ack.status, 200);
  t.like(ack.body.alarm, { state: 'acknowledged', note: '已电话联系司机' });
  t.regex(ack.body.alarm.acknowledged_by, /^key:\d+$/);
  const again = await tp.http.post(`/api/vehicles/alarms/${alarm.id}/acknowledge`).set('Authorization', `Bearer ${watch}`).send({});
  t.is(again.status, 409);
  t.is((await tp.http.post(`/api/vehicles/alarms/${alarm.id}/close`).set('Authorization', `Bearer ${watch}`)).status, 200);
  t.is((await tp.http.post(`/api/vehicles/alarms/999999/close`).set('Authorization', `Bearer ${watch}`)).status, 404);
  const audit = (await tp.sql.query(`SELECT action, from_state, to_state, note FROM vehicles.alarm_audit WHERE alarm_id = $1 ORDER BY id`, [alarm.id])).rows;
  t.deepEqual(audit, [
    { action: 'acknowledge', from_state: 'raised', to_state: 'acknowledged', note: '已电话联系司机' },
    { action: 'close', from_state: 'acknowledged', to_state: 'closed', note: null },
  ]);
  t.is((await tp.http.get('/api/vehicles/alarms').set('Authorization', `Bearer ${watch}`)).body.alarms.length, 0);
  term.end();
});

test.serial('repeats of an open alarm collapse into it', async (t) => {
  const v = tp.platform.vehicles;
  const d = { vehicleId: '苏H70001', department: 'jtj', type: 'terminal_emergency', fenceId: null, lon: 119, lat: 33.5, detail: null };
  await v.raise({ ...d, at: Date.now() - 2000 });
  await v.raise({ ...d, at: Date.now() - 1000 });
  await v.raise({ ...d, at: Date.now() });
  const rows = (await tp.sql.query(`SELECT repeats, state FROM vehicles.alarms WHERE type = 'terminal_emergency'`)).rows;
  t.deepEqual(rows, [{ repeats: 3, state: 'raised' }]);
});

test.serial('PUT a fence: geometry and properties replaced under the same id, the live engine uses it; 404 for another department, 403 without vehicle:manage, 400 naming the problem; audited', async (t) => {
  const other = (await tp.platform.keys.create('cgj', 'other admin', ['vehicle:watch', 'vehicle:manage'])).key;
  const created = await tp.http
    .post('/api/vehicles/fences')
    .set('Authorization', `Bearer ${manage}`)
    .send({ name: '工地', kind: 'no_entry', geometry: { type: 'Polygon', coordinates: [square] }, vehicleTypes: ['muck_truck'], dwellS: 0 });
  t.is(created.status, 201);
  const id = created.body.id as number;
  // Moved 0.1° east and made a 40 km/h zone.
  const moved = square.map(([x, y]) => [Math.round((x + 0.1) * 1e6) / 1e6, y] as [number, number]);
  const body = { name: '工地限速', kind: 'speed_limit', geometry: { type: 'Polygon', coordinates: [moved] }, speedLimitKmh: 40, schedule: [{ days: [1, 2, 3, 4, 5], from: '07:00', to: '19:00' }], dwellS: 10 };
  t.is((await tp.http.put(`/api/vehicles/fences/${id}`).set('Authorization', `Bearer ${watch}`).send(body)).status, 403);
  const foreign = await tp.http.put(`/api/vehicles/fences/${id}`).set('Authorization', `Bearer ${other}`).send(body);
  t.is(foreign.status, 404);
  t.is(foreign.body.error, 'unknown_fence');
  t.is((await tp.http.delete(`/api/vehicles/fences/${id}`).set('Authorization', `Bearer ${other}`)).status, 404);
  const open = await tp.http.put(`/api/vehicles/fences/${id}`).set('Authorization', `Bearer ${manage}`).send({ ...body, geometry: { type: 'Polygon', coordinates: [moved.slice(0, 4)] } });
  t.is(open.status, 400);
  t.is(open.body.error, 'invalid_fence');
  t.regex(open.body.message, /^geometry\.coordinates\.0: .*closed/);
  const two = await tp.http.put(`/api/vehicles/fences/${id}`).set('Authorization', `Bearer ${manage}`).send({ ...body, geometry: { type: 'Polygon', coordinates: [[moved[0], moved[1], moved[0]]] } });
  t.is(two.status, 400);
  t.regex(two.body.message, /at least 3 vertices/);
  const noLimit = await tp.http.put(`/api/vehicles/fences/${id}`).set('Authorization', `Bearer ${manage}`).send({ ...body, speedLimitKmh: undefined });
  t.regex(noLimit.body.message, /needs speedLimitKmh/);
  t.is((await tp.http.put(`/api/vehicles/fences/999999`).set('Authorization', `Bearer ${manage}`).send(body)).status, 404);

  const ok = await tp.http.put(`/api/vehicles/fences/${id}`).set('Authorization', `Bearer ${manage}`).send(body);
  t.is(ok.status, 200);
  t.deepEqual(ok.body, { id });
  const fences = await tp.http.get('/api/vehicles/fences').set('Authorization', `Bearer ${watch}`);
  const f = fences.body.features.find((x: { id: number }) => x.id === id);
  t.deepEqual(f.geometry.coordinates, [moved]);
  t.like(f.properties, { name: '工地限速', kind: 'speed_limit', speedLimitKmh: 40, vehicleTypes: null, dwellS: 10, schedule: body.schedule });
  // The live engine has the change: 50 km/h in the moved zone on a Tuesday morning is overspeed against this fence.
  const probe = { ...truck, id: 'probe', plate: 'probe' };
  const decisions = [0, 10, 20, 30, 40].flatMap((s) => tp.platform.vehicles.alarms.evaluate(probe, at(s, 119.115, 33.605, 50)));
  t.deepEqual(decisions.map((d) => [d.type, d.fenceId, d.detail?.limitKmh]), [['overspeed', id, 40]]);

  t.is((await tp.http.delete(`/api/vehicles/fences/${id}`).set('Authorization', `Bearer ${manage}`)).status, 204);
  const audited = (await tp.sql.query(`SELECT action, target, details FROM citybase.audit_log WHERE target = $1 ORDER BY id`, [`fence:${id}`])).rows;
  t.deepEqual(audited.map((r) => r.action), ['vehicle.fence_create', 'vehicle.fence_update', 'vehicle.fence_delete']);
  t.like(audited[1].details, { name: '工地限速', kind: 'speed_limit' });
});
