import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import WebSocket from 'ws';
import supertest from 'supertest';
import { createHttpServer } from '../tile-server/src/http-server.ts';
import { addVehicle } from '../tile-server/src/vehicles/fleet.ts';
import { raise } from '../tile-server/src/vehicles/alarms/lifecycle.ts';
import { haversineM } from '../tile-server/src/vehicles/playback/track.ts';
import { GOOD_PASSWORD, signIn } from './helpers/identity.ts';
import { binary, eventually, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

/**
 * Playback (issue 12 §5): a vehicle's stored track over a time range, as GeoJSON — every fix in time order, the
 * line simplified for display, the stops with arrival and departure, the alarms of the range — and the access
 * rules every vehicle door shares (the right, the department, the operator's districts).
 */
let tp: TestPlatform;
let dataDir: string;
const keys: Record<string, string> = {};

// A known track, written through the platform's own batch writer: 30 fixes driving north (10 s apart, ≈55.6 m
// each), a 10-minute stop with ±2 m jitter (a fix every 30 s), then 30 fixes driving east.
const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 3600_000;
const north = Array.from({ length: 30 }, (_, i) => ({ t: t0 + i * 10_000, lon: 119.0, lat: 33.5 + i * 0.0005, speedKmh: 20 }));
const stopAt = { lon: 119.0, lat: 33.5 + 29 * 0.0005 };
const parked = Array.from({ length: 20 }, (_, i) => ({ t: t0 + 300_000 + i * 30_000, lon: stopAt.lon + (i % 2 ? 0.00002 : -0.00002), lat: stopAt.lat, speedKmh: 0 }));
const east = Array.from({ length: 30 }, (_, i) => ({ t: t0 + 900_000 + i * 10_000, lon: 119.0 + (i + 1) * 0.0006, lat: stopAt.lat, speedKmh: 20 }));
const track = [...north, ...parked, ...east];

test.before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-playback-'));
  tp = await startTestPlatform({ DATA_DIR: dataDir });
  const pool = tp.platform.pool;
  await addVehicle(pool, { plate: '苏H70001', color: 2, phone: '13970000001', type: 'muck_truck', department: 'jtj', district: '320812', group: '一车队' });
  await addVehicle(pool, { plate: '苏H70002', color: 2, phone: '13970000002', type: 'school_bus', department: 'jtj', district: '320803', group: '二车队' });
  await addVehicle(pool, { plate: '苏H70003', color: 2, phone: '13970000003', type: 'taxi', department: 'cgj' });
  await tp.platform.vehicles.refreshFleet();
  const writer = tp.platform.vehicles.writer;
  for (const f of track)
    writer.add({ vehicleId: '苏H70001', time: f.t, lon: f.lon, lat: f.lat, speedKmh: f.speedKmh, course: 0, altitudeM: 10, source: 'test', alarm: 0, status: 0, mileageKm: null, satellites: 9, extras: null, receivedAt: f.t, backfill: false });
  await writer.flush();
  await raise(pool, { vehicleId: '苏H70001', department: 'jtj', type: 'overspeed', fenceId: null, at: t0 + 100_000, lon: 119.0, lat: 33.505, detail: { maxKmh: 72 } });
  await raise(pool, { vehicleId: '苏H70001', department: 'jtj', type: 'offline', fenceId: null, at: t0 - 7200_000, lon: 119.0, lat: 33.5, detail: null });
  await raise(pool, { vehicleId: '苏H70002', department: 'jtj', type: 'overspeed', fenceId: null, at: t0 + 100_000, lon: 119.1, lat: 33.6, detail: null });
  keys.jtj = (await tp.platform.keys.create('jtj', 'desk', ['layer:read', 'vehicle:watch'])).key;
  keys.qinghe = (await tp.platform.keys.create('jtj', 'qinghe desk', ['layer:read', 'vehicle:watch'], { scopes: ['320812'] })).key;
  keys.noRight = (await tp.platform.keys.create('jtj', 'gis', ['layer:read'])).key;
  keys.cgj = (await tp.platform.keys.create('cgj', 'desk', ['layer:read', 'vehicle:watch'])).key;
});

