// The embedded cluster (issue 16 §1): a second server on the same data directory attaches without owning it
// (so stopping that server leaves the cluster running), and the owner restarts a postmaster that was killed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import pg from 'pg';
import { startEmbeddedCluster, type EmbeddedCluster } from '../tile-server/src/db/embedded.ts';
import { eventually, fixturesDir, root } from './helpers/platform.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-supervision-test-'));
fs.chmodSync(tmp, 0o755); // as root the server runs as the postgres OS user, which must traverse it
let cluster: EmbeddedCluster;
const messages: string[] = [];

test.before(async () => {
  cluster = await startEmbeddedCluster({ dataDir: path.join(tmp, 'pg'), settings: { fsync: 'off' }, log: (m) => messages.push(m) });
  cluster.supervise(200);
});
test.after.always(async () => {
  await cluster?.stop().catch(() => {});
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function answers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return (await c.query('SELECT 1 AS one')).rows[0].one === 1;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

test.serial('a second server on the same DATA_DIR attaches without owning the cluster; stopping it leaves the cluster running', async (t) => {
  t.true(cluster.status().owner);
  const second = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'tile-server/src/main.ts')], {
    cwd: root,
    env: { ...process.env, DATA_DIR: tmp, PORT: '0', HOST: '127.0.0.1', LOAD_SAMPLES: 'false', LAYERS_DIR: path.join(fixturesDir, 'layers'), LOG_LEVEL: 'info', DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  second.stdout.on('data', (c: Buffer) => (out += c));
  second.stderr.on('data', (c: Buffer) => (out += c));
  await eventually(async () => out.includes('CityBase is up') || second.exitCode !== null, 90_000, 200);
  t.regex(out, /attaches and leaves it running/, out.slice(-2000));
  second.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
  t.is(code, 0);
  t.false(out.includes('stopping PostgreSQL'));
  t.true(await answers(cluster.url), 'the first server’s cluster still answers');
  t.true(cluster.status().owner);
});

test.serial('a postmaster killed with SIGKILL is restarted by its owner on the same port, and says so', async (t) => {
  const port = cluster.port;
  const pid = Number(fs.readFileSync(path.join(tmp, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  process.kill(pid, 'SIGKILL');
  await eventually(async () => cluster.status().state !== 'running', 10_000, 50).catch(() => undefined);
  await eventually(() => answers(cluster.url), 60_000, 250);
  t.is(cluster.port, port);
  await eventually(async () => cluster.status().state === 'running' && cluster.status().restarts >= 1, 10_000, 100);
  t.true(messages.some((m) => /is not running: restarting it \(try 1 of 10\)/.test(m)), messages.join('\n'));
  t.true(messages.some((m) => /PostgreSQL restarted on 127\.0\.0\.1/.test(m)));
});
