import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import test from 'ava';
import pg from 'pg';
import { createDatabase, eventually, loadFixtures } from '../helpers/platform.ts';
import { startServerProcess, type ServerProcess } from './server.ts';

/**
 * kill -9 of the server in the middle of an import (issue 16 §7): the layer keeps its previous data whole (the
 * import's transaction died with its connections), the next start marks the job failed with a message saying
 * nothing changed, and the upload the dead process left in the temporary directory is removed.
 */
let db: Awaited<ReturnType<typeof createDatabase>>;
let sql: pg.Pool;
let key: string;
let server: ServerProcess | null = null;

test.before(async () => {
  db = await createDatabase();
  await loadFixtures(db.url);
  sql = new pg.Pool({ connectionString: db.url, max: 2 });
});
test.after.always(async () => {
  await server?.stop();
  await sql?.end();
  await db?.drop();
});

const auth = () => ({ Authorization: `Bearer ${key}` });
async function upload(base: string, csv: Buffer): Promise<number> {
  const form = new FormData();
  form.set('layer', 'kill_me');
  form.set('file', new Blob([new Uint8Array(csv)]), 'stations.csv');
  const res = await fetch(`${base}/api/imports`, { method: 'POST', headers: auth(), body: form });
  if (res.status !== 202) throw new Error(`upload: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: number }).id;
}
const job = async (base: string, id: number) => (await (await fetch(`${base}/api/imports/${id}`, { headers: auth() })).json()) as { status: string; error: string | null; progress: unknown };

test.serial('the layer keeps its data, the job is failed at the next start, the dead process’s upload is removed', async (t) => {
  server = await startServerProcess({ DATABASE_URL: db.url });
  key = execFileSync(process.execPath, ['--import', 'tsx', 'tile-server/src/cli/key.ts', 'create', '--department', 'dsj', '--rights', 'layer:read,layer:import'], {
    env: { ...process.env, DATABASE_URL: db.url },
    encoding: 'utf8',
  }).trim().split('\n').at(-1)!.trim();

  const first = await upload(server.base, Buffer.from('name,lon,lat\n淮安站,119.03,33.61\n'));
  await eventually(async () => (await job(server!.base, first)).status === 'succeeded', 30_000);

  // 600,000 rows: seconds of work, killed while it runs.
  const rows = Array.from({ length: 600_000 }, (_, i) => `点${i},${(119 + (i % 1000) / 1e4).toFixed(4)},${(33.5 + Math.floor(i / 1000) / 1e4).toFixed(4)}`);
  const second = await upload(server.base, Buffer.from(`name,lon,lat\n${rows.join('\n')}\n`));
  await eventually(async () => (await job(server!.base, second)).status === 'running', 30_000, 20);
  const pid = server.child.pid!;
  const uploads = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`citybase-upload-${pid}-`));
  t.is(uploads().length, 1, 'the upload is on disk while its job runs');
  await server.kill9();
  server = null;

  const { rows: kept } = await sql.query(`SELECT name FROM imports.kill_me`);
  t.deepEqual(kept, [{ name: '淮安站' }], 'the layer is as it was before the killed import');

  server = await startServerProcess({ DATABASE_URL: db.url });
  const after = await job(server.base, second);
  t.is(after.status, 'failed');
  t.regex(after.error!, /server stopped before this import finished; nothing was changed/);
  t.deepEqual(uploads(), [], 'the dead process’s upload was removed at the start');
  const tile = await fetch(`${server.base}/collections/kill_me/items?limit=5`, { headers: auth() });
  t.is(((await tile.json()) as { numberMatched: number }).numberMatched, 1, 'and the layer serves its old data');
});
