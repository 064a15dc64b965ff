import type pg from 'pg';
import { z } from 'zod';
import { requireRight, type Principal } from '../access/access.ts';
import { actorOf as auditActor, audit } from '../auth/audit.ts';
import { badRequest, HttpError } from '../errors.ts';
import { transition } from './workflow.ts';

/** At most this many cases in one bulk request (a desk's page of the queue). */
export const MAX_BULK = 100;

const bulkSchema = z
  .object({
    cases: z.array(z.string().regex(/^(\d{1,15}|320800\d{12,})$/, 'a case id or code')).min(1).max(MAX_BULK),
    department: z.string().regex(/^[a-z][a-z0-9_]*$/).optional(),
    reason: z.string().trim().max(2000).optional(),
  })
  .strict();
export type BulkDispatchInput = z.infer<typeof bulkSchema>;

export function parseBulkDispatch(raw: unknown): BulkDispatchInput {
  const r = bulkSchema.safeParse(raw);
  if (!r.success) throw badRequest('invalid_bulk', r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  const seen = new Set<string>();
  for (const c of r.data.cases) {
    if (seen.has(c)) throw badRequest('invalid_bulk', `case ${c} is listed twice`);
    seen.add(c);
  }
  return r.data;
}

export type BulkResult =
  | { case: string; ok: true; code: string; from: string; state: string; version: number }
  | { case: string; ok: false; status: number; error: string; message: string; state?: string };

/**
 * 批量派遣: each case goes through THE transition function on its own (its own transaction, lock, checks, timeline
 * and audit record), one after the other, so one refused case (another's scope, already dispatched, a routed
 * department that differs without a reason) does not undo or block the others. The answer lists each case's
 * outcome in the order given. No department: each case goes to its routed one. A refused case is recorded in
 * the audit trail as a failed case.dispatch (a dispatched one is audited by the transition itself).
 */
export async function bulkDispatch(pool: pg.Pool, principal: Principal, input: BulkDispatchInput, sourceAddr = ''): Promise<BulkResult[]> {
  requireRight(principal, 'case:dispatch');
  const results: BulkResult[] = [];
  for (const ref of input.cases) {
    try {
      const r = await transition(pool, principal, ref, {
        action: 'dispatch',
        ...(input.department ? { department: input.department } : {}),
        ...(input.reason ? { reason: input.reason } : {}),
      });
      results.push({ case: ref, ok: true, ...r });
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      const state = (err.extra as { state?: string } | undefined)?.state;
      results.push({ case: ref, ok: false, status: err.status, error: err.code, message: err.message, ...(state ? { state } : {}) });
      const client = await pool.connect();
      try {
        await audit(client, auditActor(principal, sourceAddr), {
          action: 'case.dispatch',
          outcome: 'failure',
          target: `case:${ref}`,
          details: { bulk: true, status: err.status, error: err.code, ...(input.department ? { department: input.department } : {}) },
        });
      } finally {
        client.release();
      }
    }
  }
  return results;
}
