import type Router from '@koa/router';
import type { Context } from 'koa';
import { requireRight } from '../access/access.ts';
import { keyRights, roles as roleTable, rights as rightTable } from '../access/rights.ts';
import type { AppState } from '../app.ts';
import { HttpError, badRequest, notFound } from '../errors.ts';
import { readJsonBody } from '../features/body.ts';
import { actorOf, audit } from '../auth/audit.ts';
import type { Identity } from '../auth/identity.ts';
import { publicUser, type UserChanges } from '../auth/users.ts';

const MAX_BODY = 64 * 1024;

function idParam(ctx: Context): number {
  const v = ctx.params.id!;
  if (!/^\d{1,9}$/.test(v)) throw badRequest('invalid_request', 'ids are whole numbers');
  return Number(v);
}

function object(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('invalid_request', 'send a JSON object');
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length) throw badRequest('invalid_request', `unknown field "${unknown[0]!.slice(0, 40)}" (fields: ${allowed.join(', ')})`);
  return body as Record<string, unknown>;
}

const strings = (v: unknown, name: string): string[] | undefined => {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw badRequest('invalid_request', `${name}: a list of strings`);
  return v as string[];
};
const text = (v: unknown, name: string): string | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > 200) throw badRequest('invalid_request', `${name}: a string of at most 200 characters`);
  return v;
};

function changes(b: Record<string, unknown>): UserChanges {
  return {
    displayName: text(b.displayName, 'displayName'),
    department: text(b.department, 'department'),
    phone: b.phone === null ? null : text(b.phone, 'phone'),
    roles: strings(b.roles, 'roles'),
    scopes: strings(b.scopes, 'scopes'),
    vehicleGroups: b.vehicleGroups === null ? null : strings(b.vehicleGroups, 'vehicleGroups'),
  };
}

/**
 * The administration API behind the admin page: users (user:manage), their state (user:manage or
 * session:manage), sessions (session:manage), API keys and departments (user:manage), and the rights table.
 * Every change is audited with what changed.
 */
