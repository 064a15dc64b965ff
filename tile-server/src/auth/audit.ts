import type pg from 'pg';
import type { Principal } from '../access/access.ts';
import type { QueryRunner } from '../db/query.ts';

/**
 * The audit trail (安全审计): one record per sign-in, sign-out, expiry, password change, lock, user/role/scope/key
 * change, import, layer definition change, export, case transition and alarm acknowledgement. Records are written
 * only by citybase.audit_append (SQL), which chains each to the previous one; the table refuses UPDATE, DELETE
 * and TRUNCATE.
 */
export interface AuditEntry {
  action: string;
  outcome: 'success' | 'failure';
  target?: string;
  details?: Record<string, unknown>;
}

export interface AuditActor {
  kind: 'anonymous' | 'key' | 'user' | 'embed' | 'system';
  id: number | null;
  name: string;
  role: string;
  sourceAddr: string;
}

export function actorOf(principal: Principal, sourceAddr: string): AuditActor {
  return {
    kind: principal.kind,
    id: principal.userId ?? principal.keyId,
    name: principal.login ?? (principal.keyId !== null ? `key:${principal.keyId}` : ''),
    role: principal.roles.join(',') || (principal.kind === 'key' ? `${principal.department ?? ''} key` : principal.kind === 'embed' ? `${principal.department ?? ''} embed key` : ''),
    sourceAddr,
  };
}

export const systemActor = (name: string): AuditActor => ({ kind: 'system', id: null, name, role: 'cli', sourceAddr: 'local' });

const APPEND = `SELECT citybase.audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) AS id`;

/** Write one record (in the given client's transaction when one is passed, so it commits with the change). */
export async function audit(run: QueryRunner | pg.ClientBase, actor: AuditActor, entry: AuditEntry): Promise<void> {
  const values = [
    actor.kind,
    actor.id,
    actor.name,
    actor.role,
    actor.sourceAddr,
    entry.action,
    entry.target ?? '',
    entry.outcome,
    JSON.stringify(entry.details ?? {}),
  ];
  await (run as { query(text: string, values: unknown[]): Promise<unknown> }).query(APPEND, values);
}

export interface AuditRecord {
  id: string;
  at: string;
  actor_kind: string;
  actor: string;
  role: string;
  source_addr: string;
  action: string;
  target: string;
  outcome: string;
  details: unknown;
  hash: string;
}

export interface AuditQuery {
  actor?: string | undefined;
  action?: string | undefined;
  outcome?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  /** Records with ids below this (newest first paging). */
  before?: number | undefined;
  limit: number;
}

/** Records newest first, filtered; every value a bind parameter. */
export async function listAudit(run: QueryRunner, q: AuditQuery): Promise<AuditRecord[]> {
  return run.query<AuditRecord & Record<string, unknown>>(
    `SELECT id::text, to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.MSOF') AS at, actor_kind, actor, role, source_addr, action, target,
            outcome, details, hash
     FROM citybase.audit_log
     WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2 OR action LIKE $2 || '.%')
       AND ($3::text IS NULL OR outcome = $3)
       AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)
       AND ($6::int8 IS NULL OR id < $6)
     ORDER BY id DESC
     LIMIT $7`,
    [q.actor ?? null, q.action ?? null, q.outcome ?? null, q.from ?? null, q.to ?? null, q.before ?? null, q.limit],
  );
}

export type VerifyResult = { ok: true; records: number; first: number | null; last: number | null } | { ok: false; records: number; brokenAt: number; reason: string };

/**
 * Recompute the chain: each record's hash from its fields and its predecessor's hash, and each prev_hash equal to
 * the hash before it. The oldest record kept starts the chain (older months may have been dropped by retention).
 */
export async function verifyAudit(run: QueryRunner): Promise<VerifyResult> {
  const rows = await run.query<{ id: string; ok_hash: boolean; ok_link: boolean | null; ok_seq: boolean | null; n: string }>(
    `WITH r AS (
       SELECT id, hash, prev_hash,
              hash = encode(sha256(convert_to(citybase.audit_record_text(id, at, actor_kind, actor_id, actor, role, source_addr,
                       action, target, outcome, details, prev_hash), 'UTF8')), 'hex') AS ok_hash,
              prev_hash = lag(hash) OVER (ORDER BY id) AS ok_link,
              id = lag(id) OVER (ORDER BY id) + 1 AS ok_seq
       FROM citybase.audit_log)
     SELECT id::text, ok_hash, ok_link, ok_seq, (SELECT count(*) FROM r)::text AS n FROM r
     WHERE NOT ok_hash OR ok_link = false OR ok_seq = false
     ORDER BY id LIMIT 1`,
  );
  const head = await run.query<{ last_id: string; last_hash: string; n: string; first: string | null; last: string | null; last_row_hash: string | null }>(
    `SELECT h.last_id::text, h.last_hash, (SELECT count(*) FROM citybase.audit_log)::text AS n,
            (SELECT min(id) FROM citybase.audit_log)::text AS first, (SELECT max(id) FROM citybase.audit_log)::text AS last,
            (SELECT hash FROM citybase.audit_log ORDER BY id DESC LIMIT 1) AS last_row_hash
     FROM citybase.audit_head h`,
  );
  const h = head[0]!;
  const records = Number(h.n);
  const bad = rows[0];
  if (bad) {
    const reason = !bad.ok_hash
      ? 'its fields do not match its hash (the record was edited)'
      : bad.ok_seq === false
        ? 'the record before it is missing (deleted)'
        : 'its link to the previous record is broken';
    return { ok: false, records, brokenAt: Number(bad.id), reason };
  }
  if (h.last !== null && (h.last !== h.last_id || h.last_row_hash !== h.last_hash))
    return { ok: false, records, brokenAt: Number(h.last_id), reason: 'the newest records are missing (deleted from the end)' };
  return { ok: true, records, first: h.first === null ? null : Number(h.first), last: h.last === null ? null : Number(h.last) };
}
