// The database going away and coming back: a private embedded cluster (not the shared test cluster) is stopped
// and started under a running platform. The tests run in order: each one is a step of the same outage.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import supertest from 'supertest';
import { loadConfig } from '../tile-server/src/config.ts';
import { startEmbeddedCluster, type EmbeddedCluster } from '../tile-server/src/db/embedded.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { startPlatform, type Platform } from '../tile-server/src/platform.ts';
import { binary, eventually, fixturesDir, loadFixtures, OPS, OPS_TOKEN } from './helpers/platform.ts';
import { decodeTile, tileOf } from './helpers/mvt.ts';

// 0755: when the tests run as root, the server runs as the postgres OS user and must traverse it.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-health-test-'));
fs.chmodSync(tmp, 0o755);

let cluster: EmbeddedCluster;
let platform: Platform;
let http: ReturnType<typeof supertest>;
let sql: pg.Pool; // the test's own connections, as a department's GIS staff would make changes
let portBefore: number;

/** A z14 tile in the fixture point grid, and one of its points. */
const here = tileOf(119.05, 33.6, 14);
const tileUrl = `/tiles/fx_points/${here.z}/${here.x}/${here.y}.mvt`;

test.before(async () => {
  cluster = await startEmbeddedCluster({ dataDir: path.join(tmp, 'pg'), settings: { fsync: 'off' } });
  await loadFixtures(cluster.url);
  const config = loadConfig({ LOG_LEVEL: 'silent', LAYERS_DIR: path.join(fixturesDir, 'layers'), CONTRIB_POLL_MS: '500', DB_POOL_MAX: '4', METRICS_TOKEN: OPS_TOKEN });
  platform = await startPlatform(config, cluster.url, createLogger('silent'));
  http = supertest(platform.app.callback());
  // Short-lived connections: an idle one would only die with the server.
  sql = new pg.Pool({ connectionString: cluster.url, max: 2, idleTimeoutMillis: 100 });
  sql.on('error', () => {});
});

