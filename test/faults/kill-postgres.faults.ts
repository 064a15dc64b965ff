import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import pg from 'pg';
import { startEmbeddedCluster, type EmbeddedCluster } from '../../tile-server/src/db/embedded.ts';
import { eventually, loadFixtures } from '../helpers/platform.ts';
import { tileOf } from '../helpers/mvt.ts';
import { startServerProcess, type ServerProcess } from './server.ts';

/**
 * kill -9 of PostgreSQL under load (issue 16 §7): eight clients fetch tiles and items from the server (its own
 * process, tile cache on) while the postmaster is killed and its supervisor brings it back. What must hold: every
 * request is answered (no hang), only with 200/204 or 503 JSON (never a 500), the server lives on, answers 200
 * again once PostgreSQL is back, and a change made after the outage shows in the next tile (no stale cache).
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-kill-pg-'));
fs.chmodSync(tmp, 0o755);
let cluster: EmbeddedCluster;
let server: ServerProcess;

test.before(async () => {
  cluster = await startEmbeddedCluster({ dataDir: path.join(tmp, 'pg'), settings: { fsync: 'off' } });
  cluster.supervise(200);
  await loadFixtures(cluster.url);
  server = await startServerProcess({ DATABASE_URL: cluster.url, DB_POOL_MAX: '8' });
});
test.afterEach.always((t) => {
  if (!t.passed) t.log(server?.output().split('\n').filter((l) => !l.includes('"level":30')).slice(-30).join('\n'));
});
test.after.always(async () => {
  await server?.stop();
  await cluster?.stop().catch(() => {});
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('every request is answered 200/204 or 503 JSON through the outage; afterwards tiles are fresh', async (t) => {
  const paths: string[] = [];
  for (let i = 0; i < 40; i++) {
    const { z, x, y } = tileOf(119.0 + (i % 8) * 0.01, 33.55 + Math.floor(i / 8) * 0.01, 14);
    paths.push(`/tiles/fx_points/${z}/${x}/${y}.mvt`, `/collections/fx_points/items?limit=20&offset=${i}`);
  }
  const statuses = new Map<string, number>();
  const problems: string[] = [];
  let stop = false;
  const client = async (n: number) => {
    for (let i = n; !stop; i += 8) {
      const p = paths[i % paths.length]!;
      try {
        const res = await fetch(`${server.base}${p}`, { signal: AbortSignal.timeout(20_000) });
        const body = Buffer.from(await res.arrayBuffer());
        statuses.set(String(res.status), (statuses.get(String(res.status)) ?? 0) + 1);
        if (res.status >= 500) {
          const json = JSON.parse(body.toString('utf8')) as { error: string };
          if (res.status !== 503) problems.push(`${p}: ${res.status} ${json.error}`);
        }
      } catch (err) {
        problems.push(`${p}: ${(err as Error).name} ${(err as Error).message}`);
      }
    }
  };
  const clients = Array.from({ length: 8 }, (_, n) => client(n));
  await new Promise((r) => setTimeout(r, 1500));
  const pid = Number(fs.readFileSync(path.join(tmp, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  process.kill(pid, 'SIGKILL');
  await eventually(async () => (statuses.get('503') ?? 0) > 0, 20_000, 50).catch((err: Error) => {
    t.log(JSON.stringify(Object.fromEntries(statuses)), problems.slice(0, 5), server.output().slice(-3000));
    throw err;
  });
  // The supervisor restarts it; the server's /health says so.
  await eventually(async () => (await fetch(`${server.base}/health`)).status === 200, 60_000, 250);
  await new Promise((r) => setTimeout(r, 1500));
  stop = true;
  await Promise.all(clients);
  t.log(`answers: ${JSON.stringify(Object.fromEntries(statuses))}`);
  t.deepEqual(problems, [], 'no hang, no error other than 503');
  t.true((statuses.get('503') ?? 0) > 0, 'the outage was seen');
  t.true((statuses.get('200') ?? 0) > 0);
  t.is(server.child.exitCode, null, 'the server lived through it');

  // Freshness after the outage: a point renamed now shows in the very next tile.
  const sql = new pg.Client({ connectionString: cluster.url });
  await sql.connect();
  try {
    const { rows } = await sql.query<{ id: number; lon: number; lat: number }>(`SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM fixtures.points ORDER BY id LIMIT 1`);
    const { z, x, y } = tileOf(rows[0]!.lon, rows[0]!.lat, 14);
    const tile = () => fetch(`${server.base}/tiles/fx_points/${z}/${x}/${y}.mvt`).then(async (r) => Buffer.from(await r.arrayBuffer()).toString('latin1'));
    await tile(); // cached now
    await sql.query(`UPDATE fixtures.points SET name = 'after-the-outage' WHERE id = $1`, [rows[0]!.id]);
    t.true((await tile()).includes('after-the-outage'), 'the change is in the next tile');
  } finally {
    await sql.end();
  }
});
