import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createDatabase, loadFixtures } from '../helpers/platform.ts';
import { startServerProcess, type ServerProcess } from './server.ts';

/**
 * A full disk under uploads (issue 16 §7): the server's temporary directory is a 2 MB tmpfs. An upload that
 * does not fit is refused with a JSON error saying so (507), leaves nothing behind, and the server goes on:
 * /health is 200 and a small import still works.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-diskfull-'));
let server: ServerProcess;
let db: Awaited<ReturnType<typeof createDatabase>>;
let key: string;

test.before(async () => {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=1777', 'tmpfs', tmp]);
  db = await createDatabase();
  await loadFixtures(db.url);
  server = await startServerProcess({ DATABASE_URL: db.url, TMPDIR: tmp, IMPORT_MAX_MB: '50' });
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'tile-server/src/cli/key.ts', 'create', '--department', 'dsj', '--rights', 'layer:read,layer:import', '--label', 'disk full'], {
    env: { ...process.env, DATABASE_URL: db.url },
    encoding: 'utf8',
  });
  key = out.trim().split('\n').at(-1)!.trim();
});
test.afterEach.always((t) => {
  if (!t.passed) t.log(server?.output().slice(-3000));
});
test.after.always(async () => {
  await server?.stop();
  await db?.drop();
  try {
    execFileSync('umount', [tmp]);
  } catch {}
  fs.rmSync(tmp, { recursive: true, force: true });
});

const upload = (name: string, data: Buffer) => {
  const form = new FormData();
  form.set('layer', name);
  form.set('file', new Blob([new Uint8Array(data)]), `${name}.csv`);
  return fetch(`${server.base}/api/imports`, { method: 'POST', headers: { Authorization: `Bearer ${key}` }, body: form });
};

test.serial('an upload larger than the free space is refused with 507 and a message; nothing is left in the directory', async (t) => {
  const big = Buffer.from(`name,lon,lat\n${'淮安站,119.03,33.61\n'.repeat(250_000)}`); // ~6 MB
  const res = await upload('too_big', big);
  t.is(res.status, 507, await res.clone().text());
  const body = (await res.json()) as { error: string; message: string };
  t.is(body.error, 'insufficient_storage');
  t.regex(body.message, /no space left for the upload/);
  t.deepEqual(fs.readdirSync(tmp).filter((n) => n.startsWith('citybase-upload-')), [], 'the partial file is removed');
});

test.serial('the server goes on: /health is 200 and an upload that fits is imported', async (t) => {
  t.is((await fetch(`${server.base}/health`)).status, 200);
  const res = await upload('fits', Buffer.from('name,lon,lat\n淮安站,119.03,33.61\n'));
  t.is(res.status, 202);
  const { id } = (await res.json()) as { id: number };
  let status = '';
  for (let i = 0; i < 100 && !['succeeded', 'failed'].includes(status); i++) {
    await new Promise((r) => setTimeout(r, 200));
    status = ((await (await fetch(`${server.base}/api/imports/${id}`, { headers: { Authorization: `Bearer ${key}` } })).json()) as { status: string }).status;
  }
  t.is(status, 'succeeded');
});
