import type pg from 'pg';
import { audit as trail } from '../auth/audit.ts';

/** One auditable act on a case: who, what, on which case, how it ended, and what else there is to know. */
export interface AuditRecord {
  actor: string;
  action: string;
  /** The case id. */
  target: string;
  outcome: 'ok' | 'refused';
  details: {
    role?: string;
    from?: string | null;
    to?: string | null;
    note?: string;
    reason?: string;
    [more: string]: unknown;
  };
}

/**
 * The audit trail of the cases: a record goes to the case timeline and to the platform's audit trail
 * (citybase.audit_log, hash-chained), both inside the caller's transaction, so the records exist exactly when
 * the act does. Returns the timeline row's id.
 */
export async function audit(client: pg.ClientBase, record: AuditRecord): Promise<number> {
  const { actor, action, target, outcome, details } = record;
  const { role = '', from = null, to = null, note = '', reason = '', ...rest } = details;
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO cases.timeline (case_id, actor, actor_role, action, from_state, to_state, note, reason, outcome, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [target, actor, role, action, from, to, note, reason, outcome, JSON.stringify(rest)],
  );
  const [kind, id] = actor.split(':');
  await trail(
    client,
    { kind: kind === 'user' || kind === 'key' ? kind : 'anonymous', id: id ? Number(id) : null, name: actor, role: String(role), sourceAddr: '' },
    {
      action: `case.${action}`,
      outcome: outcome === 'ok' ? 'success' : 'failure',
      target: `case:${target}`,
      details: { from, to, ...(note ? { note } : {}), ...(reason ? { reason } : {}), ...rest },
    },
  );
  return Number(rows[0]!.id);
}
