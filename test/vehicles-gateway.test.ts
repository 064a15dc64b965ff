import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { addVehicle } from '../tile-server/src/vehicles/fleet.ts';
import { startGateway, type Gateway } from '../tile-server/src/vehicles/gateway/gateway.ts';
import { MAX_ESCAPED, escape, unescape } from '../tile-server/src/vehicles/jt808/frame.ts';
import { MSG, decodeGeneralReply, encodeLocation } from '../tile-server/src/vehicles/jt808/messages.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { SimTerminal } from './helpers/jt808-terminal.ts';
import { eventually, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let tp: TestPlatform;
let gw: Gateway;
let dataDir: string;
const HEARTBEAT_S = 1;

test.before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-gw-'));
  tp = await startTestPlatform({ DATA_DIR: dataDir });
  gw = await startGateway(tp.platform.vehicles, {
    port: 0,
    host: '127.0.0.1',
    maxConnections: 40,
    heartbeatSeconds: HEARTBEAT_S,
    messagesPerSecond: 200,
    log: createLogger('silent'),
  });
  const pool = tp.platform.pool;
  await addVehicle(pool, { plate: '苏H12345', color: 2, phone: '013912345678', type: 'muck_truck', department: 'jtj' });
  await addVehicle(pool, { plate: '苏H20190', color: 1, phone: '00000866496077582164', type: 'bus', department: 'jtj' });
  await addVehicle(pool, { plate: '苏H00001', color: 2, phone: '13900000001', type: 'taxi', department: 'jtj' });
  await addVehicle(pool, { plate: '苏H00002', color: 2, phone: '13900000002', type: 'taxi', department: 'jtj' });
});