test.after.always(async () => {
  await tp?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const iso = (ms: number) => new Date(ms).toISOString();
const trackUrl = (id: string, from: number, to: number, extra = '') => `/api/vehicles/${encodeURIComponent(id)}/track?from=${iso(from)}&to=${iso(to)}${extra}`;
const get = (url: string, key?: string) => (key ? tp.http.get(url).set('Authorization', `Bearer ${key}`) : tp.http.get(url));
type Feature = { id: string; geometry: { type: string; coordinates: any }; properties: Record<string, any> };
const byKind = (body: { features: Feature[] }, kind: string) => body.features.filter((f) => f.properties.kind === kind);

test('playback gives every fix in time order, the stop with its arrival and departure, and the alarms of the range', async (t) => {
  // A stop radius of 30 m: the neighbouring moving fixes (≈55 m away) are not part of the stop.
  const res = await get(trackUrl('苏H70001', t0 - 60_000, t0 + 3600_000, '&stop_radius=30'), keys.jtj);
  t.is(res.status, 200);
  t.regex(res.headers['content-type']!, /application\/geo\+json/);
  t.is(res.body.type, 'FeatureCollection');
  t.like(res.body.vehicle, { id: '苏H70001', plate: '苏H70001', type: 'muck_truck' });

  const [fixes] = byKind(res.body, 'fixes');
  t.is(fixes!.geometry.type, 'MultiPoint');
  t.is(fixes!.geometry.coordinates.length, track.length);
  t.deepEqual(fixes!.properties.times, track.map((f) => f.t));
  t.deepEqual(fixes!.properties.speeds, track.map((f) => f.speedKmh));
  t.deepEqual(fixes!.geometry.coordinates[track.length - 1], [track.at(-1)!.lon, track.at(-1)!.lat]);

  // One stop: it begins with the last northward fix (already at the stop) and ends with the last parked fix.
  const stops = byKind(res.body, 'stop');
  t.is(stops.length, 1);
  t.like(stops[0]!.properties, { arrive: iso(north.at(-1)!.t), leave: iso(parked.at(-1)!.t), durationS: (parked.at(-1)!.t - north.at(-1)!.t) / 1000, fixes: 21 });
  const [slon, slat] = stops[0]!.geometry.coordinates;
  t.true(haversineM({ lon: slon, lat: slat }, stopAt) < 5, 'the stop is where the vehicle parked');

  const expectedKm = track.slice(1).reduce((d, f, i) => d + haversineM(track[i]!, f), 0) / 1000;
  t.like(res.body.stats, { fixes: track.length, stops: 1, maxSpeedKmh: 20, first: iso(track[0]!.t), last: iso(track.at(-1)!.t) });
  t.true(Math.abs(res.body.stats.distanceKm - expectedKm) < 0.002);

  // Two trips: driving north to the stop, then east from it (each from the fix that left to the one that arrived).
  t.deepEqual(
    byKind(res.body, 'trip').map((tr) => [tr.geometry, tr.properties.start, tr.properties.end, tr.properties.first, tr.properties.last, tr.properties.maxSpeedKmh]),
    [
      [null, iso(north[0]!.t), iso(north.at(-1)!.t), 0, 29, 20],
      [null, iso(parked.at(-1)!.t), iso(east.at(-1)!.t), 49, track.length - 1, 20],
    ],
  );
  t.is(res.body.stats.trips, 2);

  // With the default radius (100 m) the one fix on each side, ≈55 m away, joins the stop.
  const wide = await get(trackUrl('苏H70001', t0 - 60_000, t0 + 3600_000), keys.jtj);
  t.deepEqual(byKind(wide.body, 'stop').map((s) => [s.properties.arrive, s.properties.leave]), [[iso(north.at(-2)!.t), iso(east[0]!.t)]]);

  // Only the alarm raised inside the range (not the one two hours before).
  t.deepEqual(byKind(res.body, 'alarm').map((a) => [a.properties.type, a.properties.at]), [['overspeed', iso(t0 + 100_000)]]);
});

test('the drawn line is simplified (two straight legs: a handful of vertices), keeps both ends and strays at most the tolerance', async (t) => {
  const res = await get(trackUrl('苏H70001', t0, t0 + 3600_000, '&tolerance=5'), keys.jtj);
  const [line] = byKind(res.body, 'track');
  const coords = line!.geometry.coordinates as [number, number][];
  t.is(line!.geometry.type, 'LineString');
  t.true(coords.length <= 6, `${coords.length} vertices`);
  t.deepEqual(coords[0], [track[0]!.lon, track[0]!.lat]);
  t.deepEqual(coords.at(-1), [track.at(-1)!.lon, track.at(-1)!.lat]);
  t.like(line!.properties, { toleranceM: 5, vertices: coords.length, fixes: track.length });
  // Every fix is within the tolerance of the simplified line.
  const k = Math.cos((33.5 * Math.PI) / 180) * 111_320;
  for (const f of track) {
    let best = Infinity;
    for (let i = 1; i < coords.length; i++) {
      const [ax, ay] = [coords[i - 1]![0] * k, coords[i - 1]![1] * 110_574];
      const [bx, by] = [coords[i]![0] * k, coords[i]![1] * 110_574];
      const [px, py] = [f.lon * k, f.lat * 110_574];
      const len2 = (bx - ax) ** 2 + (by - ay) ** 2;
      const u = len2 ? Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2)) : 0;
      best = Math.min(best, Math.hypot(px - ax - u * (bx - ax), py - ay - u * (by - ay)));
    }
    t.true(best <= 5.5, `fix at ${iso(f.t)} is ${best.toFixed(1)} m off the line`);
  }
  // tolerance=0 draws every fix.
  const full = await get(trackUrl('苏H70001', t0, t0 + 3600_000, '&tolerance=0'), keys.jtj);
  t.is(byKind(full.body, 'track')[0]!.geometry.coordinates.length, track.length);
});

