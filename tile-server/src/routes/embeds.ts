import type Router from '@koa/router';
import type { Context } from 'koa';
import { hasRight, requireRight } from '../access/access.ts';
import { checkEmbedLayers } from '../access/embed.ts';
import type { AppState } from '../app.ts';
import { actorOf, audit } from '../auth/audit.ts';
import type { Identity } from '../auth/identity.ts';
import { HttpError, badRequest, notFound } from '../errors.ts';
import { readJsonBody } from '../features/body.ts';
import type { LayerRegistry } from '../registry/registry.ts';

const MAX_BODY = 64 * 1024;
const FIELDS = ['department', 'label', 'origins', 'layers', 'scopes', 'expiresAt', 'ratePerMinute'];

const strings = (v: unknown, name: string): string[] | undefined => {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 100 || v.some((s) => typeof s !== 'string' || s.length > 200)) throw badRequest('invalid_request', `${name}: a list of strings`);
  return v as string[];
};

/**
 * The department whose embed keys and widgets the caller manages (embed:manage): null for every department (an
 * administrator of users), else the caller's own.
 */
export function embedManager(ctx: Context): string | null {
  ctx.state.route = 'admin';
  ctx.set('Cache-Control', 'no-store');
  requireRight(ctx.state.principal, 'embed:manage');
  return hasRight(ctx.state.principal, 'user:manage') ? null : ctx.state.principal.department;
}

/**
 * Embed keys of a department (embed:manage: editors and administrators): list, create (the key shown once),
 * revoke. A holder of embed:manage manages its own department's keys; user:manage any department's. Every
 * change is audited (embed_key.create, embed_key.revoke) without the key.
 */
export function embedKeyRoutes(router: Router<AppState>, deps: { identity: Identity; registry: LayerRegistry }): void {
  const { identity: id } = deps;
  const manage = embedManager;

  router.get('/api/admin/embed-keys', async (ctx) => {
    const department = manage(ctx);
    ctx.body = await id.keys.listEmbed(department);
  });

  router.post('/api/admin/embed-keys', async (ctx) => {
    const own = manage(ctx);
    const body = await readJsonBody(ctx, MAX_BODY);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('invalid_request', 'send a JSON object');
    const b = body as Record<string, unknown>;
    const unknown = Object.keys(b).filter((k) => !FIELDS.includes(k));
    if (unknown.length) throw badRequest('invalid_request', `unknown field "${unknown[0]!.slice(0, 40)}" (fields: ${FIELDS.join(', ')})`);
    if (b.department !== undefined && typeof b.department !== 'string') throw badRequest('invalid_request', 'department: a department id');
    const department = (b.department as string | undefined) ?? ctx.state.principal.department;
    if (!department) throw badRequest('invalid_request', 'department is required');
    if (own !== null && department !== own) throw new HttpError(403, 'forbidden', `embed keys of ${department.slice(0, 40)} are made by that department`);
    await id.users.validate({ department });
    if (b.label !== undefined && (typeof b.label !== 'string' || b.label.length > 200)) throw badRequest('invalid_request', 'label: a string of at most 200 characters');
    const origins = strings(b.origins, 'origins') ?? [];
    const metas = new Map(deps.registry.list().map((s) => [s.meta.id, s.meta]));
    const layers = checkEmbedLayers(department, strings(b.layers, 'layers') ?? [], metas);
    const scopes = strings(b.scopes, 'scopes');
    if (scopes) await id.users.checkScopes(scopes);
    let expiresAt: Date | null = null;
    if (b.expiresAt !== undefined && b.expiresAt !== null) {
      expiresAt = new Date(String(b.expiresAt));
      if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now()) throw badRequest('invalid_request', 'expiresAt: a future ISO 8601 time');
    }
    if (b.ratePerMinute !== undefined && typeof b.ratePerMinute !== 'number') throw badRequest('invalid_rate', 'ratePerMinute: a whole number');
    const created = await id.keys.createEmbed(department, {
      label: (b.label as string | undefined) ?? '',
      origins,
      layers,
      scopes,
      expiresAt,
      ratePerMinute: b.ratePerMinute as number | undefined,
    });
    const [info] = (await id.keys.listEmbed(department)).filter((k) => k.id === created.id);
    await audit(id.run, actorOf(ctx.state.principal, ctx.ip), {
      action: 'embed_key.create',
      outcome: 'success',
      target: `key:${created.id}`,
      details: { department, origins: info!.origins, layers, scopes: scopes ?? ['320800'], expiresAt, ratePerMinute: info!.ratePerMinute },
    });
    ctx.status = 201;
    ctx.body = { ...info, key: created.key };
  });

  router.delete('/api/admin/embed-keys/:id', async (ctx) => {
    const department = manage(ctx);
    if (!/^\d{1,9}$/.test(ctx.params.id!)) throw badRequest('invalid_request', 'ids are whole numbers');
    const keyId = Number(ctx.params.id);
    if (!(await id.keys.revokeEmbed(keyId, department))) throw notFound('unknown_key', `no open embed key ${keyId}${department ? ` of ${department}` : ''}`);
    await audit(id.run, actorOf(ctx.state.principal, ctx.ip), { action: 'embed_key.revoke', outcome: 'success', target: `key:${keyId}` });
    ctx.status = 204;
  });
}
