import test from 'ava';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createHttpServer } from '../tile-server/src/http-server.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { shutdown } from '../tile-server/src/platform.ts';
import { addVehicle } from '../tile-server/src/vehicles/fleet.ts';
import { startGateway } from '../tile-server/src/vehicles/gateway/gateway.ts';
import { SimTerminal } from './helpers/jt808-terminal.ts';
import { decodeTile, tileOf } from './helpers/mvt.ts';
import { binary, eventually, startInstance, startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { createUser, GOOD_PASSWORD } from './helpers/identity.ts';

/**
 * Several server instances on one database (issue 17 §1): what one instance does, the next request to another
 * sees — sessions and their end, keys and their revocation, an import's progress and its data in tiles — and work
 * an instance owns is failed only when that instance is gone.
 */
let a: TestPlatform;
let b: Awaited<ReturnType<typeof startInstance>>;

test.before(async () => {
  a = await startTestPlatform({ INSTANCE_ID: 'instance-a' });
  b = await startInstance(a, { INSTANCE_ID: 'instance-b' });
});
test.after.always(async () => {
  await b?.close();
  await a?.close();
});

/** A person who has chosen a password, signed in on `a`: the session cookie and CSRF token a browser holds. */
async function signedInOnA(login: string, roles = ['viewer']): Promise<{ cookie: string; csrf: string }> {
  const { id, password } = await createUser(a, login, { roles });
  await a.platform.identity.users.changePassword((await a.platform.identity.users.byId(id))!, password, GOOD_PASSWORD);
  const res = await a.http.post('/api/session').send({ login, password: GOOD_PASSWORD });
  if (res.status !== 200) throw new Error(`sign-in: ${res.status} ${JSON.stringify(res.body)}`);
  const cookie = (res.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
  return { cookie, csrf: res.body.csrfToken as string };
}

test('a session made on one instance is good on the other, and signing out on one ends it on the other at once', async (t) => {
  const { cookie, csrf } = await signedInOnA('duo.viewer');
  const onB = await b.http.get('/api/session').set('Cookie', cookie);
  t.is(onB.status, 200);
  t.is(onB.body.login, 'duo.viewer');
  // b now holds the session in its memory; a ends it; b's very next request must not use what it remembers.
  const out = await a.http.delete('/api/session').set('Cookie', cookie).set('X-CSRF-Token', csrf);
  t.is(out.status, 204);
  const after = await b.http.get('/api/session').set('Cookie', cookie);
  t.not(after.body.login, 'duo.viewer', 'the ended session is not honoured by the other instance');
});

test('an API key revoked through one instance is refused by the other on the next request', async (t) => {
  const { id, key } = await a.platform.keys.create('dsj', 'two instances', ['layer:read']);
  const auth = { Authorization: `Bearer ${key}` };
  t.is((await b.http.get('/api/session').set(auth)).body.department, 'dsj');
  t.true(await a.platform.keys.revoke(id));
  const res = await b.http.get('/catalog').set(auth);
  t.is(res.status, 401);
  t.is(res.body.error, 'invalid_api_key');
});

test('an import through one instance: the other reports its progress and serves its data in the very next tile', async (t) => {
  const { key } = await a.platform.keys.create('dsj', 'importer', ['layer:read', 'layer:import']);
  const auth = { Authorization: `Bearer ${key}` };
  const submit = (csv: string, mode: string) =>
    a.http.post('/api/imports').set(auth).field('layer', 'duo_stations').field('mode', mode).attach('file', Buffer.from(csv), 'stations.csv');
  const first = await submit('name,lon,lat\n淮安站,119.03,33.61\n', 'replace');
  t.is(first.status, 202);
  const job = await eventually(async () => {
    const r = await b.http.get(`/api/imports/${first.body.id}`).set(auth);
    return r.body.status === 'succeeded' || r.body.status === 'failed' ? r.body : undefined;
  }, 30_000);
  t.is(job.status, 'succeeded', JSON.stringify(job));

  const { z, x, y } = tileOf(119.03, 33.61, 14);
  const names = async () => {
    const res = await b.http.get(`/tiles/duo_stations/${z}/${x}/${y}.mvt`).set(auth).buffer(true).parse(binary);
    t.is(res.status, 200, String(res.status));
    return (decodeTile(res.body as Buffer, z, x, y).duo_stations ?? []).map((f) => f.properties.name).sort();
  };
  t.deepEqual(await names(), ['淮安站'], 'the other instance knows the new layer and draws it');
  t.deepEqual(await names(), ['淮安站'], 'and has it cached now');

  const second = await submit('name,lon,lat\n淮安东站,119.031,33.611\n', 'append');
  t.is(second.status, 202);
  await eventually(async () => (await a.http.get(`/api/imports/${second.body.id}`).set(auth)).body.status === 'succeeded', 30_000);
  t.deepEqual(await names(), ['淮安东站', '淮安站'], 'the cached tile on the other instance was not served stale');
});

test.serial('a job is failed only when its instance is gone: a new instance leaves a live one’s job alone', async (t) => {
  const job = async (instance: string | null) =>
    Number(
      (
        await a.sql.query(
          `INSERT INTO citybase.import_jobs (department_id, target, file_name, options, status, started_at, instance_id)
           VALUES ('dsj', 'somewhere', 'f.csv', '{}', 'running', now(), $1) RETURNING id`,
          [instance],
        )
      ).rows[0].id,
    );
  const status = async (id: number) => (await a.sql.query(`SELECT status, error FROM citybase.import_jobs WHERE id = $1`, [id])).rows[0];
  const onA = await job('instance-a');
  const legacy = await job(null);
  await a.sql.query(`INSERT INTO citybase.instances (id, host, pid, seen_at) VALUES ('instance-dead', 'gone', 1, now() - interval '1 hour')`);
  const ofDead = await job('instance-dead');

  // A third instance starting up (as after a deploy) must not fail the job a running instance is working on.
  const c = await startInstance(a, { INSTANCE_ID: 'instance-c' });
  try {
    t.is((await status(onA)).status, 'running', 'the live instance’s job is untouched');
    t.is((await status(legacy)).status, 'failed', 'a job no instance owns is failed');
    t.is((await status(ofDead)).status, 'failed', 'a job of an instance not seen for an hour is failed');
    t.regex((await status(ofDead)).error, /server stopped before this import finished; nothing was changed/);
  } finally {
    await c.close();
  }

  // An instance that stops leaving its lease to run out (kill -9): a live one fails its job on renewal.
  await a.sql.query(`UPDATE citybase.instances SET seen_at = now() - interval '1 hour' WHERE id = 'instance-a'`);
  await b.platform.lease.renew();
  t.is((await status(onA)).status, 'failed', 'the job of an instance whose lease ran out is failed by the others');
  await a.platform.lease.renew();
});

test('SIGTERM drains: /health says so while requests are still served, in-flight ones finish, then the port closes', async (t) => {
  const d = await startInstance(a, { INSTANCE_ID: 'instance-d' });
  const server = createHttpServer(d.platform.app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A 5-second tile, in flight when the stop begins.
  const slow = fetch(`${base}/tiles/fx_slow/0/0/0.mvt`);
  await eventually(async () => (await a.sql.query(`SELECT 1 FROM pg_stat_activity WHERE query LIKE '%slow_tile%' AND state = 'active' AND pid <> pg_backend_pid()`)).rowCount);

  const stopping = shutdown(server, d.platform, createLogger('silent'), 10_000, 1_500);
  const health = await fetch(`${base}/health`);
  t.is(health.status, 503, 'the load balancer’s health check takes the instance out');
  t.deepEqual(await health.json(), { status: 'draining' });
  t.is(health.headers.get('connection'), 'close', 'kept-alive connections are let go');
  const catalog = await fetch(`${base}/layers`);
  t.is(catalog.status, 200, 'requests that still arrive while draining are served');

  await stopping;
  const tile = await slow;
  t.true(tile.status === 200 || tile.status === 204, `the tile in flight was finished and sent (${tile.status})`);
  await t.throwsAsync(fetch(`${base}/health`), undefined, 'the port no longer accepts connections');
  t.is((await a.sql.query(`SELECT 1 FROM citybase.instances WHERE id = 'instance-d'`)).rowCount, 0, 'the lease was given up');
});

test('a vehicle whose terminal is connected to one instance moves on the other’s desk API at once', async (t) => {
  const gw = await startGateway(a.platform.vehicles, { port: 0, host: '127.0.0.1', maxConnections: 5, heartbeatSeconds: 60, messagesPerSecond: 100, log: createLogger('silent') });
  try {
    await addVehicle(a.platform.pool, { plate: '苏H70001', color: 2, phone: '13970000001', type: 'muck_truck', department: 'jtj' });
    await a.platform.vehicles.refreshFleet();
    const { key } = await a.platform.keys.create('jtj', 'desk on b', ['layer:read', 'vehicle:watch']);
    const term = await SimTerminal.connect(gw.port, '13970000001');
    await term.login('苏H70001', 2);
    const now = Math.floor(Date.now() / 1000) * 1000;
    for (let i = 0; i < 3; i++) t.is(await term.location({ lat: 33.6 + i * 0.001, lon: 119.02, speedKmh: 30, time: now - 30_000 + i * 10_000 }), 0);
    // b has no terminal and no desk: it learns of the fixes from the database (NOTIFY citybase_vehicles).
    const seen = await eventually(async () => {
      const res = await b.http.get('/api/vehicles').set({ Authorization: `Bearer ${key}` });
      const v = (res.body.vehicles as Array<{ id: string; lat: number; status: string }>).find((x) => x.id === '苏H70001');
      return v && v.lat === 33.602 && v.status === 'online' ? v : undefined;
    }, 15_000).catch(async (err: Error) => {
      const res = await b.http.get('/api/vehicles').set({ Authorization: `Bearer ${key}` });
      t.log(JSON.stringify(res.body).slice(0, 600), JSON.stringify((await a.sql.query(`SELECT * FROM vehicles.latest`)).rows));
      throw err;
    });
    t.is(seen.status, 'online', 'online on the other instance too');
    term.end();
  } finally {
    await gw.close();
  }
});
