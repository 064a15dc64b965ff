import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import pg from 'pg';
import { createDatabase, loadFixtures, root } from './helpers/platform.ts';

const exec = promisify(execFile);
let db: Awaited<ReturnType<typeof createDatabase>>;
let sql: pg.Pool;
let dir: string;

test.before(async () => {
  db = await createDatabase();
  await loadFixtures(db.url);
  sql = new pg.Pool({ connectionString: db.url, max: 2 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-vcli-'));
});
test.after.always(async () => {
  await sql?.end();
  await db?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function vehicle(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await exec(process.execPath, ['--import', 'tsx', 'tile-server/src/cli/vehicle.ts', ...args], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: db.url },
    });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}

test.serial('npm run vehicle -- add registers a vehicle and its terminal (phone normalised)', async (t) => {
  const r = await vehicle('add', '--plate', '苏H12345', '--color', '2', '--phone', '013912345678', '--type', 'muck_truck', '--department', 'jtj');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /vehicle 苏H12345 \(colour 2, muck_truck, jtj\) with terminal 13912345678/);
  const row = (await sql.query(`SELECT v.vehicle_type, v.plate_color, t.phone FROM vehicles.vehicles v JOIN vehicles.terminals t ON t.vehicle_id = v.id`)).rows;
  t.deepEqual(row, [{ vehicle_type: 'muck_truck', plate_color: 2, phone: '13912345678' }]);
  const list = await vehicle('list');
  t.regex(list.out, /苏H12345/);
});

test.serial('bad options exit 2 with usage; a refused vehicle exits 1 naming the problem', async (t) => {
  const missing = await vehicle('add', '--plate', '苏H1');
  t.is(missing.code, 2);
  t.regex(missing.err, /missing --color, --phone, --department/);
  const badType = await vehicle('add', '--plate', '苏H2', '--color', '2', '--phone', '13900000002', '--type', 'tank', '--department', 'jtj');
  t.is(badType.code, 1);
  t.regex(badType.err, /type "tank" is not one of muck_truck/);
  const taken = await vehicle('add', '--plate', '苏H3', '--color', '2', '--phone', '13912345678', '--department', 'jtj');
  t.is(taken.code, 1);
  t.regex(taken.err, /terminal 13912345678 already belongs to 苏H12345/);
});

test.serial('a CSV of vehicles loads whole or not at all', async (t) => {
  const good = path.join(dir, 'good.csv');
  fs.writeFileSync(good, '车牌号,车牌颜色,终端手机号,车辆类型,企业\n苏H50001,2,13950000001,bus,淮安公交\n苏H50002,1,13950000002,school_bus,\n');
  const r = await vehicle('import', good, '--department', 'jtj');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /2 vehicles imported/);
  const bad = path.join(dir, 'bad.csv');
  fs.writeFileSync(bad, 'plate,color,phone,department\n苏H50003,2,13950000003,jtj\n苏H50004,2,notaphone,jtj\n');
  const b = await vehicle('import', bad);
  t.is(b.code, 1);
  t.regex(b.err, /line 3: terminal phone "notaphone" is not 1–20 digits/);
  const plates = (await sql.query(`SELECT id, company FROM vehicles.vehicles WHERE id LIKE '苏H5%' ORDER BY id`)).rows;
  t.deepEqual(plates, [
    { id: '苏H50001', company: '淮安公交' },
    { id: '苏H50002', company: null },
  ]);
});
