// People, sessions and roles (issue 10, 等保 2.0 level 3: 身份鉴别, 访问控制): driven through the API as a
// browser and an administrator would, against a real PostGIS.
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import supertest from 'supertest';
import { totp } from '../tile-server/src/auth/totp.ts';
import { hashPassword, policyProblem } from '../tile-server/src/auth/password.ts';
import { webcrypto } from 'node:crypto';
import { roleConflict } from '../tile-server/src/access/rights.ts';
import { createUser, GOOD_PASSWORD, signIn } from './helpers/identity.ts';
import { root, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let p: TestPlatform;
test.before(async () => {
  p = await startTestPlatform({ AUTH_ADDR_MAX_FAILURES: '1000' });
});
test.after.always(async () => {
  await p?.close();
});

const fresh = () => supertest.agent(p.platform.app.callback());

test('the password policy: 8 characters, 3 of 4 classes, not the login name', (t) => {
  t.regex(policyProblem('Ab1-', 'wang')!, /at least 8/);
  t.regex(policyProblem('abcdefgh1', 'wang')!, /3 of/);
  t.regex(policyProblem('Wang-2026x', 'wang')!, /login name/);
  t.is(policyProblem('Huaian-2026', 'wang'), null);
  t.is(policyProblem('淮安市Ab1234', 'wang'), null, 'Chinese characters count as other characters');
});

test.serial('a burst of sign-ins leaves libuv threads for the database driver: its hashing is not queued behind every scrypt', async (t) => {
  // pg signs in to PostgreSQL with SCRAM through WebCrypto, on the same thread pool as scrypt. Twelve
  // password hashes at once used to take all four threads; a connection opened meanwhile waited for them all.
  const order: string[] = [];
  const hashes = Array.from({ length: 12 }, (_, i) => hashPassword(`Burst-2026-${i}`).then(() => order.push(`hash ${i}`)));
  await new Promise((resolve) => setImmediate(resolve));
  const digest = webcrypto.subtle.digest('SHA-256', new TextEncoder().encode('SCRAM')).then(() => order.push('digest'));
  await Promise.all([...hashes, digest]);
  t.true(order.indexOf('digest') < 4, `the digest finished after ${order.indexOf('digest')} hashes: ${order.join(', ')}`);
});

test('三员分立: admin, security_admin and auditor cannot be held together; unknown roles are named', (t) => {
  t.regex(roleConflict(['admin', 'auditor'])!, /different people/);
  t.regex(roleConflict(['security_admin', 'auditor', 'viewer'])!, /different people/);
  t.regex(roleConflict(['viewr'])!, /unknown role "viewr"/);
  t.is(roleConflict(['inspector', 'viewer']), null);
});

test('first sign-in with a one-time password must change it; until then nothing else is allowed', async (t) => {
  const { password } = await createUser(p, 'first.user', { roles: ['editor'] });
  const a = fresh();
  const res = await a.post('/api/session').send({ login: 'first.user', password });
  t.is(res.status, 403);
  t.is(res.body.error, 'password_change_required');
  const csrf = res.body.session.csrfToken;
  const cookie = res.headers['set-cookie']![0]!;
  t.regex(cookie, /^cb_session=[A-Za-z0-9_-]{43};/);
  t.regex(cookie, /httponly/i);
  t.regex(cookie, /samesite=lax/i);
  t.notRegex(cookie, /secure/i, 'plain http in the test: no Secure flag');

  const blocked = await a.get('/layers');
  t.is(blocked.status, 403);
  t.is(blocked.body.error, 'password_change_required');

  const weak = await a.post('/api/session/password').set('X-CSRF-Token', csrf).send({ password, newPassword: 'short' });
  t.is(weak.status, 400);
  t.is(weak.body.error, 'weak_password');
  const same = await a.post('/api/session/password').set('X-CSRF-Token', csrf).send({ password, newPassword: password });
  t.is(same.status, 400);
  t.is(same.body.error, 'password_reused');
  const wrong = await a.post('/api/session/password').set('X-CSRF-Token', csrf).send({ password: 'Not-the-1', newPassword: GOOD_PASSWORD });
  t.is(wrong.status, 401);

  const ok = await a.post('/api/session/password').set('X-CSRF-Token', csrf).send({ password, newPassword: GOOD_PASSWORD });
  t.is(ok.status, 200);
  t.is(ok.body.login, 'first.user');
  t.deepEqual(ok.body.roles, ['editor']);
  t.true(ok.body.rights.includes('layer:import'));
  t.deepEqual(ok.body.scopes, ['320800']);
  t.is(ok.body.pending, null);
  t.is((await a.get('/layers')).status, 200);
  const me = await a.get('/api/session');
  t.is(me.body.login, 'first.user');
  t.is(me.body.idleTimeoutMin, 30);
});

test('the last 5 passwords cannot be used again', async (t) => {
  const s = await signIn(p, 'rotating', { password: 'Rotate-0001' });
  let current = 'Rotate-0001';
  for (const next of ['Rotate-0002', 'Rotate-0003', 'Rotate-0004', 'Rotate-0005']) {
    const r = await s.agent.post('/api/session/password').set('X-CSRF-Token', s.csrf).send({ password: current, newPassword: next });
    t.is(r.status, 200, next);
    current = next;
  }
  const reuse = await s.agent.post('/api/session/password').set('X-CSRF-Token', s.csrf).send({ password: current, newPassword: 'Rotate-0001' });
  t.is(reuse.status, 400, 'the oldest of the last five');
  t.is(reuse.body.error, 'password_reused');
});

test('a wrong login and a wrong password get the same answer', async (t) => {
  await signIn(p, 'someone');
  const wrongPassword = await fresh().post('/api/session').send({ login: 'someone', password: 'Wrong-pass-1' });
  const wrongLogin = await fresh().post('/api/session').send({ login: 'nobody.here', password: 'Wrong-pass-1' });
  t.is(wrongPassword.status, 401);
  t.deepEqual(wrongPassword.body, wrongLogin.body);
  t.deepEqual(wrongLogin.body, { error: 'invalid_credentials', message: 'wrong login or password' });
  const bad = await fresh().post('/api/session').send({ login: 'x', password: 1 });
  t.is(bad.status, 400);
  t.regex(bad.body.message, /password/);
  const extra = await fresh().post('/api/session').send({ login: 'x', password: 'y', admin: true });
  t.is(extra.status, 400);
});

test('5 failures in 15 minutes lock the account for 15 minutes, with the same answer for unknown logins; it unlocks by itself', async (t) => {
  await signIn(p, 'locked.out');
  for (let i = 0; i < 5; i++) t.is((await fresh().post('/api/session').send({ login: 'locked.out', password: `Wrong-pass-${i}` })).status, 401);
  const locked = await fresh().post('/api/session').send({ login: 'locked.out', password: GOOD_PASSWORD });
  t.is(locked.status, 403, 'even the right password is refused while locked');
  t.is(locked.body.error, 'account_locked');
  t.truthy(Number(locked.headers['retry-after']) > 800);
  for (let i = 0; i < 5; i++) await fresh().post('/api/session').send({ login: 'ghost', password: `Wrong-pass-${i}` });
  const ghost = await fresh().post('/api/session').send({ login: 'ghost', password: GOOD_PASSWORD });
  t.is(ghost.status, 403);
  t.is(ghost.body.error, 'account_locked', 'an unknown login locks the same way: no name is confirmed');
  const { rows } = await p.sql.query(`SELECT state, locked_until > now() + interval '14 minutes' AS long FROM citybase.users WHERE login = 'locked.out'`);
  t.deepEqual(rows[0], { state: 'locked', long: true });

  // 16 minutes later (moved back in the database rather than waited for), the right password works again.
  await p.sql.query(`UPDATE citybase.sign_in_failures SET at = at - interval '16 minutes' WHERE login = 'locked.out'`);
  await p.sql.query(`UPDATE citybase.users SET locked_until = now() - interval '1 minute' WHERE login = 'locked.out'`);
  const back = await fresh().post('/api/session').send({ login: 'locked.out', password: GOOD_PASSWORD });
  t.is(back.status, 200);
  const after = await p.sql.query(`SELECT state FROM citybase.users WHERE login = 'locked.out'`);
  t.is(after.rows[0].state, 'active');
});

test('a source address with too many failures is throttled (429 + Retry-After)', async (t) => {
  const tp = await startTestPlatform({ AUTH_ADDR_MAX_FAILURES: '3' });
  try {
    const a = supertest(tp.platform.app.callback());
    for (let i = 0; i < 3; i++) t.is((await a.post('/api/session').send({ login: `user${i}`, password: 'Wrong-pass-1' })).status, 401);
    const r = await a.post('/api/session').send({ login: 'user9', password: 'Wrong-pass-1' });
    t.is(r.status, 429);
    t.is(r.body.error, 'too_many_attempts');
    t.truthy(r.headers['retry-after']);
  } finally {
    await tp.close();
  }
});

test('mutating requests in a session need the CSRF token and the same origin; sign-in refuses other origins', async (t) => {
  const s = await signIn(p, 'csrf.user');
  const noToken = await s.agent.post('/api/session/password').send({ password: GOOD_PASSWORD, newPassword: 'Other-pass-9' });
  t.is(noToken.status, 403);
  t.is(noToken.body.error, 'csrf_token_required');
  const forged = await s.agent.post('/api/session/password').set('X-CSRF-Token', 'x'.repeat(32)).send({ password: GOOD_PASSWORD, newPassword: 'Other-pass-9' });
  t.is(forged.status, 403);
  const elsewhere = await s.agent
    .post('/api/session/password')
    .set('X-CSRF-Token', s.csrf)
    .set('Origin', 'https://evil.example.com')
    .send({ password: GOOD_PASSWORD, newPassword: 'Other-pass-9' });
  t.is(elsewhere.status, 403);
  t.is(elsewhere.body.error, 'cross_origin');
  const loginCsrf = await fresh().post('/api/session').set('Origin', 'https://evil.example.com').send({ login: 'csrf.user', password: GOOD_PASSWORD });
  t.is(loginCsrf.status, 403);
  t.is(loginCsrf.body.error, 'cross_origin');
  t.is((await s.agent.get('/api/session')).status, 200, 'reading needs no token');
});

test('sign-out ends the session: the same cookie replayed is refused; a forged cookie is refused', async (t) => {
  const s = await signIn(p, 'leaving');
  const cookie = (await s.agent.get('/api/session')).request.cookies as unknown as string;
  const raw = `cb_session=${/cb_session=([^;]+)/.exec(String(cookie))?.[1] ?? ''}`;
  t.is((await s.agent.delete('/api/session').set('X-CSRF-Token', s.csrf)).status, 204);
  const replay = await fresh().get('/layers').set('Cookie', raw);
  t.is(replay.status, 401);
  t.is(replay.body.error, 'session_expired');
  t.regex(String(replay.headers['set-cookie']), /cb_session=;/, 'the dead cookie is cleared');
  const forged = await fresh().get('/layers').set('Cookie', `cb_session=${'A'.repeat(43)}`);
  t.is(forged.status, 401);
  t.is(forged.body.error, 'invalid_session');
});

test('idle timeout and absolute lifetime end a session, and the end is audited once', async (t) => {
  const idle = await signIn(p, 'idle.user');
  await p.sql.query(`UPDATE citybase.sessions SET last_seen_at = now() - interval '31 minutes' FROM citybase.users u WHERE u.id = user_id AND u.login = 'idle.user'`);
  // The in-memory copy is dropped by the change notification of a revocation, not of a touch: expire it in memory too.
  p.platform.identity.sessions.forget();
  const r = await idle.agent.get('/api/session');
  t.is(r.status, 401);
  t.is(r.body.error, 'session_expired');
  const old = await signIn(p, 'old.user');
  await p.sql.query(`UPDATE citybase.sessions SET expires_at = now() - interval '1 second' FROM citybase.users u WHERE u.id = user_id AND u.login = 'old.user'`);
  p.platform.identity.sessions.forget();
  t.is((await old.agent.get('/layers')).status, 401);
  const { rows } = await p.sql.query(`SELECT count(*)::int AS n FROM citybase.audit_log WHERE action = 'session.expire' AND actor IN ('idle.user', 'old.user')`);
  t.is(rows[0].n, 2);
});

test('roles decide: a viewer is refused the admin API, an admin manages users, an auditor only reads the trail', async (t) => {
  const viewer = await signIn(p, 'plain.viewer');
  const admin = await signIn(p, 'the.admin', { roles: ['admin'] });
  const auditor = await signIn(p, 'the.auditor', { roles: ['auditor'] });
  const v = await viewer.agent.get('/api/admin/users');
  t.is(v.status, 403);
  t.is(v.body.error, 'forbidden');
  t.is((await fresh().get('/api/admin/users')).status, 401);
  const list = await admin.agent.get('/api/admin/users');
  t.is(list.status, 200);
  t.true(list.body.some((u: { login: string }) => u.login === 'plain.viewer'));
  t.false(JSON.stringify(list.body).includes('scrypt$'), 'no password hash leaves the server');
  t.is((await auditor.agent.get('/api/admin/users')).status, 403, 'the auditor does not administer');
  t.is((await admin.agent.get('/api/audit')).status, 403, 'the administrator does not read the audit trail');
  t.is((await admin.agent.delete('/api/audit/1').set('X-CSRF-Token', admin.csrf)).status, 403);
  const trail = await auditor.agent.get('/api/audit').query({ action: 'session', limit: 5 });
  t.is(trail.status, 200);
  t.is(trail.body.records.length, 5);

  const conflict = await admin.agent
    .post('/api/admin/users')
    .set('X-CSRF-Token', admin.csrf)
    .send({ login: 'two.hats', department: 'dsj', roles: ['admin', 'auditor'] });
  t.is(conflict.status, 400);
  t.is(conflict.body.error, 'invalid_roles');
  const made = await admin.agent
    .post('/api/admin/users')
    .set('X-CSRF-Token', admin.csrf)
    .send({ login: 'new.inspector', department: 'cgj', roles: ['inspector'], displayName: '王监督' });
  t.is(made.status, 201);
  t.regex(made.body.password, /^.{16}$/);
  t.is(made.body.user.mustChangePassword, true);
  const badScope = await admin.agent.patch(`/api/admin/users/${made.body.user.id}`).set('X-CSRF-Token', admin.csrf).send({ scopes: ['999999'] });
  t.is(badScope.status, 400);
  t.is(badScope.body.error, 'unknown_scope');
});

test('a change of roles applies to the very next request (no stale window)', async (t) => {
  const s = await signIn(p, 'promoted');
  const admin = await signIn(p, 'promoter', { roles: ['admin'] });
  t.false((await s.agent.get('/api/session')).body.rights.includes('user:manage'));
  const patched = await admin.agent.patch(`/api/admin/users/${s.userId}`).set('X-CSRF-Token', admin.csrf).send({ roles: ['admin'] });
  t.is(patched.status, 200);
  t.true((await s.agent.get('/api/session')).body.rights.includes('user:manage'));
  t.is((await s.agent.get('/api/admin/users')).status, 200);
  // and a revoked session is refused on the next request, on every instance (the revocation is a notification)
  const sessions = await admin.agent.get('/api/admin/sessions');
  const handle = sessions.body.find((x: { login: string }) => x.login === 'promoted').handle;
  t.is((await admin.agent.delete(`/api/admin/sessions/${handle}`).set('X-CSRF-Token', admin.csrf)).status, 204);
  t.is((await s.agent.get('/api/session')).status, 401);
});

test('administrators lock, unlock, disable and reset; a disabled user cannot sign in', async (t) => {
  const s = await signIn(p, 'to.disable');
  const admin = await signIn(p, 'disabler', { roles: ['admin'] });
  const call = (action: string) => admin.agent.post(`/api/admin/users/${s.userId}/${action}`).set('X-CSRF-Token', admin.csrf);
  t.is((await call('disable')).status, 200);
  t.is((await s.agent.get('/api/session')).status, 401, 'its sessions end at once');
  const refused = await fresh().post('/api/session').send({ login: 'to.disable', password: GOOD_PASSWORD });
  t.is(refused.status, 403);
  t.is(refused.body.error, 'account_disabled');
  t.is((await call('enable')).status, 200);
  const reset = await call('reset');
  t.is(reset.status, 200);
  const again = await fresh().post('/api/session').send({ login: 'to.disable', password: reset.body.password });
  t.is(again.body.error, 'password_change_required');
  t.is((await admin.agent.post(`/api/admin/users/${admin.userId}/disable`).set('X-CSRF-Token', admin.csrf)).status, 403, 'not oneself');
});

test('TOTP (RFC 6238): required for administrators when configured; enrolment, then sign-in needs the code', async (t) => {
  // RFC 6238 Appendix B: SHA-1 secret "12345678901234567890" at T = 59 s gives 94287082 (8 digits; 6 = 287082).
  t.is(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 59_000), '287082');
  const tp = await startTestPlatform({ AUTH_TOTP_REQUIRED: 'true' });
  try {
    const { password } = await createUser(tp, 'secure.admin', { roles: ['admin'] });
    const a = supertest.agent(tp.platform.app.callback());
    const first = await a.post('/api/session').send({ login: 'secure.admin', password });
    const changed = await a
      .post('/api/session/password')
      .set('X-CSRF-Token', first.body.session.csrfToken)
      .send({ password, newPassword: GOOD_PASSWORD });
    t.is(changed.body.pending, 'totp_enrolment_required');
    t.is((await a.get('/api/admin/users')).body.error, 'totp_enrolment_required');
    const enrol = await a.post('/api/session/totp').set('X-CSRF-Token', changed.body.csrfToken);
    t.regex(enrol.body.uri, /^otpauth:\/\/totp\/CityBase%3Asecure.admin\?secret=[A-Z2-7]+/);
    const wrong = await a.post('/api/session/totp/confirm').set('X-CSRF-Token', changed.body.csrfToken).send({ code: '000000' });
    t.is(wrong.status, 400);
    const ok = await a.post('/api/session/totp/confirm').set('X-CSRF-Token', changed.body.csrfToken).send({ code: totp(enrol.body.secret) });
    t.is(ok.status, 200);
    t.is(ok.body.pending, null);
    const b = supertest.agent(tp.platform.app.callback());
    const without = await b.post('/api/session').send({ login: 'secure.admin', password: GOOD_PASSWORD });
    t.is(without.status, 401);
    t.is(without.body.error, 'totp_required');
    const withCode = await b.post('/api/session').send({ login: 'secure.admin', password: GOOD_PASSWORD, totp: totp(enrol.body.secret) });
    t.is(withCode.status, 200);
    t.true(withCode.body.rights.includes('user:manage'));
  } finally {
    await tp.close();
  }
});

