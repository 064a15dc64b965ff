import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { SimTerminal } from './helpers/jt808-terminal.ts';
import { startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { startGateway, type Gateway } from '../tile-server/src/vehicles/gateway/gateway.ts';
import { createLogger } from '../tile-server/src/log.ts';

/**
 * Registration from the desk (issue 12 §6): a vehicle_admin registers a vehicle and its terminal, or a CSV of
 * them, into its own department (and districts); audited; the terminal may then connect.
 */
let tp: TestPlatform;
let gw: Gateway;
let dataDir: string;
const keys: Record<string, string> = {};

test.before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-reg-'));
  tp = await startTestPlatform({ DATA_DIR: dataDir });
  gw = await startGateway(tp.platform.vehicles, { port: 0, host: '127.0.0.1', maxConnections: 10, heartbeatSeconds: 60, messagesPerSecond: 1000, log: createLogger('silent') });
  keys.manage = (await tp.platform.keys.create('jtj', 'admin', ['vehicle:watch', 'vehicle:manage'])).key;
  keys.qinghe = (await tp.platform.keys.create('jtj', 'qinghe admin', ['vehicle:watch', 'vehicle:manage'], { scopes: ['320812'] })).key;
  keys.watch = (await tp.platform.keys.create('jtj', 'desk', ['vehicle:watch'])).key;
});
test.after.always(async () => {
  await gw?.close();
  await tp?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const post = (url: string, body: object, key = keys.manage) => tp.http.post(url).set('Authorization', `Bearer ${key}`).send(body);

test.serial('a vehicle registered from the desk is in the fleet at once, audited, and its terminal may connect', async (t) => {
  const res = await post('/api/vehicles', { plate: '苏H73001', color: 2, phone: '013973000001', type: 'muck_truck', company: '淮安渣土运输', district: '320812', group: '一车队' });
  t.is(res.status, 201);
  t.like(res.body.vehicle, { id: '苏H73001', phone: '13973000001', department: 'jtj', district: '320812', group: '一车队' });
  t.like(tp.platform.vehicles.live.get('苏H73001'), { department: 'jtj', group: '一车队' });
  const audited = (await tp.sql.query(`SELECT target, details FROM citybase.audit_log WHERE action = 'vehicle.register'`)).rows;
  t.like(audited, [{ target: 'vehicle:苏H73001', details: { phone: '13973000001', type: 'muck_truck' } }]);
  const term = await SimTerminal.connect(gw.port, '13973000001');
  await term.login('苏H73001', 2);
  t.is(await term.heartbeat(), 0);
  term.end();
});

test.serial('bad vehicles are 400 naming the problem; the right, and the district scope, are needed', async (t) => {
  const bad = await post('/api/vehicles', { plate: '苏H73002', color: 2, phone: 'abc', type: 'muck_truck' });
  t.is(bad.status, 400);
  t.is(bad.body.error, 'invalid_vehicle');
  t.regex(bad.body.message, /phone/);
  t.is((await post('/api/vehicles', { plate: '苏H73002', color: 2, phone: '13973000002', type: 'tank' })).status, 400);
  t.is((await post('/api/vehicles', { plate: '苏H73002', color: 2, phone: '13973000002', type: 'bus', district: '32' })).status, 400);
  t.is((await post('/api/vehicles', { plate: '苏H73002', color: 2, phone: '13973000002' }, keys.watch)).status, 403);
  const outside = await post('/api/vehicles', { plate: '苏H73002', color: 2, phone: '13973000002', district: '320803' }, keys.qinghe);
  t.is(outside.status, 403);
  t.regex(outside.body.message, /320803/);
  t.is((await post('/api/vehicles', { plate: '苏H73002', color: 2, phone: '13973000002', district: '320812' }, keys.qinghe)).status, 201);
  t.is(tp.platform.vehicles.live.get('苏H73002')?.district, '320812');
});

test.serial('a CSV loads whole or not at all, into the manager’s department and districts', async (t) => {
  const good = '车牌号,车牌颜色,终端手机号,车辆类型,区县,分组\n苏H73010,2,13973000010,school_bus,320812,校车队\n苏H73011,1,13973000011,bus,320812,3路\n';
  const res = await post('/api/vehicles/import', { csv: good }, keys.qinghe);
  t.is(res.status, 200);
  t.is(res.body.imported, 2);
  t.like(tp.platform.vehicles.live.get('苏H73011'), { type: 'bus', group: '3路', district: '320812' });
  const audited = (await tp.sql.query(`SELECT details FROM citybase.audit_log WHERE action = 'vehicle.import'`)).rows;
  t.deepEqual(audited[0].details.vehicles, ['苏H73010', '苏H73011']);

  // A bad third line, another department's line, a district outside the scope: nothing is loaded.
  const count = async () => (await tp.sql.query(`SELECT count(*)::int AS n FROM vehicles.vehicles`)).rows[0].n as number;
  const before = await count();
  const broken = await post('/api/vehicles/import', { csv: 'plate,color,phone\n苏H73020,2,13973000020\n苏H73021,2,x\n' });
  t.is(broken.status, 400);
  t.regex(broken.body.message, /^line 3:/);
  const foreign = await post('/api/vehicles/import', { csv: 'plate,color,phone,department\n苏H73022,2,13973000022,cgj\n' });
  t.is(foreign.status, 400);
  t.regex(foreign.body.message, /not yours/);
  const scoped = await post('/api/vehicles/import', { csv: 'plate,color,phone,district\n苏H73023,2,13973000023,320812\n苏H73024,2,13973000024,320803\n' }, keys.qinghe);
  t.is(scoped.status, 403);
  t.regex(scoped.body.message, /^line 3:/);
  t.is(await count(), before);
  t.is((await post('/api/vehicles/import', { rows: [] })).status, 400);
});
