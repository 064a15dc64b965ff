import type pg from 'pg';

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
 * The parameters of cases.append_timeline (migration 0062) for a record: the timeline row's fields, then the
 * platform audit trail's actor and details. The one place that says what a case's records contain.
 */
export function timelineValues(record: AuditRecord): unknown[] {
  const { actor, action, target, outcome, details } = record;
  const { role = '', from = null, to = null, note = '', reason = '', ...rest } = details;
  const [kind, id] = actor.split(':');
  return [
    target, actor, String(role), action, from, to, note, reason, outcome, JSON.stringify(rest),
    kind === 'user' || kind === 'key' ? kind : 'anonymous',
    id ? Number(id) : null,
    JSON.stringify({ from, to, ...(note ? { note } : {}), ...(reason ? { reason } : {}), ...rest }),
  ];
}

/** The SQL types of timelineValues, in order. */
export const TIMELINE_TYPES = ['bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'jsonb', 'text', 'integer', 'jsonb'] as const;

/** An argument list `$first::type, …` for the given types (by default all of timelineValues). */
export const timelineArgs = (first: number, types: readonly string[] = TIMELINE_TYPES) => types.map((t, i) => `$${first + i}::${t}`).join(', ');

/**
 * The audit trail of the cases: a record goes to the case timeline and to the platform's audit trail
 * (citybase.audit_log, hash-chained, through citybase.audit_append), both inside the caller's transaction and in
 * one statement (cases.append_timeline), so the records exist exactly when the act does. Returns the timeline
 * row's id.
 */
export async function audit(client: pg.ClientBase, record: AuditRecord): Promise<number> {
  const { rows } = await client.query<{ id: string }>({
    name: 'cases.append_timeline',
    text: `SELECT cases.append_timeline(${timelineArgs(1)}) AS id`,
    values: timelineValues(record),
  });
  return Number(rows[0]!.id);
}
