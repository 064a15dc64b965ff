import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import WebSocket from 'ws';
import { createHttpServer } from '../tile-server/src/http-server.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { addVehicle } from '../tile-server/src/vehicles/fleet.ts';
import { startGateway, type Gateway } from '../tile-server/src/vehicles/gateway/gateway.ts';
import { SimTerminal } from './helpers/jt808-terminal.ts';
import { decodeTile } from './helpers/mvt.ts';
import { binary, eventually, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let tp: TestPlatform;
let gw: Gateway;
let server: http.Server;
let port: number;
let dataDir: string;
const keys: Record<string, string> = {};

test.before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-live-'));
  tp = await startTestPlatform({ DATA_DIR: dataDir });
  gw = await startGateway(tp.platform.vehicles, { port: 0, host: '127.0.0.1', maxConnections: 20, heartbeatSeconds: 60, messagesPerSecond: 1000, log: createLogger('silent') });
  server = createHttpServer(tp.platform.app);
  tp.platform.vehicles.channel!.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  const pool = tp.platform.pool;
  await addVehicle(pool, { plate: '苏H60001', color: 2, phone: '13960000001', type: 'muck_truck', department: 'jtj', company: '淮安渣土运输' });
  await addVehicle(pool, { plate: '苏H60002', color: 2, phone: '13960000002', type: 'taxi', department: 'cgj' });
  await tp.platform.vehicles.refreshFleet();
  keys.jtj = (await tp.platform.keys.create('jtj', 'desk', ['layer:read', 'vehicle:watch'])).key;
  keys.jtjNoRight = (await tp.platform.keys.create('jtj', 'gis', ['layer:read'])).key;
  keys.cgj = (await tp.platform.keys.create('cgj', 'desk', ['layer:read', 'vehicle:watch'])).key;
});

