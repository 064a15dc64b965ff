import type Router from '@koa/router';
import { requireRight } from '../access/access.ts';
import type { AppState } from '../app.ts';
import { HttpError, badRequest } from '../errors.ts';
import { listAudit } from '../auth/audit.ts';
import type { QueryRunner } from '../db/query.ts';

const ALLOWED = ['actor', 'action', 'outcome', 'from', 'to', 'cursor', 'limit'];

/**
 * GET /api/audit for the auditor (audit:read) and nobody else: records newest first, filtered by actor, action
 * (a prefix such as `session` matches `session.sign_in`), outcome and time, paged by `cursor`. The trail cannot
 * be changed through the API: any other method is refused (and, like every refusal, audited).
 */
export function auditRoutes(router: Router<AppState>, run: QueryRunner): void {
  router.get('/api/audit', async (ctx) => {
    ctx.state.route = 'audit';
    requireRight(ctx.state.principal, 'audit:read');
    const q = ctx.query;
    const unknown = Object.keys(q).filter((k) => !ALLOWED.includes(k) && k !== 'key');
    if (unknown.length) throw badRequest('invalid_parameter', `unknown parameter ${unknown[0]!.slice(0, 40)} (${ALLOWED.join(', ')})`);
    const one = (name: string): string | undefined => {
      const v = q[name];
      if (Array.isArray(v)) throw badRequest('invalid_parameter', `${name}: give it once`);
      return v === undefined || v === '' ? undefined : String(v).slice(0, 200);
    };
    const time = (name: string) => {
      const v = one(name);
      if (v !== undefined && Number.isNaN(Date.parse(v))) throw badRequest('invalid_parameter', `${name}: an ISO 8601 date or time`);
      return v;
    };
    const limitText = one('limit') ?? '100';
    if (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 1000) throw badRequest('invalid_parameter', 'limit: 1 to 1000');
    const cursor = one('cursor');
    if (cursor !== undefined && !/^\d{1,18}$/.test(cursor)) throw badRequest('invalid_parameter', 'cursor: as given in the last answer');
    const outcome = one('outcome');
    if (outcome !== undefined && outcome !== 'success' && outcome !== 'failure') throw badRequest('invalid_parameter', 'outcome: success or failure');
    const limit = Number(limitText);
    const records = await listAudit(run, {
      actor: one('actor'),
      action: one('action'),
      outcome,
      from: time('from'),
      to: time('to'),
      before: cursor === undefined ? undefined : Number(cursor),
      limit,
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { records, next: records.length === limit ? records[records.length - 1]!.id : null };
  });

  const refuse = () => {
    throw new HttpError(403, 'audit_append_only', 'the audit trail is append-only: records cannot be changed or removed');
  };
  for (const path of ['/api/audit', '/api/audit/:id']) {
    router.post(path, refuse);
    router.put(path, refuse);
    router.patch(path, refuse);
    router.delete(path, refuse);
  }
}