test.after.always(async () => {
  await sql?.end().catch(() => {});
  await platform?.close().catch(() => {});
  await cluster?.stop().catch(() => {});
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  const value = await f();
  return { value, ms: Date.now() - start };
}

/** Names of the fixture points drawn inside the tile (not in its buffer). */
async function namesInTile(): Promise<string[]> {
  const res = await http.get(tileUrl).buffer(true).parse(binary);
  if (res.status !== 200) throw new Error(`${tileUrl} answered ${res.status}`);
  return (decodeTile(res.body as Buffer, here.z, here.x, here.y).fx_points ?? [])
    .filter((f) => f.firstVertex.x >= 0 && f.firstVertex.x < 4096 && f.firstVertex.y >= 0 && f.firstVertex.y < 4096)
    .map((f) => String(f.properties.name));
}

/** A fixture point inside the tile, found with the database's own view of the tile. */
async function pointInTile(): Promise<number> {
  const { rows } = await sql.query<{ id: number }>(
    `SELECT id FROM fixtures.points WHERE ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3)) ORDER BY id LIMIT 1`,
    [here.z, here.x, here.y],
  );
  return rows[0]!.id;
}

test.serial('/health is 200 with the database up, its PostGIS version and the change listener listening', async (t) => {
  const res = await http.get('/health').set(OPS);
  t.is(res.status, 200);
  t.regex(res.headers['content-type'] ?? '', /^application\/json/);
  t.is(res.headers['cache-control'], 'no-store');
  t.is(res.body.status, 'ok');
  t.is(res.body.database.status, 'up');
  t.regex(res.body.database.postgis, /^3\.\d+/);
  t.is(res.body.changeListener, 'listening');
  t.true(res.body.tileCache.active);
  t.true(res.body.layers >= 5);
  t.deepEqual(res.body.unavailableLayers, {});
  t.true((await namesInTile()).length > 0);
  t.truthy(platform.cache.get(`fx_points/${here.z}/${here.x}/${here.y}`), 'the tile is held in memory');
});

test.serial('when the database stops, /health answers 503 JSON "unavailable" within 5 s', async (t) => {
  portBefore = cluster.port;
  await cluster.stop();
  const { value: res, ms } = await timed(() => http.get('/health').set(OPS));
  t.true(ms < 5_000, `${ms} ms`);
  t.is(res.status, 503);
  t.regex(res.headers['content-type'] ?? '', /^application\/json/);
  t.is(res.body.status, 'unavailable');
  t.is(res.body.database.status, 'down');
  t.is(typeof res.body.database.error, 'string');
  t.false(res.body.database.error.includes('\n'));
});

test.serial('while the database is down, the change listener reports reconnecting and the tile cache is off', async (t) => {
  const body = await eventually(async () => {
    const res = await http.get('/health').set(OPS);
    return res.body.changeListener === 'reconnecting' && res.body;
  }, 5_000);
  t.false(body.tileCache.active);
  t.is(body.tileCache.entries, 0);
  t.false(platform.cache.active);
});

test.serial('while the database is down, tile requests answer 5xx JSON promptly (no hang, no crash, no stale tile)', async (t) => {
  for (const url of [tileUrl, `/tiles/fx_parcels/14/13676/6526.mvt`, `/tiles/fx_points,fx_view/12/3418/1631.mvt`]) {
    const { value: res, ms } = await timed(() => http.get(url));
    t.true(ms < 5_000, `${url}: ${ms} ms`);
    t.true(res.status >= 500 && res.status < 600, `${url}: ${res.status}`);
    t.regex(res.headers['content-type'] ?? '', /^application\/json/);
    t.deepEqual(Object.keys(res.body).sort(), ['error', 'message']);
    t.false(JSON.stringify(res.body).includes('ECONNREFUSED'), 'details stay in the log');
  }
  // Requests that need no database still work.
  t.is((await http.get('/metrics').set(OPS)).status, 200);
  t.is((await http.get('/tiles/fx_points/99/0/0.mvt')).status, 400);
});

test.serial('the cluster restarts on the same port, so the platform’s database URL is still right', async (t) => {
  await cluster.start();
  t.is(cluster.port, portBefore);
});

test.serial('after the database comes back, /health is 200 again within 10 s and the change listener reconnects', async (t) => {
  const up = await eventually(async () => {
    const res = await http.get('/health').set(OPS);
    return res.status === 200 && res.body;
  }, 10_000);
  t.is(up.database.status, 'up');
  const body = await eventually(async () => {
    const res = await http.get('/health').set(OPS);
    return res.body.changeListener === 'listening' && res.body;
  }, 10_000);
  t.is(body.status, 'ok');
  t.true(body.tileCache.active);
});

test.serial('after the reconnect, tiles are served and cached again, and a change evicts them (the next fetch shows it)', async (t) => {
  const before = await namesInTile();
  t.true(before.length > 0);
  t.truthy(platform.cache.get(`fx_points/${here.z}/${here.x}/${here.y}`), 'cached again');
  const id = await pointInTile();
  await sql.query(`UPDATE fixtures.points SET name = 'after-restart' WHERE id = $1`, [id]);
  const after = await namesInTile();
  t.true(after.includes('after-restart'), JSON.stringify(after));
  t.is(after.length, before.length);
});

test.serial('a change made while the change listener was cut off is not hidden by the cache once it is back', async (t) => {
  t.true((await namesInTile()).length > 0); // cached
  const listener = async () =>
    (await sql.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'citybase-listener'`)).rows.map((r) => r.pid);
  const [old] = await listener();
  t.truthy(old);
  await sql.query(`SELECT pg_terminate_backend($1)`, [old]);
  const id = await pointInTile();
  await sql.query(`UPDATE fixtures.points SET name = 'while-deaf' WHERE id = $1`, [id]);
  await eventually(async () => {
    const pids = await listener();
    return pids.length === 1 && pids[0] !== old && platform.listener.listening;
  });
  t.true((await namesInTile()).includes('while-deaf'));
});

test.serial('after the reconnect, contrib tables are published again by the event trigger', async (t) => {
  await sql.query(`CREATE TABLE contrib.after_outage (id serial PRIMARY KEY, geom geometry(Point, 4326))`);
  await sql.query(`INSERT INTO contrib.after_outage (geom) VALUES (ST_SetSRID(ST_MakePoint(119.05, 33.6), 4326))`);
  await eventually(async () => platform.registry.get('after_outage') !== undefined).catch(() => undefined);
  const { key } = await platform.keys.create('dsj', 'health test');
  const { z, x, y } = tileOf(119.05, 33.6, 14);
  const res = await http.get(`/tiles/after_outage/${z}/${x}/${y}.mvt?key=${key}`).set('Accept-Encoding', 'identity').buffer(true).parse(binary);
  t.is(res.status, 200);
  t.is(decodeTile(res.body as Buffer, z, x, y).after_outage?.length, 1);
});