export function adminRoutes(router: Router<AppState>, id: Identity): void {
  const done = (ctx: Context, action: string, target: string, details: Record<string, unknown> = {}) =>
    audit(id.run, actorOf(ctx.state.principal, ctx.ip), { action, outcome: 'success', target, details });
  const manageUsers = (ctx: Context) => {
    ctx.state.route = 'admin';
    ctx.set('Cache-Control', 'no-store');
    requireRight(ctx.state.principal, 'user:manage');
  };
  const manageSessions = (ctx: Context) => {
    ctx.state.route = 'admin';
    ctx.set('Cache-Control', 'no-store');
    const p = ctx.state.principal;
    if (!p.rights.includes('user:manage')) requireRight(p, 'session:manage');
  };

  router.get('/api/admin/roles', (ctx) => {
    manageSessions(ctx);
    ctx.body = { roles: roleTable, rights: rightTable, keyRights };
  });

  router.get('/api/admin/departments', async (ctx) => {
    manageSessions(ctx);
    ctx.body = await id.run.query(`SELECT id, name_zh, name_en FROM citybase.departments ORDER BY id`);
  });

  router.get('/api/admin/users', async (ctx) => {
    manageSessions(ctx);
    ctx.body = (await id.users.list()).map(publicUser);
  });

  router.post('/api/admin/users', async (ctx) => {
    manageUsers(ctx);
    const b = object(await readJsonBody(ctx, MAX_BODY), ['login', 'displayName', 'department', 'phone', 'roles', 'scopes', 'vehicleGroups']);
    if (typeof b.login !== 'string') throw badRequest('invalid_request', 'login is required');
    const c = changes(b);
    if (!c.department) throw badRequest('invalid_request', 'department is required');
    const { user, password } = await id.users.create(b.login, { ...c, department: c.department, roles: c.roles ?? ['viewer'] });
    await done(ctx, 'user.create', user.login, { department: user.department_id, roles: user.roles, scopes: user.scopes, vehicleGroups: user.vehicle_groups });
    ctx.status = 201;
    // The one-time password is shown once, to the administrator who made the account.
    ctx.body = { user: publicUser(user), password };
  });

  router.patch('/api/admin/users/:id', async (ctx) => {
    manageUsers(ctx);
    const uid = idParam(ctx);
    const before = await id.users.byId(uid);
    if (!before) throw notFound('unknown_user', `no user ${uid}`);
    const b = object(await readJsonBody(ctx, MAX_BODY), ['displayName', 'department', 'phone', 'roles', 'scopes', 'vehicleGroups']);
    const after = await id.users.update(uid, changes(b));
    const diff = Object.fromEntries(
      (['display_name', 'department_id', 'phone', 'roles', 'scopes', 'vehicle_groups'] as const)
        .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
        .map((k) => [k, { from: before[k], to: after[k] }]),
    );
    await done(ctx, 'user.update', after.login, diff);
    ctx.body = publicUser(after);
  });

  router.post('/api/admin/users/:id/:action', async (ctx) => {
    const action = ctx.params.action!;
    if (!['reset', 'lock', 'unlock', 'disable', 'enable', 'reset-totp'].includes(action))
      throw notFound('not_found', `no user action "${action.slice(0, 40)}" (reset, lock, unlock, disable, enable, reset-totp)`);
    if (action === 'disable' || action === 'enable') manageUsers(ctx);
    else manageSessions(ctx);
    const uid = idParam(ctx);
    const user = await id.users.byId(uid);
    if (!user) throw notFound('unknown_user', `no user ${uid}`);
    if (user.id === ctx.state.principal.userId && action !== 'reset-totp')
      throw new HttpError(403, 'forbidden', 'administrators do not lock, disable or reset themselves: ask another');
    let body: Record<string, unknown> = {};
    switch (action) {
      case 'reset':
        body = { password: await id.users.reset(uid) };
        await id.sessions.endAllOf(uid, 'password reset');
        break;
      case 'lock':
        await id.users.setState(uid, 'locked', null);
        await id.sessions.endAllOf(uid, 'locked');
        break;
      case 'disable':
        await id.users.setState(uid, 'disabled', null);
        await id.sessions.endAllOf(uid, 'disabled');
        break;
      case 'unlock':
      case 'enable':
        await id.users.setState(uid, 'active', null);
        break;
      case 'reset-totp':
        await id.run.query(`UPDATE citybase.users SET totp_enabled = false, totp_secret = NULL, updated_at = now() WHERE id = $1`, [uid]);
        break;
    }
    await done(ctx, `user.${action.replace('-', '_')}`, user.login);
    ctx.body = { user: publicUser((await id.users.byId(uid))!), ...body };
  });

  router.get('/api/admin/sessions', async (ctx) => {
    manageSessions(ctx);
    ctx.body = await id.sessions.list();
  });

  router.delete('/api/admin/sessions/:handle', async (ctx) => {
    manageSessions(ctx);
    const login = await id.sessions.revokeByHandle(ctx.params.handle!);
    if (!login) throw notFound('unknown_session', 'no open session with that handle');
    await done(ctx, 'session.revoke', login, { handle: ctx.params.handle });
    ctx.status = 204;
  });

  router.get('/api/admin/keys', async (ctx) => {
    manageUsers(ctx);
    ctx.body = await id.run.query(
      `SELECT id, department_id AS department, label, rights, scopes, created_at, expires_at, revoked_at FROM citybase.api_keys WHERE kind = 'api' ORDER BY id`,
    );
  });

  router.post('/api/admin/keys', async (ctx) => {
    manageUsers(ctx);
    const b = object(await readJsonBody(ctx, MAX_BODY), ['department', 'label', 'rights', 'scopes', 'expiresAt']);
    const department = text(b.department, 'department');
    if (!department) throw badRequest('invalid_request', 'department is required');
    await id.users.validate({ department });
    const scopes = strings(b.scopes, 'scopes');
    if (scopes) await id.users.checkScopes(scopes);
    let expiresAt: Date | null = null;
    if (b.expiresAt !== undefined && b.expiresAt !== null) {
      expiresAt = new Date(String(b.expiresAt));
      if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now()) throw badRequest('invalid_request', 'expiresAt: a future ISO 8601 time');
    }
    const rights = strings(b.rights, 'rights') ?? ['layer:read'];
    const { id: keyId, key } = await id.keys.create(department, text(b.label, 'label') ?? '', rights, { scopes: scopes ?? ['320800'], expiresAt });
    await done(ctx, 'key.create', `key:${keyId}`, { department, rights, scopes: scopes ?? ['320800'], expiresAt });
    ctx.status = 201;
    ctx.body = { id: keyId, key };
  });

  router.delete('/api/admin/keys/:id', async (ctx) => {
    manageUsers(ctx);
    const keyId = idParam(ctx);
    if (!(await id.keys.revoke(keyId, 'api'))) throw notFound('unknown_key', `no open key ${keyId}`);
    await done(ctx, 'key.revoke', `key:${keyId}`);
    ctx.status = 204;
  });
}