test('a range with no fixes is an empty playback, not an error', async (t) => {
  const res = await get(trackUrl('苏H70001', t0 - 86_400_000, t0 - 80_000_000), keys.jtj);
  t.is(res.status, 200);
  t.like(res.body.stats, { fixes: 0, stops: 0, distanceKm: 0, first: null });
  t.is(byKind(res.body, 'track').length, 0);
});

test('bad ranges are 400s naming the problem; unknown and unseen vehicles are 404; the right is needed', async (t) => {
  const now = Date.now();
  const cases: Array<[string, number, string]> = [
    [`/api/vehicles/${encodeURIComponent('苏H70001')}/track?to=${iso(now)}`, 400, 'invalid_range'],
    [`/api/vehicles/${encodeURIComponent('苏H70001')}/track?from=yesterday&to=${iso(now)}`, 400, 'invalid_range'],
    [`/api/vehicles/${encodeURIComponent('苏H70001')}/track?from=2026-12-01T08:00:00&to=${iso(now)}`, 400, 'invalid_range'],
    [trackUrl('苏H70001', now, now - 3600_000), 400, 'invalid_range'],
    [trackUrl('苏H70001', now, now), 400, 'invalid_range'],
    [trackUrl('苏H70001', now - 8 * 86_400_000, now), 400, 'range_too_long'],
    [trackUrl('苏H70001', now - 3600_000, now, '&tolerance=-1'), 400, 'invalid_parameter'],
    [trackUrl('苏H70001', now - 3600_000, now, '&stop_min=1'), 400, 'invalid_parameter'],
    [trackUrl('苏H79999', now - 3600_000, now), 404, 'unknown_vehicle'],
  ];
  for (const [url, status, error] of cases) {
    const res = await get(url, keys.jtj);
    t.is(res.status, status, url);
    t.is(res.body.error, error, url);
    t.truthy(res.body.message);
  }
  const ok = trackUrl('苏H70001', now - 3600_000, now);
  t.is((await get(ok)).status, 401);
  t.is((await get(ok, keys.noRight)).status, 403);
  // Another department's vehicle is answered like a missing one.
  const other = await get(trackUrl('苏H70003', now - 3600_000, now), keys.jtj);
  t.is(other.status, 404);
  t.is(other.body.error, 'unknown_vehicle');
  t.is((await get(ok, keys.cgj)).status, 404);
});

