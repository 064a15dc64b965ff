// Open311 GeoReport v2 conformance, with a client written from the spec (helpers/open311-client.ts) over a real
// socket, in JSON and XML: services, a definition with attributes, POST requests with api_key (form-encoded and
// multipart media), tokens, requests by id and by filters (90-day window), the state mapping (open/closed,
// status_notes, agency_responsible, expected_datetime), the public shape, and the errors as [{code, description}].
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import test from 'ava';
import { startCaseWorld, type CaseWorld } from './helpers/cases.ts';
import { GeoReportClient, type Fetch } from './helpers/open311-client.ts';
import { fixturesDir } from './helpers/platform.ts';

let w: CaseWorld;
let server: Server;
let origin: string;
let publicKey: string;
const fetchOnWire: Fetch = async (method, path, form) => {
  const res = await fetch(`${origin}${path}`, {
    method,
    headers: form ? { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' } : {},
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
};
const clients = () => [new GeoReportClient(fetchOnWire, '/open311/v2', 'json'), new GeoReportClient(fetchOnWire, '/open311/v2', 'xml')];

test.before(async () => {
  w = await startCaseWorld();
  server = w.p.platform.app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  publicKey = (await w.p.platform.keys.create('cgj', 'Open311 app', ['case:report'])).key;
});
test.after.always(async () => {
  server?.close();
  await w?.p.close();
});

test('services list the published 小类 with the spec\'s fields, in JSON and XML alike', async (t) => {
  for (const c of clients()) {
    const r = await c.services();
    t.is(r.status, 200, c.format);
    const trash = r.records.find((s) => s.service_code === 'SJ0102')!;
    t.like(trash, { service_name: '暴露垃圾', type: 'realtime' }, c.format);
    t.is(String(trash.metadata), 'false');
    t.false(r.records.some((s) => s.service_code === 'BJ0601'), 'unpublished categories are not offered');
    const cover = r.records.find((s) => s.service_code === 'BJ0101')!;
    t.is(String(cover.metadata), 'true');
  }
});

test('a service definition lists its attributes; an unknown service is 404 as [{code, description}]', async (t) => {
  for (const c of clients()) {
    const def = await c.serviceDefinition('BJ0101');
    t.is(def.status, 200);
    const attrs = def.records[0]!.attributes as Array<Record<string, unknown>>;
    t.is(attrs.length, 1);
    t.like(attrs[0], { code: 'condition', datatype: 'singlevaluelist' });
    t.deepEqual((attrs[0]!.values as Array<{ key: string }>).map((v) => v.key), ['missing', 'damaged']);
    const unknown = await c.serviceDefinition('XX9999');
    t.is(unknown.status, 404);
    t.is(unknown.errors[0]!.code, 404);
    t.regex(unknown.errors[0]!.description, /XX9999/);
  }
});

test('POST requests with an api_key creates a case (source 公众/Open311); token and id lead to it; GET shows the public record', async (t) => {
  const at = await w.placeIn('320812', 11);
  for (const c of clients()) {
    const created = await c.createRequest({
      api_key: publicKey, service_code: 'BJ0101', lat: String(at.lat), long: String(at.lon), 'attribute[condition]': 'missing',
      description: '井盖<b>不见了</b>', first_name: '张', last_name: '三', phone: '13800000000', email: 'z@example.cn',
    });
    t.is(created.status, 200, JSON.stringify(created));
    const { service_request_id: id, token } = created.records[0] as { service_request_id: string; token: string };
    t.regex(id, /^320800\d{12}$/);
    t.like((await c.token(token)).records[0], { service_request_id: id, token });

    const one = (await c.request(id)).records[0]!;
    t.like(one, { service_request_id: id, status: 'open', service_code: 'BJ0101', service_name: '上水井盖', agency_responsible: '淮安市城市管理局' });
    t.regex(String(one.status_notes), /^上报/);
    t.regex(String(one.requested_datetime), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    // A missing cover is urgent: 2 紧急工作时 to handle once dispatched; 立案 is due within the hour now.
    t.regex(String(one.expected_datetime), /\+08:00$/);
    // The public record: no description, contact, names or photos; the place is the grid cell's, not the pin.
    for (const secret of ['description', 'phone', 'email', 'first_name', 'media_url']) t.false(secret in one, secret);
    t.true(Math.abs(Number(one.lat) - at.lat) < 0.01 && Math.abs(Number(one.long) - at.lon) < 0.01);
    const row = (await w.p.sql.query(`SELECT source, urgency, description, contact FROM cases.cases WHERE code = $1`, [id])).rows[0];
    t.like(row, { source: '公众/Open311', urgency: '紧急', description: '井盖不见了' });
    t.is(row.contact.phone, '13800000000', 'kept for the centre, never published');
  }
});

test('internal states map to open/closed with the state in status_notes; filters by status, service and window', async (t) => {
  const c = clients()[0]!;
  const at = await w.placeIn('320812', 12);
  const mk = async () => (await c.createRequest({ api_key: publicKey, service_code: 'SJ0104', lat: String(at.lat), long: String(at.lon) })).records[0]!.service_request_id as string;
  const rejected = await mk();
  const dispatched = await mk();
  const act = (code: string, body: Record<string, unknown>, role: string) =>
    w.p.http.post(`/api/cases/${code}/transitions`).set('Authorization', `Bearer ${w.keys[role]!.key}`).send(body);
  t.is((await act(rejected, { action: 'reject', reason: '重复举报' }, 'acceptor')).status, 200);
  t.is((await act(dispatched, { action: 'accept' }, 'acceptor')).status, 200);
  t.is((await act(dispatched, { action: 'dispatch' }, 'dispatcher')).status, 200);
  t.like((await c.request(rejected)).records[0], { status: 'closed', status_notes: '不予立案' });
  const d = (await c.request(dispatched)).records[0]!;
  t.like(d, { status: 'open', status_notes: '已派遣 → 淮安市城市管理局', agency_responsible: '淮安市城市管理局' });
  t.truthy(d.expected_datetime);

  const closed = await c.requests({ status: 'closed', service_code: 'SJ0104' });
  t.true(closed.records.some((r) => r.service_request_id === rejected));
  t.true(closed.records.every((r) => r.status === 'closed' && r.service_code === 'SJ0104'));
  const byIds = await c.requests({ service_request_id: `${rejected},${dispatched}`, status: 'open' });
  t.deepEqual(byIds.records.map((r) => r.service_request_id).sort(), [rejected, dispatched].sort(), 'ids override the other filters');
  const past = await c.requests({ start_date: '2020-01-01T00:00:00Z', end_date: '2020-02-01T00:00:00Z' });
  t.deepEqual(past.records, []);
  for (const x of clients()) {
    const tooWide = await x.requests({ start_date: '2026-01-01T00:00:00+08:00', end_date: '2026-06-01T00:00:00+08:00' });
    t.is(tooWide.status, 400);
    t.regex(tooWide.errors[0]!.description, /90 days/);
  }
});

test('errors: no or bad api_key 403, a key without case:report 403, missing service_code or place 400, unknown service 404, unknown request 404', async (t) => {
  const at = await w.placeIn('320812', 13);
  const readerKey = w.keys.reader!.key;
  for (const c of clients()) {
    const place = { lat: String(at.lat), long: String(at.lon) };
    const expect = async (p: Promise<{ status: number; errors: Array<{ code: number; description: string }> }>, code: number, text: RegExp) => {
      const r = await p;
      t.is(r.status, code, `${c.format} ${JSON.stringify(r.errors)}`);
      t.is(r.errors[0]?.code, code);
      t.regex(r.errors[0]?.description ?? '', text);
    };
    await expect(c.createRequest({ service_code: 'SJ0102', ...place }), 403, /api_key/);
    await expect(c.createRequest({ api_key: 'cb_nonsense', service_code: 'SJ0102', ...place }), 403, /Invalid api_key/);
    await expect(c.createRequest({ api_key: readerKey, service_code: 'SJ0102', ...place }), 403, /case:report/);
    await expect(c.createRequest({ api_key: publicKey, ...place }), 400, /service_code/);
    await expect(c.createRequest({ api_key: publicKey, service_code: 'SJ0102' }), 400, /lat and long/);
    await expect(c.createRequest({ api_key: publicKey, service_code: 'SJ0102', address_string: '淮安市清江浦区健康东路1号' }), 400, /lat and long/);
    await expect(c.createRequest({ api_key: publicKey, service_code: 'ZZ0000', ...place }), 404, /ZZ0000/);
    await expect(c.request('320800000000000000'), 404, /not found/);
    await expect(c.token('o311-unknown'), 404, /not found/);
  }
});

test('media upload as multipart: the photo is stored with the case (and its GPS places it when lat/long are absent)', async (t) => {
  const jpeg = await readFile(path.join(fixturesDir, 'photos', 'rotated-gps.jpg'));
  const r = await w.p.http.post('/open311/v2/requests.json').field('api_key', publicKey).field('service_code', 'SJ0110').attach('media', jpeg, 'road.jpg');
  t.is(r.status, 200, JSON.stringify(r.body));
  const id = r.body[0].service_request_id;
  const n = await w.p.sql.query(`SELECT count(*)::int AS n FROM cases.case_photos cp JOIN cases.cases c ON c.id = cp.case_id WHERE c.code = $1`, [id]);
  t.is(n.rows[0].n, 1);
  t.is((await w.p.http.get('/open311/v2/services.yaml')).status, 404);
});

test('address_string alone: an exact place of the city\'s gazetteer locates the request; anything less is 400 naming near matches', async (t) => {
  const community = (
    await w.p.sql.query<{ code: string; name: string }>(
      `SELECT code, name FROM basemap.communities c WHERE left(code, 6) = '320812' AND (SELECT count(*) FROM basemap.communities d WHERE d.name = c.name) = 1
       AND EXISTS (SELECT 1 FROM urban.grid_cells g WHERE g.community_code = c.code) ORDER BY code LIMIT 1`,
    )
  ).rows[0]!;
  for (const c of clients()) {
    const created = await c.createRequest({ api_key: publicKey, service_code: 'SJ0102', address_string: community.name, description: '小区门口垃圾' });
    t.is(created.status, 200, JSON.stringify(created));
    const id = (created.records[0] as { service_request_id: string }).service_request_id;
    const row = (await w.p.sql.query(`SELECT address, district_code, street_code, community_code FROM cases.cases WHERE code = $1`, [id])).rows[0];
    t.is(row.address, community.name);
    t.is(row.district_code, '320812');
    t.is(row.street_code, community.code.slice(0, 9));
    // A fuzzy guess is for a person to confirm, never taken by a machine.
    const typo = [...community.name].slice(0, -1).join('') + '路口附近';
    const r = await c.createRequest({ api_key: publicKey, service_code: 'SJ0102', address_string: typo });
    t.is(r.status, 400);
    t.regex(r.errors[0]!.description, /matches no place exactly.*lat and long/);
  }
});
