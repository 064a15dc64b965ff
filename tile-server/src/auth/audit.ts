import type pg from 'pg';
import type { Principal } from '../access/access.ts';
import type { QueryRunner } from '../db/query.ts';

/**
 * The audit trail (安全审计): one record per sign-in, sign-out, expiry, password change, lock, user/role/scope/key
 * change, import, layer definition change, export, case transition and alarm acknowledgement. Records are written
 * only by citybase.audit_append (SQL), which chains each to the previous one of its stripe (32 chains, so
 * concurrent transactions do not queue on one head: migration 0052); the table refuses UPDATE, DELETE and TRUNCATE.
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
 * Recompute the chains (one per stripe, migration 0052): each record's hash from its fields and its predecessor's
 * hash, each prev_hash equal to the hash of the record before it in its stripe, and each stripe's newest record
 * equal to its head. The oldest record kept in a stripe starts its chain (older months may have been dropped by
 * retention), so a stripe without records is fine only if its head is older than every record kept.
 */
export async function verifyAudit(run: QueryRunner): Promise<VerifyResult> {
  const rows = await run.query<{ id: string; ok_hash: boolean; ok_link: boolean | null }>(
    `WITH r AS (
       SELECT id, hash, prev_hash,
              hash = encode(sha256(convert_to(citybase.audit_record_text(id, at, actor_kind, actor_id, actor, role, source_addr,
                       action, target, outcome, details, prev_hash), 'UTF8')), 'hex') AS ok_hash,
              prev_hash = lag(hash) OVER (PARTITION BY stripe ORDER BY id) AS ok_link
       FROM citybase.audit_log)
     SELECT id::text, ok_hash, ok_link FROM r
     WHERE NOT ok_hash OR ok_link = false
     ORDER BY id LIMIT 1`,
  );
  const totals = await run.query<{ n: string; first: string | null; last: string | null }>(
    `SELECT count(*)::text AS n, min(id)::text AS first, max(id)::text AS last FROM citybase.audit_log`,
  );
  // Stripes whose newest record is not their head: records deleted from the end (or a head rewritten).
  const ends = await run.query<{ last_id: string }>(
    `SELECT h.last_id::text
     FROM citybase.audit_head h
     LEFT JOIN LATERAL (SELECT id, hash FROM citybase.audit_log l WHERE l.stripe = h.stripe ORDER BY id DESC LIMIT 1) n ON true
     WHERE h.last_id > 0
       AND (n.id IS NULL AND h.last_id >= (SELECT min(id) FROM citybase.audit_log)
            OR n.id IS NOT NULL AND (n.id <> h.last_id OR n.hash <> h.last_hash))
     ORDER BY h.last_id LIMIT 1`,
  );
  const { n, first, last } = totals[0]!;
  const records = Number(n);
  const bad = rows[0];
  if (bad)
    return {
      ok: false,
      records,
      brokenAt: Number(bad.id),
      reason: !bad.ok_hash ? 'its fields do not match its hash (the record was edited)' : 'the record before it in its chain is missing (deleted) or its link was changed',
    };
  if (ends[0]) return { ok: false, records, brokenAt: Number(ends[0].last_id), reason: 'the newest records of a chain are missing (deleted from the end)' };
  return { ok: true, records, first: first === null ? null : Number(first), last: last === null ? null : Number(last) };
}
