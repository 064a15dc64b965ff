import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedCluster, type EmbeddedCluster } from '../tile-server/src/db/embedded.ts';

// 0755: when the tests run as root, the server runs as the postgres OS user and must traverse it.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-embedded-test-'));
fs.chmodSync(tmp, 0o755);
const dataDir = path.join(tmp, 'pg');
const settings = { fsync: 'off', synchronous_commit: 'off' };
const clusters: EmbeddedCluster[] = [];
let cluster: EmbeddedCluster;

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

test.after.always(async () => {
  for (const c of clusters) await c.stop().catch(() => {});
  fs.rmSync(tmp, { recursive: true, force: true });
});

test.serial('initialises a PostGIS cluster reachable over TCP', async (t) => {
  cluster = await startEmbeddedCluster({ dataDir, settings });
  clusters.push(cluster);
  t.is(cluster.dataDir, dataDir);
  t.regex(cluster.url, new RegExp(`^postgres://citybase:[^@]+@127\\.0\\.0\\.1:${cluster.port}/citybase$`));
  const [row] = await query<{ v: string }>(cluster.url, 'SELECT postgis_version() AS v');
  t.regex(row?.v ?? '', /^3\./);
  const [su] = await query<{ s: boolean }>(cluster.url, `SELECT rolsuper AS s FROM pg_roles WHERE rolname = current_user`);
  t.true(su?.s);
  const [fsync] = await query<{ fsync: string }>(cluster.url, 'SHOW fsync');
  t.is(fsync?.fsync, 'off');
});

test.serial('password file is private and required', async (t) => {
  const pwFile = path.join(tmp, 'pg.password');
  t.is(fs.statSync(pwFile).mode & 0o777, 0o600);
  t.true(cluster.url.includes(encodeURIComponent(fs.readFileSync(pwFile, 'utf8').trim())));
  const wrong = new URL(cluster.url);
  wrong.password = 'not-the-password';
  const err = await t.throwsAsync(query(wrong.href, 'SELECT 1'));
  t.is((err as Error & { code?: string }).code, '28P01');
});

test.serial('a second start on a running cluster reuses it', async (t) => {
  const again = await startEmbeddedCluster({ dataDir, settings });
  clusters.push(again);
  t.is(again.port, cluster.port);
  t.is(again.url, cluster.url);
});

test.serial('stop() then start() keeps the data', async (t) => {
  await query(cluster.url, 'CREATE TABLE kept (id int); INSERT INTO kept VALUES (42)');
  const port = cluster.port;
  await cluster.stop();
  await t.throwsAsync(query(cluster.url, 'SELECT 1'));
  await cluster.stop(); // idempotent
  await cluster.start();
  t.is(cluster.port, port);
  t.deepEqual(await query(cluster.url, 'SELECT id FROM kept'), [{ id: 42 }]);
});

test.serial('a stale postmaster.pid does not block start()', async (t) => {
  await cluster.stop();
  const dead = spawnSync(process.execPath, ['-e', '0']).pid; // exited, so its PID is (almost surely) unused
  const pidFile = path.join(dataDir, 'postmaster.pid');
  fs.writeFileSync(pidFile, `${dead}\n${dataDir}\n0\n${cluster.port}\n\n127.0.0.1\n0 0\nready\n`, { mode: 0o644 });
  await cluster.start();
  t.deepEqual(await query(cluster.url, 'SELECT id FROM kept'), [{ id: 42 }]);
  t.not(fs.readFileSync(pidFile, 'utf8').split('\n')[0], String(dead));
});

test.serial('start() picks a new port when the old one is taken', async (t) => {
  await cluster.stop();
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(cluster.port, '127.0.0.1', resolve));
  try {
    const old = cluster.port;
    await cluster.start();
    t.not(cluster.port, old);
    t.deepEqual(await query(cluster.url, 'SELECT id FROM kept'), [{ id: 42 }]);
  } finally {
    blocker.close();
  }
});

test.serial('stop() is idempotent across cluster handles', async (t) => {
  await cluster.stop();
  await t.notThrowsAsync(cluster.stop());
  await t.notThrowsAsync(clusters[1]!.stop());
});
