// The audit trail (安全审计): what is recorded, that it cannot be changed, that tampering is found, and that
// only the auditor reads it.
import test from 'ava';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import supertest from 'supertest';
import { verifyAudit } from '../tile-server/src/auth/audit.ts';
import { GOOD_PASSWORD, signIn } from './helpers/identity.ts';
import { root, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

const run = promisify(execFile);
let p: TestPlatform;
test.before(async () => {
  p = await startTestPlatform();
});
test.after.always(async () => {
  await p?.close();
});

interface Rec {
  action: string;
  outcome: string;
  actor: string;
  target: string;
  source_addr: string;
  details: Record<string, unknown>;
}
const records = async (where = 'true', params: unknown[] = []) =>
  (await p.sql.query<Rec>(`SELECT action, outcome, actor, target, source_addr, details FROM citybase.audit_log WHERE ${where} ORDER BY id`, params)).rows;

test.serial('sign-ins (with source address and reason), sign-outs, password changes, refusals and admin changes are recorded', async (t) => {
  const s = await signIn(p, 'audited.user');
  await supertest(p.platform.app.callback()).post('/api/session').send({ login: 'audited.user', password: 'Wrong-pass-1' });
  await s.agent.get('/api/admin/users');
  await s.agent.delete('/api/session').set('X-CSRF-Token', s.csrf);
  const mine = await records(`actor = 'audited.user' OR target = 'audited.user'`);
  const seen = mine.map((r) => `${r.action}:${r.outcome}`);
  t.true(seen.includes('session.sign_in:success'));
  t.true(seen.includes('user.password_change:success'));
  t.true(seen.includes('session.sign_in:failure'));
  t.true(seen.includes('access.denied:failure'));
  t.true(seen.includes('session.sign_out:success'));
  const failure = mine.find((r) => r.action === 'session.sign_in' && r.outcome === 'failure')!;
  t.is(failure.details.reason, 'wrong password', 'the auditor sees the real reason the caller was not told');
  t.regex(failure.source_addr, /127\.0\.0\.1|::ffff:127\.0\.0\.1|::1/);
  const admin = await signIn(p, 'audit.admin', { roles: ['admin'] });
  const key = await admin.agent.post('/api/admin/keys').set('X-CSRF-Token', admin.csrf).send({ department: 'sthj', label: 'monitoring', rights: ['layer:read', 'layer:import'] });
  t.is(key.status, 201);
  const made = await records(`action = 'key.create'`);
  t.deepEqual(made.at(-1)!.details.rights, ['layer:read', 'layer:import']);
  t.false(JSON.stringify(await records()).includes(key.body.key), 'no secret is ever written to the trail');
  t.false(JSON.stringify(await records()).includes(GOOD_PASSWORD));
});

test.serial('the trail is append-only: UPDATE, DELETE and TRUNCATE are refused in the database', async (t) => {
  for (const sql of [`UPDATE citybase.audit_log SET outcome = 'success'`, `DELETE FROM citybase.audit_log`, `TRUNCATE citybase.audit_log`]) {
    const err = await t.throwsAsync(() => p.sql.query(sql));
    t.regex(err!.message, /append-only/, sql);
  }
  t.true((await verifyAudit(p.platform.run)).ok);
});

test.serial('records are monthly partitions, chained by hash; an edit or a deletion is found and named', async (t) => {
  const { rows } = await p.sql.query(
    `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'citybase.audit_log'::regclass`,
  );
  t.true(rows[0].n >= 2, 'this month and the next');
  const before = await verifyAudit(p.platform.run);
  t.true(before.ok);
  const env = { ...process.env, DATABASE_URL: p.url };
  const ok = await run('node', ['--import', 'tsx', 'tile-server/src/cli/audit.ts', 'verify'], { cwd: root, env });
  t.regex(ok.stdout, /audit trail intact: \d+ records/);

  // Export for the auditor, before tampering.
  const out = path.join(os.tmpdir(), `audit-${process.pid}.csv`);
  await run('node', ['--import', 'tsx', 'tile-server/src/cli/audit.ts', 'export', '--from', '2000-01-01', '--to', '2100-01-01', '--out', out], { cwd: root, env });
  const csv = fs.readFileSync(out, 'utf8');
  fs.rmSync(out);
  t.regex(csv.split('\r\n')[0]!, /^\ufeffid,at,actor_kind,actor,role,source_addr,action,target,outcome,details,hash$/);
  t.true(csv.includes('session.sign_in'));

  // A superuser who switches the triggers off can edit a record, but not its hash: the chain names it.
  const c = await p.sql.connect();
  try {
    await c.query(`SET session_replication_role = replica`);
    const { rows: victim } = await c.query(`SELECT id FROM citybase.audit_log WHERE action = 'session.sign_in' AND outcome = 'failure' ORDER BY id LIMIT 1`);
    await c.query(`UPDATE citybase.audit_log SET outcome = 'success' WHERE id = $1`, [victim[0].id]);
    const broken = await verifyAudit(p.platform.run);
    t.false(broken.ok);
    t.is(!broken.ok && broken.brokenAt, Number(victim[0].id));
    const cli = await run('node', ['--import', 'tsx', 'tile-server/src/cli/audit.ts', 'verify'], { cwd: root, env }).catch((e: { code: number; stderr: string }) => e);
    t.is((cli as { code: number }).code, 3);
    t.regex((cli as { stderr: string }).stderr, new RegExp(`BROKEN at record ${victim[0].id}: its fields do not match its hash`));
    await c.query(`UPDATE citybase.audit_log SET outcome = 'failure' WHERE id = $1`, [victim[0].id]);
    t.true((await verifyAudit(p.platform.run)).ok, 'put back, the chain holds again');
    // Deleting a record in the middle breaks the link of the next one in its chain (its stripe).
    const { rows: mid } = await c.query(
      `SELECT id, (SELECT min(n.id) FROM citybase.audit_log n WHERE n.stripe = l.stripe AND n.id > l.id) AS next
       FROM citybase.audit_log l
       WHERE EXISTS (SELECT 1 FROM citybase.audit_log n WHERE n.stripe = l.stripe AND n.id > l.id)
       ORDER BY id OFFSET 3 LIMIT 1`,
    );
    // (kept aside in SQL, microseconds and all, to be put back)
    const remove = async (id: string) => {
      await c.query(`DROP TABLE IF EXISTS pg_temp.kept; CREATE TEMP TABLE kept AS SELECT * FROM citybase.audit_log WHERE id = ${Number(id)}`);
      await c.query(`DELETE FROM citybase.audit_log WHERE id = $1`, [id]);
    };
    const putBack = () => c.query(`INSERT INTO citybase.audit_log SELECT * FROM pg_temp.kept`);
    await remove(mid[0].id);
    const gap = await verifyAudit(p.platform.run);
    t.false(gap.ok);
    t.is(!gap.ok && gap.brokenAt, Number(mid[0].next));
    t.regex(!gap.ok ? gap.reason : '', /missing/);
    await putBack();
    t.true((await verifyAudit(p.platform.run)).ok, 'put back, the chain holds again');
    // Deleting the newest record of a chain leaves its head pointing at nothing.
    const { rows: newest } = await c.query(`SELECT h.last_id::text AS id FROM citybase.audit_head h WHERE h.last_id > 0 ORDER BY h.last_id LIMIT 1`);
    await remove(newest[0].id);
    const cut = await verifyAudit(p.platform.run);
    t.false(cut.ok);
    t.is(!cut.ok && cut.brokenAt, Number(newest[0].id));
    t.regex(!cut.ok ? cut.reason : '', /deleted from the end/);
    await putBack();
    t.true((await verifyAudit(p.platform.run)).ok);
  } finally {
    c.release();
  }
});

test.serial('transactions that append at once do not queue on one chain, and every chain holds', async (t) => {
  const before = Number((await p.sql.query(`SELECT count(*) AS n FROM citybase.audit_log`)).rows[0].n);
  const append = `SELECT citybase.audit_append('system', NULL, 'audit-test', 'cli', 'local', 'test.concurrent', $1, 'success', '{}')::text AS id`;
  // 8 transactions each append two records and stay open, holding their chain as a case transition does until it
  // commits. With one chain the second would wait for the first to end (here: fail on its lock timeout).
  const open: Array<{ c: pg.Client; ids: string[] }> = [];
  try {
    for (let i = 0; i < 8; i++) {
      const c = new pg.Client(p.url);
      await c.connect();
      open.push({ c, ids: [] });
      await c.query(`BEGIN; SET LOCAL lock_timeout = '5s'`);
      for (const part of ['a', 'b']) open[i]!.ids.push((await c.query(append, [`t${i}${part}`])).rows[0].id);
    }
    for (const { c } of open) await c.query('COMMIT');
  } finally {
    await Promise.all(open.map(({ c }) => c.end()));
  }
  const { rows } = await p.sql.query(`SELECT id::text, stripe FROM citybase.audit_log WHERE id = ANY($1::int8[])`, [open.flatMap((o) => o.ids)]);
  const stripeOf = new Map(rows.map((r) => [r.id as string, r.stripe as number]));
  t.true(open.every(({ ids: [a, b] }) => stripeOf.get(a!) === stripeOf.get(b!)), 'the records of one transaction are in one chain');
  t.is(new Set(open.map(({ ids: [a] }) => stripeOf.get(a!))).size, 8, 'each open transaction had a chain of its own');
  t.is(Number((await p.sql.query(`SELECT count(*) AS n FROM citybase.audit_log`)).rows[0].n), before + 16);
  t.true((await verifyAudit(p.platform.run)).ok);
});

test.serial('GET /api/audit: the auditor only; filters by actor, action prefix, outcome and time; pages by cursor', async (t) => {
  const auditor = await signIn(p, 'the.auditor2', { roles: ['auditor'] });
  const viewer = await signIn(p, 'curious.viewer');
  t.is((await viewer.agent.get('/api/audit')).status, 403);
  t.is((await supertest(p.platform.app.callback()).get('/api/audit')).status, 401);
  const failures = await auditor.agent.get('/api/audit').query({ action: 'session', outcome: 'failure' });
  t.is(failures.status, 200);
  t.true(failures.body.records.length > 0);
  t.true(failures.body.records.every((r: Rec) => r.action.startsWith('session.') && r.outcome === 'failure'));
  const page1 = await auditor.agent.get('/api/audit').query({ limit: 2 });
  const page2 = await auditor.agent.get('/api/audit').query({ limit: 2, cursor: page1.body.next });
  t.true(Number(page2.body.records[0].id) < Number(page1.body.records[1].id));
  const byActor = await auditor.agent.get('/api/audit').query({ actor: 'curious.viewer' });
  t.true(byActor.body.records.some((r: Rec) => r.action === 'access.denied'), 'the viewer’s attempt was recorded');
  const future = await auditor.agent.get('/api/audit').query({ from: '2100-01-01' });
  t.is(future.body.records.length, 0);
  t.is((await auditor.agent.get('/api/audit').query({ from: 'yesterday' })).status, 400);
  t.is((await auditor.agent.get('/api/audit').query({ limit: '0' })).status, 400);
  t.is((await auditor.agent.patch('/api/audit/1').set('X-CSRF-Token', auditor.csrf).send({})).status, 403);
});
