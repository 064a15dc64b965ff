import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import pg from 'pg';
import { createLogger } from '../tile-server/src/log.ts';
import { addVehicle } from '../tile-server/src/vehicles/fleet.ts';
import { startGateway } from '../tile-server/src/vehicles/gateway/gateway.ts';
import { VehicleService } from '../tile-server/src/vehicles/service.ts';
import { SimTerminal } from './helpers/jt808-terminal.ts';
import { eventually, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let tp: TestPlatform;
const tmp: string[] = [];
const log = createLogger('silent');

test.before(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-store-'));
  tmp.push(dataDir);
  tp = await startTestPlatform({ DATA_DIR: dataDir });
  for (const [plate, phone] of [
    ['苏H30001', '13930000001'],
    ['苏H30002', '13930000002'],
  ] as const)
    await addVehicle(tp.platform.pool, { plate, color: 2, phone, type: 'muck_truck', department: 'jtj' });
});

test.after.always(async () => {
  await tp?.close();
  for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
});

/** A TCP proxy in front of PostgreSQL that can be cut: the database is then unreachable, as when it stops. */
async function cuttableProxy(url: string) {
  const target = new URL(url);
  const pairs = new Set<net.Socket>();
  let up = true;
  const server = net.createServer((client) => {
    if (!up) return client.destroy();
    const db = net.connect(Number(target.port), target.hostname);
    client.on('error', () => db.destroy());
    db.on('error', () => client.destroy());
    client.pipe(db).pipe(client);
    pairs.add(client).add(db);
    client.on('close', () => pairs.delete(client));
    db.on('close', () => pairs.delete(db));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((server.address() as net.AddressInfo).port);
  return {
    url: proxied.toString(),
    down() {
      up = false;
      for (const s of pairs) s.destroy();
    },
    up() {
      up = true;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function serviceBehind(proxyUrl: string, spool: { memory: number; diskMb: number }) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-spool-'));
  tmp.push(dataDir);
  const pool = new pg.Pool({ connectionString: proxyUrl, max: 2, connectionTimeoutMillis: 1000 });
  pool.on('error', () => {});
  const vehicles = await new VehicleService({
    pool,
    log,
    dataDir,
    retentionDays: 180,
    batchSize: 20,
    spoolMemoryFixes: spool.memory,
    spoolDiskMb: spool.diskMb,
    maxSpeedKmh: 180,
    writeIntervalMs: 100,
  }).start();
  const gateway = await startGateway(vehicles, { port: 0, host: '127.0.0.1', maxConnections: 10, heartbeatSeconds: 60, messagesPerSecond: 10_000, log });
  return {
    vehicles,
    gateway,
    dataDir,
    async close() {
      await gateway.close();
      await vehicles.close();
      await pool.end();
    },
  };
}

const base = Math.floor(Date.now() / 1000) * 1000 - 7200_000;
const fix = (i: number) => ({ lat: 33.5 + i * 0.0002, lon: 119.1, speedKmh: 20, time: base + i * 5000 });
const stored = async (vehicle: string) =>
  (await tp.sql.query(`SELECT count(*)::int AS n FROM vehicles.positions WHERE vehicle_id = $1`, [vehicle])).rows[0].n as number;

test.serial('the database stopped during ingest and started again: every acknowledged fix is stored, none lost', async (t) => {
  const proxy = await cuttableProxy(tp.url);
  const s = await serviceBehind(proxy.url, { memory: 40, diskMb: 16 });
  const term = await SimTerminal.connect(s.gateway.port, '13930000001');
  await term.login('苏H30001', 2);
  let acked = 0;
  for (let i = 0; i < 30; i++) if ((await term.location(fix(i))) === 0) acked++;
  await eventually(async () => (await stored('苏H30001')) === 30);

  proxy.down();
  // While it is away the gateway keeps acknowledging: memory first, then disk.
  for (let i = 30; i < 200; i++) if ((await term.location(fix(i))) === 0) acked++;
  t.is(acked, 200);
  await eventually(async () => !s.vehicles.writer.healthy);
  t.true(s.vehicles.writer.spooledBytes > 0, 'fixes went to the disk spool');
  t.true(fs.readdirSync(path.join(s.dataDir, 'spool')).length > 0);

  proxy.up();
  await eventually(async () => (await stored('苏H30001')) === 200, 20_000);
  t.is(s.vehicles.writer.stats.lost, 0);
  t.is(s.vehicles.writer.spooledBytes, 0);
  t.deepEqual(fs.readdirSync(path.join(s.dataDir, 'spool')), []);
  term.end();
  await s.close();
  await proxy.close();
});

test.serial('beyond the spool bound fixes are refused (result 1, not acknowledged) and counted as lost', async (t) => {
  const proxy = await cuttableProxy(tp.url);
  const s = await serviceBehind(proxy.url, { memory: 10, diskMb: 0 });
  const term = await SimTerminal.connect(s.gateway.port, '13930000002');
  await term.login('苏H30002', 2);
  proxy.down();
  const results: number[] = [];
  for (let i = 0; i < 30; i++) results.push(await term.location(fix(i)));
  t.deepEqual(results.slice(0, 10), Array(10).fill(0));
  t.deepEqual(results.slice(10), Array(20).fill(1));
  t.is(s.vehicles.writer.stats.lost, 20);
  proxy.up();
  await eventually(async () => (await stored('苏H30002')) === 10, 20_000);
  term.end();
  await s.close();
  await proxy.close();
});

test.serial('retention drops whole day partitions older than POSITIONS_RETENTION_DAYS and keeps the days ahead ready', async (t) => {
  const keeper = tp.platform.vehicles.keeper;
  const day = 86_400_000;
  const now = Date.UTC(2026, 5, 15, 12);
  const old = new Date(now - 200 * day);
  const kept = new Date(now - 100 * day);
  for (const at of [old, kept]) {
    await tp.sql.query(`SELECT vehicles.ensure_day('positions', $1)`, [at]);
    await tp.sql.query(
      `INSERT INTO vehicles.positions (vehicle_id, fix_time, geom, source) VALUES ('苏H30001', $1, ST_SetSRID(ST_MakePoint(119, 33.5), 4326), 'test')`,
      [at],
    );
  }
  const dropped = await keeper.run(now);
  t.true(dropped.includes(`positions_${old.toISOString().slice(0, 10).replace(/-/g, '')}`));
  t.false(dropped.some((d) => d.endsWith(kept.toISOString().slice(0, 10).replace(/-/g, ''))));
  const left = (await tp.sql.query(`SELECT fix_time FROM vehicles.positions WHERE source = 'test' ORDER BY 1`)).rows;
  t.deepEqual(left.map((r) => r.fix_time.getTime()), [kept.getTime()]);
  for (const d of [now, now + day]) {
    const name = `vehicles.positions_${new Date(d).toISOString().slice(0, 10).replace(/-/g, '')}`;
    t.truthy((await tp.sql.query(`SELECT to_regclass($1) AS r`, [name])).rows[0].r, `${name} exists ahead of time`);
  }
});

test.serial('a batch holding a fix that is already stored (a terminal resending after a lost reply) is written without it, not refused', async (t) => {
  const { PositionWriter } = await import('../tile-server/src/vehicles/store/writer.ts');
  const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-writer-'));
  tmp.push(spoolDir);
  const writer = new PositionWriter({ pool: tp.platform.pool, log, spoolDir, intervalMs: 60_000, batchSize: 1000 });
  const vehicle = '苏H30002';
  const row = (i: number) => ({
    vehicleId: vehicle, time: base + 3600_000 + i * 1000, lon: 119.2 + i * 1e-4, lat: 33.55, speedKmh: 30, course: 90, altitudeM: 10,
    source: 'test', alarm: 0, status: 3, mileageKm: null, satellites: 9, extras: null, receivedAt: Date.now(), backfill: false,
  });
  const before = await stored(vehicle);
  writer.add(row(1));
  writer.add(row(2));
  await writer.flush();
  writer.add(row(2)); // resent
  writer.add(row(3));
  await writer.flush();
  await writer.close();
  t.is(await stored(vehicle) - before, 3, 'each fix once');
  t.is(writer.stats.lost, 0);
  const { rows } = await tp.sql.query(`SELECT fix_time, ST_X(geom) AS lon FROM vehicles.latest WHERE vehicle_id = $1`, [vehicle]);
  t.is(new Date(rows[0].fix_time).getTime(), base + 3600_000 + 3000, 'the latest position is the newest fix');
  t.is(Number(rows[0].lon.toFixed(4)), 119.2003);
});