test('session cookies are Secure behind HTTPS (PUBLIC_URL https, or X-Forwarded-Proto)', async (t) => {
  const tp = await startTestPlatform({ PUBLIC_URL: 'https://gis.huaian.gov.cn/citybase' });
  try {
    const { password } = await createUser(tp, 'https.user');
    const r = await supertest(tp.platform.app.callback()).post('/api/session').send({ login: 'https.user', password });
    t.regex(r.headers['set-cookie']![0]!, /;\s*secure/i);
  } finally {
    await tp.close();
  }
});

test('API keys: rights by name, an expiry, and revocation that applies to the very next request', async (t) => {
  const { id, key } = await p.platform.keys.create('jtj', 'expiring', ['layer:read', 'case:report']);
  const ok = await fresh().get('/api/session').set('Authorization', `Bearer ${key}`);
  t.deepEqual(ok.body.rights, ['layer:read', 'case:report']);
  await p.sql.query(`UPDATE citybase.api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
  const expired = await fresh().get('/layers').set('Authorization', `Bearer ${key}`);
  t.is(expired.status, 401);
  t.is(expired.body.error, 'expired_api_key');
  const other = await p.platform.keys.create('jtj', 'revoked');
  t.is((await fresh().get('/layers').set('Authorization', `Bearer ${other.key}`)).status, 200);
  await p.sql.query(`UPDATE citybase.api_keys SET revoked_at = now() WHERE id = $1`, [other.id]);
  t.is((await fresh().get('/layers').set('Authorization', `Bearer ${other.key}`)).status, 401);
  await t.throwsAsync(() => p.platform.keys.create('jtj', 'x', ['user:manage']), { message: /cannot hold user:manage/ });
});

test('npm run user: the first administrator gets a one-time password on the last line; bad input exits non-zero', async (t) => {
  const run = promisify(execFile);
  const env = { ...process.env, DATABASE_URL: p.url, LOG_LEVEL: 'silent' };
  const created = await run('node', ['--import', 'tsx', 'tile-server/src/cli/user.ts', 'create', '--login', 'admin', '--role', 'admin'], { cwd: root, env });
  const lines = created.stdout.trim().split('\n');
  const password = lines[lines.length - 1]!;
  t.regex(password, /^\S{16}$/);
  const first = await fresh().post('/api/session').send({ login: 'admin', password });
  t.is(first.body.error, 'password_change_required');
  const listed = await run('node', ['--import', 'tsx', 'tile-server/src/cli/user.ts', 'list'], { cwd: root, env });
  t.regex(listed.stdout, /admin/);
  const bad = await run('node', ['--import', 'tsx', 'tile-server/src/cli/user.ts', 'create', '--login', 'x2', '--role', 'admin,auditor'], { cwd: root, env }).catch(
    (e: { code: number; stderr: string }) => e,
  );
  t.is((bad as { code: number }).code, 1);
  t.regex((bad as { stderr: string }).stderr, /different people/);
});