test.after.always(async () => {
  await gw?.close();
  await tp?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const base = Math.floor(Date.now() / 1000) * 1000 - 3600_000;
const fix = (i: number, extra: Partial<Parameters<typeof encodeLocation>[0]> = {}) => ({
  lat: 33.6 + i * 0.0005,
  lon: 119.02 + i * 0.0005,
  speedKmh: 30,
  course: 45,
  time: base + i * 10_000,
  ...extra,
});

async function positionsOf(vehicle: string) {
  await tp.platform.vehicles.writer.flush();
  const { rows } = await tp.sql.query(
    `SELECT extract(epoch FROM fix_time) * 1000 AS t, ST_X(geom) AS lon, ST_Y(geom) AS lat, backfill, mileage_km, satellites, source
     FROM vehicles.positions WHERE vehicle_id = $1 ORDER BY fix_time`,
    [vehicle],
  );
  return rows.map((r) => ({ ...r, t: Number(r.t) }));
}

test.serial('a terminal goes through register → authenticate → heartbeat → fixes → batches → logout', async (t) => {
  const term = await SimTerminal.connect(gw.port, '013912345678');
  // Before authentication nothing but register/authenticate is served.
  t.is(await term.heartbeat(), 1);
  t.is(await term.location(fix(0)), 1);
  // Registration needs the vehicle known by plate and colour.
  t.is((await term.register('苏H99999', 2)).result, 2);
  t.is((await term.register('苏H12345', 1)).result, 2);
  t.is((await term.register('苏H00001', 2)).result, 3, 'a vehicle that is not this terminal’s');
  const reg = await term.register('苏H12345', 2);
  t.is(reg.result, 0);
  t.regex(reg.authCode!, /^[0-9a-f]{24}$/);
  t.is(await term.authenticate('not-the-code'), 1);
  t.is(await term.authenticate(reg.authCode!), 0);
  t.is(await term.heartbeat(), 0);
  t.is(await term.location(fix(0, { mileageKm: 1234.5, satellites: 11, items: [[0xe1, Buffer.from('cafe', 'hex')]] })), 0);
  t.is(await term.batch(0, [fix(1), fix(2), fix(3)]), 0);
  // Blind-area backfill from before the live fixes: stored, marked, never the live position.
  t.is(await term.batch(1, [fix(-3), fix(-2)]), 0);
  // A zero fix is refused by the filters, with its reason kept; it is still acknowledged.
  t.is(await term.location(fix(4, { lat: 0, lon: 0 })), 0);
  t.is(await term.result(0x0900, Buffer.from('01', 'hex')), 3, 'unsupported message → result 3');
  t.is(await term.result(MSG.location, Buffer.alloc(20)), 2, 'a body too short → result 2');
  t.is(await term.logout(), 0);

  const rows = await positionsOf('苏H12345');
  t.deepEqual(
    rows.map((r) => [r.t, r.backfill]),
    [-3, -2, 0, 1, 2, 3].map((i) => [fix(i).time, i < 0]),
  );
  t.like(rows[2], { mileage_km: 1234.5, satellites: 11, source: 'jt808:13912345678' });
  const extras = (await tp.sql.query(`SELECT extras FROM vehicles.positions WHERE vehicle_id = '苏H12345' AND fix_time = to_timestamp($1 / 1000.0)`, [fix(0).time])).rows[0].extras;
  t.deepEqual(extras.raw, { e1: 'cafe' });
  const latest = (await tp.sql.query(`SELECT extract(epoch FROM fix_time) * 1000 AS t FROM vehicles.latest WHERE vehicle_id = '苏H12345'`)).rows[0];
  t.is(Number(latest.t), fix(3).time);
  const rejected = (await tp.sql.query(`SELECT reason FROM vehicles.rejected_fixes WHERE vehicle_id = '苏H12345'`)).rows;
  t.deepEqual(rejected.map((r) => r.reason), ['zero: position (0, 0)']);
  const live = tp.platform.vehicles.live.get('苏H12345')!;
  t.like(live, { time: fix(3).time, status: 'offline', type: 'muck_truck', department: 'jtj' });
});

test.serial('a 2019 terminal (BCD[10] phone, 2019 bodies) is served in its own header version', async (t) => {
  const term = await SimTerminal.connect(gw.port, '00000866496077582164', 2019);
  await term.login('苏H20190', 1);
  t.is(await term.location(fix(0)), 0);
  t.true(term.received.every((f) => f.header.version === 2019 && f.header.phoneBcd === '00000866496077582164'));
  t.is((await positionsOf('苏H20190')).length, 1);
  term.end();
});

test.serial('hostile peers cost bounded memory and the gateway keeps serving a good terminal', async (t) => {
  const good = await SimTerminal.connect(gw.port, '13900000001');
  await good.login('苏H00001', 2);
  let served = 0;
  let i = 0;
  let stop = false;
  const goodLoop = (async () => {
    while (!stop) {
      t.is(await good.location(fix(100 + i++)), 0);
      served++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  const raw = async () => {
    const s = net.connect(gw.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.on('error', () => {});
    return s;
  };
  // Random bytes, 7e included, in large pieces.
  const noise = await raw();
  for (let k = 0; k < 16; k++) noise.write(randomBytes(16 * 1024));
  // A frame that never ends: held only up to one frame's bound.
  const endless = await raw();
  endless.write(Buffer.of(0x7e));
  for (let k = 0; k < 8; k++) endless.write(Buffer.alloc(4096, 0x11));
  // A peer that says nothing: closed after three missed heartbeats.
  const silent = await raw();
  const silentClosed = new Promise<number>((resolve) => {
    const at = Date.now();
    silent.on('close', () => resolve(Date.now() - at));
  });
  // A flooder: heartbeats as fast as TCP takes them, never authenticated.
  const flooder = await SimTerminal.connect(gw.port, '13900000009');
  const hb = flooder.frame(MSG.heartbeat, Buffer.alloc(0));
  for (let k = 0; k < 5000; k++) flooder.socket.write(hb);

  // Truncated frames and a length past the end, from an authenticated terminal: the next frame is still read.
  const victim = await SimTerminal.connect(gw.port, '13900000002');
  await victim.login('苏H00002', 2);
  const whole = victim.frame(MSG.location, encodeLocation(fix(1)));
  victim.socket.write(whole.subarray(0, 20)); // cut off: the next frame's 7e closes it
  const inner = unescape(victim.frame(MSG.location, encodeLocation(fix(2)), 777).subarray(1, -1));
  inner.writeUInt16BE(200, 2); // declares 200 bytes, holds 28
  inner[inner.length - 1] = inner.subarray(0, -1).reduce((x, y) => x ^ y, 0);
  victim.socket.write(Buffer.concat([Buffer.of(0x7e), escape(inner), Buffer.of(0x7e)]));
  // 7e and 7d inside a body: latitude 33.554302 is 0x01fffe7e… in 1e-6 degrees; speed 0x7d7e.
  const tricky = fix(3, { lat: 33.554302, speedKmh: 0x7d7e / 10 });
  t.true(encodeLocation(tricky).includes(0x7e));
  t.is(await victim.location(tricky), 0);
  const lengthReply = victim.received.filter((f) => f.header.id === MSG.platformReply).map((f) => decodeGeneralReply(f.body)).find((r) => r.serial === 777);
  t.deepEqual(lengthReply, { serial: 777, id: MSG.location, result: 2 }, 'the length past the end is answered with result 2');

  const idle = await silentClosed;
  t.true(idle >= HEARTBEAT_S * 3000 - 200, `silent peer closed after ${idle} ms, not before three missed heartbeats`);
  await flooder.closed;
  t.true((gw.stats.get('rate_dropped') ?? 0) > 0);
  t.is(gw.stats.get('closed_flooding'), 1);
  t.true((gw.stats.get('noise') ?? 0) > 0);
  for (const s of gw.sessions) t.true((s as unknown as { deframer: { buffered: number } }).deframer.buffered <= MAX_ESCAPED);
  stop = true;
  await goodLoop;
  // Served throughout (every answer above was 0); how often depends on the machine, not on the gateway.
  t.true(served >= 3, `the good terminal was served ${served} times meanwhile`);
  const victimRows = await positionsOf('苏H00002');
  t.deepEqual(victimRows.map((r) => r.t), [tricky.time]);
  t.is(victimRows[0].lat, 33.554302);
  for (const s of [noise, endless, silent]) s.destroy();
  victim.end();
  good.end();
});

test.serial('connections beyond JT808_MAX_CONNECTIONS are closed on arrival', async (t) => {
  await eventually(async () => gw.sessions.size === 0, 10_000);
  const held: net.Socket[] = [];
  for (let k = 0; k < 40; k++) {
    const s = net.connect(gw.port, '127.0.0.1');
    s.on('error', () => {});
    held.push(s);
    await new Promise((r) => s.once('connect', r));
  }
  await eventually(async () => gw.sessions.size === 40);
  const extra = net.connect(gw.port, '127.0.0.1');
  extra.on('error', () => {});
  await new Promise((r) => extra.once('close', r));
  t.true((gw.stats.get('refused_max_connections') ?? 0) >= 1);
  for (const s of held) s.destroy();
  await eventually(async () => gw.sessions.size === 0);
});