test('an operator limited to a district sees only the vehicles registered there: list, playback, alarms', async (t) => {
  const now = Date.now();
  const list = await get('/api/vehicles', keys.qinghe);
  t.deepEqual(list.body.vehicles.map((v: { id: string; district: string; group: string }) => [v.id, v.district, v.group]), [['苏H70001', '320812', '一车队']]);
  const all = await get('/api/vehicles', keys.jtj);
  t.deepEqual(all.body.vehicles.map((v: { id: string }) => v.id), ['苏H70001', '苏H70002']);
  t.is((await get(trackUrl('苏H70001', now - 4 * 3600_000, now), keys.qinghe)).status, 200);
  t.is((await get(trackUrl('苏H70002', now - 4 * 3600_000, now), keys.qinghe)).status, 404);

  const alarms = await get('/api/vehicles/alarms', keys.qinghe);
  t.true(alarms.body.alarms.length > 0);
  t.true(alarms.body.alarms.every((a: { vehicle_id: string }) => a.vehicle_id === '苏H70001'));
  t.true((await get('/api/vehicles/alarms', keys.jtj)).body.alarms.some((a: { vehicle_id: string }) => a.vehicle_id === '苏H70002'));
  // Acknowledging an alarm of a vehicle outside the districts: as unknown.
  const theirs = (await get('/api/vehicles/alarms', keys.jtj)).body.alarms.find((a: { vehicle_id: string }) => a.vehicle_id === '苏H70002');
  const ack = await tp.http.post(`/api/vehicles/alarms/${theirs.id}/acknowledge`).set('Authorization', `Bearer ${keys.qinghe}`).send({ note: 'x' });
  t.is(ack.status, 404);
  t.is(ack.body.error, 'unknown_alarm');
});

test('an operator limited to a vehicle group sees only its vehicles: list, playback, alarms; set by the admin API', async (t) => {
  const admin = await signIn(tp, 'fleet.admin', { roles: ['admin'] });
  const op = await signIn(tp, 'fleet.one', { roles: ['vehicle_operator'], department: 'jtj' });
  const uid = op.userId;
  const bad = await admin.agent.patch(`/api/admin/users/${uid}`).set('X-CSRF-Token', admin.csrf).send({ vehicleGroups: [] });
  t.is(bad.status, 400);
  t.is(bad.body.error, 'invalid_vehicle_groups');
  const set = await admin.agent.patch(`/api/admin/users/${uid}`).set('X-CSRF-Token', admin.csrf).send({ vehicleGroups: ['一车队'] });
  t.is(set.status, 200, JSON.stringify(set.body));
  t.deepEqual(set.body.vehicleGroups, ['一车队']);
  // The limit holds from the operator's next sign-in (a changed user's sessions are rebuilt or signed in again).
  const again = supertest.agent(tp.platform.app.callback());
  t.is((await again.post('/api/session').send({ login: 'fleet.one', password: GOOD_PASSWORD })).status, 200);
  t.deepEqual((await again.get('/api/vehicles')).body.vehicles.map((v: { id: string }) => v.id), ['苏H70001']);
  const now = Date.now();
  t.is((await again.get(trackUrl('苏H70002', now - 4 * 3600_000, now))).status, 404);
  const alarms = (await again.get('/api/vehicles/alarms')).body.alarms as Array<{ vehicle_id: string }>;
  t.true(alarms.length > 0 && alarms.every((a) => a.vehicle_id === '苏H70001'));
  const audit = await tp.sql.query(`SELECT details FROM citybase.audit_log WHERE action = 'user.update' AND target = 'fleet.one' ORDER BY id DESC LIMIT 1`);
  t.deepEqual(audit.rows[0].details.vehicle_groups, { from: null, to: ['一车队'] });
  // Back to every group.
  t.deepEqual((await admin.agent.patch(`/api/admin/users/${uid}`).set('X-CSRF-Token', admin.csrf).send({ vehicleGroups: null })).body.vehicleGroups, null);
});

