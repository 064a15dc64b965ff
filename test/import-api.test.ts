import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { pino } from 'pino';
import { eventually, OPS, startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { makeZip, tempDir, writeShapes } from './fixtures/import/helpers.ts';

/**
 * The HTTP import API (issue 15 §6): every option is checked before an upload is accepted (400, no job), and a job
 * that fails is logged with its reason and counted in /metrics. The failing upload is the township file whose .prj
 * lies (geographic Xian 1980 over projected metres), written here.
 */
let p: TestPlatform;
let dir: string;
let key: string;
const logged: Array<Record<string, unknown>> = [];

test.before(async () => {
  const log = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });
  p = await startTestPlatform({}, { log });
  dir = tempDir();
  key = (await p.platform.keys.create('dsj', 'import api test', ['layer:read', 'layer:import'])).key;
});
test.after.always(async () => {
  await p?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const csv = Buffer.from('name,lon,lat\n淮安站,119.03,33.61\n');
async function submit(file: Buffer, name: string, fields: Record<string, string>) {
  let req = p.http.post('/api/imports').set({ Authorization: `Bearer ${key}` });
  for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
  return req.attach('file', file, name);
}
const jobs = async () => (await p.sql.query(`SELECT count(*)::int AS n FROM citybase.import_jobs`)).rows[0].n as number;

test.serial('bad options are 400s naming the option, before any job exists', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ layer: 'stations', srs: 'EPSG:4549x' }, /--srs "EPSG:4549x" is not understood/],
    [{ layer: 'stations', srs: 'EPSG:999999' }, /EPSG:999999 is not a coordinate system PostGIS knows/],
    [{ layer: 'stations', encoding: 'klingon' }, /unknown encoding "klingon"/],
    [{ layer: 'stations', timezone: 'Mars/Olympus' }, /unknown time zone "Mars\/Olympus"/],
    [{ layer: 'stations', geometry: 'both' }, /geometry/],
    [{ layer: 'stations', mode: 'merge' }, /mode/],
    [{ layer: 'stations', maxRejected: 'many' }, /maxRejected/],
    [{ vehicle: '苏H12345', srs: 'EPSG:4549' }, /vehicle tracks are read in degrees/],
  ];
  for (const [fields, message] of cases) {
    const res = await submit(csv, 'stations.csv', fields);
    t.is(res.status, 400, JSON.stringify(fields));
    t.is(res.body.error, 'invalid_request');
    t.regex(res.body.message, message);
  }
  t.is(await jobs(), 0, 'no job for a refused upload');
  const ok = await submit(csv, 'stations.csv', { layer: 'stations', srs: 'gcj02', encoding: 'utf-8' });
  t.is(ok.status, 202);
});

test.serial('a failed job is logged with its reason (pino) and counted in /metrics', async (t) => {
  const before = await p.http.get('/metrics');
  t.notRegex(before.text, /citybase_import_jobs_failed_total\{kind="unknown_crs"\} [1-9]/);
  const xian = 'GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]';
  const shp = writeShapes(dir, 'towns', { type: 1, shapes: [[[[408613, 3720871]]], [[[409613, 3721871]]]], fields: [{ name: '名称', values: ['一村', '二村'] }], encoding: 'gbk', ldid: 0x4d, prj: xian });
  const zip = makeZip(['shp', 'shx', 'dbf', 'prj'].map((e) => ({ name: `towns.${e}`, data: fs.readFileSync(path.join(path.dirname(shp), `towns.${e}`)) })));
  const res = await submit(zip, 'towns.zip', { layer: 'towns' });
  t.is(res.status, 202);
  const job = await eventually(async () => {
    const r = await p.http.get(`/api/imports/${res.body.id}`).set({ Authorization: `Bearer ${key}` });
    return r.body.status === 'failed' ? r.body : undefined;
  }, 30_000);
  t.regex(job.error, /--srs EPSG:4549/);
  const entry = await eventually(async () => logged.find((l) => l.msg === 'import job failed' && l.job === res.body.id));
  t.like(entry, { level: 40, department: 'dsj', file: 'towns.zip', kind: 'unknown_crs', reason: job.error });
  const metrics = await p.http.get('/metrics').set(OPS);
  t.regex(metrics.text, /citybase_import_jobs_failed_total\{kind="unknown_crs"\} 1/);
});
