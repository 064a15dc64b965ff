// Fences on several instances (issue 12): a fence made, changed or deleted through one instance reaches the desks
// connected to another instance (its department only) on the live channel, and the other instance's alarm engine
// uses it at once — through PostgreSQL (NOTIFY citybase_fences), not through the memory of the instance that saved it.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import WebSocket from 'ws';
import { createHttpServer } from '../tile-server/src/http-server.ts';
import type { AlarmDecision } from '../tile-server/src/vehicles/alarms/engine.ts';
import { eventually, startInstance, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let a: TestPlatform;
let b: Awaited<ReturnType<typeof startInstance>>;
let server: http.Server;
let port: number;
const keys = { manage: '', jtj: '', cgj: '' };

test.before(async () => {
  a = await startTestPlatform({ INSTANCE_ID: 'fences-a' });
  b = await startInstance(a, { INSTANCE_ID: 'fences-b' });
  server = createHttpServer(b.platform.app);
  b.platform.vehicles.channel!.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  keys.manage = (await a.platform.keys.create('jtj', 'fence admin', ['vehicle:watch', 'vehicle:manage'])).key;
  keys.jtj = (await a.platform.keys.create('jtj', 'desk on b', ['vehicle:watch'])).key;
  keys.cgj = (await a.platform.keys.create('cgj', 'other desk on b', ['vehicle:watch'])).key;
});

test.after.always(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await b?.close();
  await a?.close();
});

interface FenceEvent {
  kind: 'fence';
  op: 'saved' | 'deleted';
  id?: number;
  fence?: { id: number; geometry: { type: string; coordinates: unknown }; properties: Record<string, unknown> };
}

async function desk(key: string): Promise<{ ws: WebSocket; events: FenceEvent[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/vehicles/live?key=${key}`);
  const events: FenceEvent[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as { events?: Array<FenceEvent | { kind: string }> };
    for (const e of m.events ?? []) if (e.kind === 'fence') events.push(e as FenceEvent);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, events };
}

const square = (lon: number, lat: number, d: number) => ({
  type: 'Polygon',
  coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]],
});

/** What b's alarm engine decides for a vehicle driving from outside into (lon, lat). */
function decide(vehicleId: string, lon: number, lat: number): AlarmDecision[] {
  const vehicle = { id: vehicleId, plate: vehicleId, plateColor: 2, type: 'muck_truck' as const, department: 'jtj', company: null, phone: null };
  const t0 = Date.now() - 60_000;
  const engine = b.platform.vehicles.alarms;
  engine.evaluate(vehicle, { time: t0, lon: lon + 0.05, lat, speedKmh: 20, alarm: 0 });
  return [...engine.evaluate(vehicle, { time: t0 + 10_000, lon, lat, speedKmh: 20, alarm: 0 }), ...engine.evaluate(vehicle, { time: t0 + 20_000, lon, lat, speedKmh: 0, alarm: 0 })];
}

test('a fence made, changed and deleted through one instance: the other’s desks of its department see it, its alarm engine uses it', async (t) => {
  const jtj = await desk(keys.jtj);
  const cgj = await desk(keys.cgj);
  const auth = { Authorization: `Bearer ${keys.manage}` };

  const made = await a.http.post('/api/vehicles/fences').set(auth).send({ name: '码头禁行区', kind: 'no_entry', geometry: square(119.1, 33.5, 0.01), dwellS: 0 });
  t.is(made.status, 201, JSON.stringify(made.body));
  const id = made.body.id as number;
  const saved = await eventually(async () => jtj.events.find((e) => e.op === 'saved' && e.fence?.id === id), 10_000);
  t.like(saved.fence!, { id, geometry: square(119.1, 33.5, 0.01), properties: { name: '码头禁行区', kind: 'no_entry', dwellS: 0, radiusM: null } });
  t.deepEqual(
    saved.fence,
    (await b.http.get('/api/vehicles/fences').set({ Authorization: `Bearer ${keys.jtj}` })).body.features.find((f: { id: number }) => f.id === id),
    'the event carries the fence as the list has it',
  );
  t.true(decide('苏H-F1', 119.105, 33.505).some((d) => d.type === 'fence_no_entry' && d.fenceId === id), 'b raises on the new fence');

  // Changed to a circle elsewhere: the old area no longer alarms on b, the circle does.
  const put = await a.http.put(`/api/vehicles/fences/${id}`).set(auth).send({ name: '码头禁行区', kind: 'no_entry', geometry: { type: 'Point', coordinates: [119.2, 33.6] }, radiusM: 300, dwellS: 0 });
  t.is(put.status, 200, JSON.stringify(put.body));
  const changed = await eventually(async () => jtj.events.find((e) => e.op === 'saved' && e.fence?.id === id && e.fence.geometry.type === 'Point'), 10_000);
  t.like(changed.fence!.properties, { radiusM: 300 });
  t.false(decide('苏H-F2', 119.105, 33.505).some((d) => d.fenceId === id), 'the old area is gone from b’s engine');
  t.true(decide('苏H-F3', 119.2005, 33.6).some((d) => d.type === 'fence_no_entry' && d.fenceId === id), 'the circle is in b’s engine');

  t.is((await a.http.delete(`/api/vehicles/fences/${id}`).set(auth)).status, 204);
  await eventually(async () => jtj.events.some((e) => e.op === 'deleted' && e.id === id), 10_000);
  t.false(decide('苏H-F4', 119.2005, 33.6).some((d) => d.fenceId === id), 'the deleted fence is gone from b’s engine');
  t.is(jtj.events.filter((e) => e.fence?.id === id || e.id === id).length, 3, 'one event per change');

  // Made by SQL (a CSV load, a script): the trigger tells the instances all the same.
  const { rows } = await a.sql.query(
    `INSERT INTO vehicles.fences (department_id, name, kind, geom, radius_m, dwell_s) VALUES ('jtj', '工地', 'expected_stop', ST_SetSRID(ST_MakePoint(119.3, 33.7), 4326), 200, 30) RETURNING id`,
  );
  await eventually(async () => jtj.events.some((e) => e.op === 'saved' && e.fence?.id === rows[0].id), 10_000);
  t.deepEqual(cgj.events, [], 'another department’s desk hears nothing of these fences');
  jtj.ws.close();
  cgj.ws.close();
});