test('the live channel applies the district scope to positions and alarms', async (t) => {
  const server: http.Server = createHttpServer(tp.platform.app);
  tp.platform.vehicles.channel!.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const messages: Array<{ type: string; vehicles: Array<{ id: string }>; events?: Array<{ vehicleId: string }> }> = [];
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/vehicles/live?key=${keys.qinghe}`);
  ws.on('message', (d) => messages.push(JSON.parse(String(d))));
  await eventually(async () => messages.length > 0);
  t.deepEqual(messages[0]!.vehicles.map((v) => v.id), ['苏H70001']);
  await tp.platform.vehicles.raise({ vehicleId: '苏H70002', department: 'jtj', type: 'terminal_emergency', fenceId: null, at: Date.now(), lon: 119.1, lat: 33.6, detail: null });
  await tp.platform.vehicles.raise({ vehicleId: '苏H70001', department: 'jtj', type: 'terminal_emergency', fenceId: null, at: Date.now(), lon: 119.0, lat: 33.5, detail: null });
  await eventually(async () => messages.some((m) => m.events?.length));
  const events = messages.flatMap((m) => m.events ?? []);
  t.deepEqual(events.map((e) => e.vehicleId), ['苏H70001']);
  ws.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('a track exports as GPX, KML and CSV (every fix, in time order), audited as a data export', async (t) => {
  const range = trackUrl('苏H70001', t0 - 60_000, t0 + 3600_000);
  const gpx = await get(`${range}&format=gpx`, keys.jtj).buffer(true).parse(binary);
  t.is(gpx.status, 200);
  t.regex(gpx.headers['content-type']!, /^application\/gpx\+xml/);
  t.regex(gpx.headers['content-disposition']!, /^attachment; filename="track\.gpx"; filename\*=UTF-8''%E8%8B%8FH70001-\d{4}-\d\d-\d\d\.gpx$/);
  const body = String(gpx.body);
  t.regex(body, /<gpx version="1\.1"/);
  t.regex(body, /<name>苏H70001<\/name>/);
  const points = [...body.matchAll(/<trkpt lat="([\d.]+)" lon="([\d.]+)"><time>([^<]+)<\/time>/g)];
  t.deepEqual(points.map((m) => [Number(m[2]), Number(m[1]), Date.parse(m[3]!)]), track.map((f) => [f.lon, f.lat, f.t]));

  const kml = await get(`${range}&format=kml`, keys.jtj).buffer(true).parse(binary);
  t.regex(kml.headers['content-type']!, /kml/);
  const coords = /<coordinates>([^<]*)<\/coordinates>/.exec(String(kml.body))![1]!.split(' ');
  t.is(coords.length, track.length);
  t.is(coords[0], `${track[0]!.lon},${track[0]!.lat}`);

  const csv = await get(`${range}&format=csv`, keys.jtj);
  const lines = csv.text.replace(/^\uFEFF/, '').trim().split('\r\n');
  t.is(lines[0], 'time,lon,lat,speed_kmh,course');
  t.is(lines.length, 1 + track.length);
  t.is(lines[1], `${iso(track[0]!.t)},${track[0]!.lon},${track[0]!.lat},20,0`);

  const audited = (await tp.sql.query(`SELECT details->>'format' AS format, (details->>'fixes')::int AS fixes FROM citybase.audit_log WHERE action = 'data.export' AND target = 'vehicle:苏H70001' ORDER BY id`)).rows;
  t.deepEqual(audited, ['gpx', 'kml', 'csv'].map((format) => ({ format, fixes: track.length })));
  t.is((await get(`${range}&format=shp`, keys.jtj)).status, 400);
  t.is((await get(`${trackUrl('苏H70002', t0, t0 + 3600_000)}&format=gpx`, keys.qinghe)).status, 404);
});