test.after.always(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await gw?.close();
  await tp?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Message {
  type: 'snapshot' | 'changes';
  at: number;
  vehicles: Array<{ id: string; status: string; lon: number | null; lat: number | null; time: number | null; company: string | null }>;
  received: number;
}

/** A desk: the messages it received, in order. */
async function desk(key?: string): Promise<{ ws: WebSocket; messages: Message[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/vehicles/live${key ? `?key=${key}` : ''}`);
  const messages: Message[] = [];
  ws.on('message', (data) => messages.push({ ...(JSON.parse(String(data)) as Message), received: Date.now() }));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
  return { ws, messages };
}

const base = Math.floor(Date.now() / 1000) * 1000 - 600_000;

test.serial('the live channel refuses callers without vehicle:watch (401 without a key, 403 without the right)', async (t) => {
  const anon = await t.throwsAsync(desk());
  t.is((anon as Error & { status: number }).status, 401);
  const noRight = await t.throwsAsync(desk(keys.jtjNoRight));
  t.is((noRight as Error & { status: number }).status, 403);
});

test.serial('a desk gets its department’s fleet on connect, then batched changes at most once a second', async (t) => {
  const jtj = await desk(keys.jtj);
  const cgj = await desk(keys.cgj);
  await eventually(async () => jtj.messages.length > 0 && cgj.messages.length > 0);
  t.deepEqual(jtj.messages[0]!.vehicles.map((v) => [v.id, v.company]), [['苏H60001', '淮安渣土运输']]);
  t.deepEqual(cgj.messages[0]!.vehicles.map((v) => v.id), ['苏H60002']);

  const term = await SimTerminal.connect(gw.port, '13960000001');
  await term.login('苏H60001', 2);
  for (let i = 0; i < 5; i++) t.is(await term.location({ lat: 33.6 + i * 0.001, lon: 119.02, speedKmh: 36, time: base + i * 10_000 }), 0);
  const last = await eventually(async () => jtj.messages.find((m) => m.vehicles.some((v) => v.time === base + 40_000)));
  const v = last.vehicles.find((x) => x.id === '苏H60001')!;
  t.like(v, { status: 'online', lat: 33.604, lon: 119.02 });
  // Five fixes within a second arrive as at most two pushes (a push boundary may fall between them), a second apart.
  const changes = jtj.messages.filter((m) => m.type === 'changes');
  t.true(changes.length <= 3, `${changes.length} pushes`);
  for (let i = 1; i < changes.length; i++) t.true(changes[i]!.at - changes[i - 1]!.at >= 900);

  // Blind-area backfill older than the live fix never moves it back.
  t.is(await term.batch(1, [{ lat: 33.5, lon: 119.0, time: base - 60_000 }]), 0);
  term.end();
  await eventually(async () => jtj.messages.some((m) => m.vehicles.some((x) => x.id === '苏H60001' && x.status === 'offline')));
  t.is(tp.platform.vehicles.live.get('苏H60001')!.lat, 33.604);
  t.false(cgj.messages.some((m) => m.vehicles.some((x) => x.id === '苏H60001')), 'another department never sees the vehicle');
  jtj.ws.close();
  cgj.ws.close();
});

test.serial('vehicles_live tiles are cut from memory, with the same access rules', async (t) => {
  // z14 tile over 119.02, 33.604.
  const z = 14;
  const x = Math.floor(((119.02 + 180) / 360) * 2 ** z);
  const latRad = (33.604 * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(latRad) + 1 / Math.cos(latRad)) / Math.PI) / 2) * 2 ** z);
  const url = `/tiles/vehicles_live/${z}/${x}/${y}.mvt`;
  const res = await tp.http.get(url).set('Authorization', `Bearer ${keys.jtj}`).buffer(true).parse(binary);
  t.is(res.status, 200);
  const features = decodeTile(res.body as Buffer, z, x, y).vehicles_live!;
  t.is(features.length, 1);
  t.like(features[0]!.properties, { id: '苏H60001', type: 'muck_truck', status: 'offline', speed_kmh: 36 });
  const [lon, lat] = features[0]!.geometry.coordinates as [number, number];
  t.true(Math.abs(lon - 119.02) < 1e-4 && Math.abs(lat - 33.604) < 1e-4);
  t.is((await tp.http.get(url)).status, 404, 'anonymous: as an unknown layer');
  t.is((await tp.http.get(url).set('Authorization', `Bearer ${keys.jtjNoRight}`)).status, 404);
  t.is((await tp.http.get(url).set('Authorization', `Bearer ${keys.cgj}`)).status, 204, 'cgj has no vehicle there');
  const tj = await tp.http.get('/tiles/vehicles_live.json').set('Authorization', `Bearer ${keys.jtj}`);
  t.is(tj.status, 200);
  t.regex(tj.body.tiles[0], /\/tiles\/vehicles_live\/\{z\}\/\{x\}\/\{y\}\.mvt/);
  const list = await tp.http.get('/api/vehicles').set('Authorization', `Bearer ${keys.jtj}`);
  t.deepEqual(list.body.vehicles.map((v: { id: string }) => v.id), ['苏H60001']);
  t.is((await tp.http.get('/api/vehicles')).status, 401);
  t.is((await tp.http.get('/api/vehicles').set('Authorization', `Bearer ${keys.jtjNoRight}`)).status, 403);
});

test.serial('positions written by a gateway in another process reach the live state through vehicles.latest', async (t) => {
  const time = new Date(base + 300_000);
  await tp.sql.query(
    `INSERT INTO vehicles.latest (vehicle_id, fix_time, geom, speed_kmh, course, received_at) VALUES ('苏H60002', $1, ST_SetSRID(ST_MakePoint(119.05, 33.55), 4326), 12, 90, now())`,
    [time],
  );
  await tp.platform.vehicles.refreshFleet();
  t.like(tp.platform.vehicles.live.get('苏H60002'), { lon: 119.05, lat: 33.55, time: time.getTime(), speedKmh: 12 });
  // An older stored fix never moves a vehicle back.
  await tp.sql.query(`UPDATE vehicles.latest SET fix_time = $1, geom = ST_SetSRID(ST_MakePoint(119, 33), 4326) WHERE vehicle_id = '苏H60001'`, [new Date(base - 86_400_000)]);
  await tp.platform.vehicles.refreshFleet();
  t.is(tp.platform.vehicles.live.get('苏H60001')!.lat, 33.604);
});
