import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import pg from 'pg';
import supertest from 'supertest';
import { loadConfig } from '../tile-server/src/config.ts';
import { startEmbeddedCluster, startEmbeddedReplica, type EmbeddedCluster } from '../tile-server/src/db/embedded.ts';
import { parseLsn, PRIMARY_LSN_SQL, reachable } from '../tile-server/src/db/lsn.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { startPlatform, type Platform } from '../tile-server/src/platform.ts';
import { decodeTile, tileOf } from './helpers/mvt.ts';
import { binary, eventually, fixturesDir, loadFixtures, OPS, OPS_TOKEN } from './helpers/platform.ts';

/**
 * Reads from a streaming replica (issue 17 §2): a primary and a real replica made by pg_basebackup, the platform
 * reading tiles and features from the replica when it is current, from the primary when it is not — including a
 * replica that applies WAL three seconds late, which must never put an old tile in the cache or an old row in an
 * answer — and a replica that stops.
 */
let tmp: string;
let primary: EmbeddedCluster;
let replica: EmbeddedCluster;
let platform: Platform;
let http: ReturnType<typeof supertest>;
let onPrimary: pg.Pool;
let onReplica: pg.Pool;

const quiet = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '60', shared_buffers: '32MB' };

test.before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-replica-'));
  fs.chmodSync(tmp, 0o755);
  primary = await startEmbeddedCluster({ dataDir: path.join(tmp, 'primary'), settings: quiet });
  await loadFixtures(primary.url);
  replica = await startEmbeddedReplica({ primary, dataDir: path.join(tmp, 'replica'), settings: quiet });
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DB_POOL_MAX: '6',
    METRICS_TOKEN: OPS_TOKEN,
    LAYERS_DIR: path.join(fixturesDir, 'layers'),
    LOAD_SAMPLES: 'false',
    JT808_PORT: '0',
    DATABASE_REPLICA_URLS: replica.url,
    REPLICA_POLL_MS: '50',
    REPLICA_MAX_LAG_MS: '1500',
  });
  platform = await startPlatform(config, primary.url, createLogger('silent'));
  http = supertest(platform.app.callback());
  onPrimary = new pg.Pool({ connectionString: primary.url, max: 2 });
  onReplica = new pg.Pool({ connectionString: replica.url, max: 2 });
  onReplica.on('error', () => {}); // its connections end when the replica is stopped
  onPrimary.on('error', () => {});
});
test.after.always(async () => {
  await onPrimary?.end();
  await onReplica?.end();
  await platform?.close();
  await replica?.stop();
  await primary?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Reads served by the primary and by the replica so far (citybase_db_reads_total). */
async function reads(): Promise<{ primary: number; replica: number }> {
  const text = (await http.get('/metrics').set(OPS)).text;
  const count = (target: string) => Number(new RegExp(`citybase_db_reads_total\\{target="${target}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  return { primary: count('primary'), replica: count('replica') };
}

async function replicaState(): Promise<string> {
  const res = await http.get('/health').set(OPS);
  return res.body.replicas[0].state as string;
}

async function setApplyDelay(delay: string | null): Promise<void> {
  await onReplica.query(delay === null ? 'ALTER SYSTEM RESET recovery_min_apply_delay' : `ALTER SYSTEM SET recovery_min_apply_delay = '${delay}'`);
  await onReplica.query('SELECT pg_reload_conf()');
}

const tile = async (z: number, x: number, y: number) =>
  decodeTile((await http.get(`/tiles/fx_points/${z}/${x}/${y}.mvt`).buffer().parse(binary).expect(200)).body as Buffer, z, x, y);

test.serial('reads go to the replica while it is current, and /health shows it in the rotation', async (t) => {
  // Current: in the rotation, and replayed everything the primary wrote while the platform started (its
  // triggers, its lease); until then reads rightly go to the primary.
  await eventually(async () => {
    const { lsn } = (await onPrimary.query<{ lsn: string }>(PRIMARY_LSN_SQL)).rows[0]!;
    const [status] = (await http.get('/health').set(OPS)).body.replicas;
    return status.state === 'up' && BigInt(status.replayed ?? -1) >= reachable(parseLsn(lsn)!);
  });
  const before = await reads();
  for (let i = 0; i < 5; i++) await http.get('/collections/fx_points/items?limit=3').expect(200);
  const { z, x, y } = tileOf(119.0, 33.55, 14);
  t.true((await tile(z, x, y)).fx_points!.length > 0);
  const after = await reads();
  t.true(after.replica - before.replica >= 5, `replica reads: ${after.replica - before.replica}`);
});

test.serial('a replica that applies WAL 3 s late never serves an old tile or an old row: reads move to the primary until it has replayed the change', async (t) => {
  await setApplyDelay('3s');
  const lon = 119.101;
  const lat = 33.6013;
  const { z, x, y } = tileOf(lon, lat, 16);
  const before = (await tile(z, x, y)).fx_points!.length; // cached now, read from the current replica
  await onPrimary.query(
    `INSERT INTO fixtures.points (id, name, kind, value, flag, geom) VALUES (900001, 'late', 'a', 1, true, ST_SetSRID(ST_MakePoint($1, $2), 4326))`,
    [lon, lat],
  );
  const beforeReads = await reads();
  const after = await tile(z, x, y);
  t.is(after.fx_points!.length, before + 1, 'the next tile has the new point');
  const items = await http.get(`/collections/fx_points/items?bbox=${lon - 0.0005},${lat - 0.0005},${lon + 0.0005},${lat + 0.0005}`).expect(200);
  t.true(items.body.features.some((f: { id: number }) => f.id === 900001), 'and so do the items');
  // The replica really is behind: had either come from it, the point would be missing.
  const { rows } = await onReplica.query('SELECT count(*)::int AS n FROM fixtures.points WHERE id = 900001');
  t.is(rows[0].n, 0, 'the replica has not applied the insert yet');
  const afterReads = await reads();
  t.true(afterReads.primary > beforeReads.primary, 'the primary answered');
  // Past the lag limit the replica leaves the rotation, and comes back once it has caught up.
  t.is(await eventually(async () => ((await replicaState()) === 'lagging' ? 'lagging' : false), 5000, 50), 'lagging');
  await setApplyDelay(null);
  await eventually(async () => (await replicaState()) === 'up', 10_000);
  const r0 = await reads();
  t.is((await tile(z, x, y)).fx_points!.length, before + 1, 'the cached tile is the new one');
  await http.get(`/collections/fx_points/items/900001`).expect(200);
  t.true((await reads()).replica > r0.replica, 'reads are back on the replica');
});

test.serial('read-your-writes: a write answers with its WAL position, and a read carrying a position the replica has not reached goes to the primary', async (t) => {
  const before = parseLsn((await onPrimary.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l)!;
  // A write through the API (a failed sign-in is recorded in the audit trail, and answered 401: no position)…
  const probe = await http.post('/query').send({ layers: ['fx_points'], geometry: { type: 'Point', coordinates: [119, 33.55] }, buffer: 50 });
  t.is(probe.status, 200);
  const carried = parseLsn(probe.headers['x-citybase-lsn'] as string);
  t.truthy(carried, 'a POST answers with X-CityBase-LSN');
  t.true(carried! >= before);
  t.regex(String(probe.headers['set-cookie']), /citybase_lsn=[0-9A-F]+%2F[0-9A-F]+|citybase_lsn=[0-9A-F]+\/[0-9A-F]+/);
  // A position from the future (as another instance's write might carry, not yet replayed here): the primary answers.
  const r0 = await reads();
  await http.get('/collections/fx_points/items?limit=1').set('X-CityBase-LSN', 'FFFF/0').expect(200);
  const r1 = await reads();
  t.is(r1.replica, r0.replica);
  t.true(r1.primary > r0.primary);
  // A position it has reached: the replica may answer; a malformed one is ignored, not an error.
  await http.get('/collections/fx_points/items?limit=1').set('X-CityBase-LSN', 'not-an-lsn').expect(200);
});

test.serial('the replica stops: reads move to the primary without an error, and /health says it is down', async (t) => {
  await replica.stop();
  for (let i = 0; i < 3; i++) await http.get('/collections/fx_points/items?limit=2').expect(200);
  const { z, x, y } = tileOf(119.05, 33.65, 15);
  t.true((await tile(z, x, y)).fx_points!.length > 0);
  t.is(await replicaState(), 'down');
});
