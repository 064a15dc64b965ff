import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyAudit } from '../auth/audit.ts';
import { csvFile } from '../csv.ts';
import { openCliDatabase, runCli } from './database.ts';

const usage = `usage:
  npm run audit -- verify                                  prove the chain intact, or name the first broken record
  npm run audit -- export --from <date> --to <date> [--out file.csv]   CSV for the auditor (to is exclusive)
  npm run audit -- prune [--keep-months 6]                 drop whole months older than the retention (at least 6)`;

/** The audit trail from the command line (审计员): verify, export, prune by month. */
async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { from: { type: 'string' }, to: { type: 'string' }, out: { type: 'string' }, 'keep-months': { type: 'string' } },
  });
  const [command] = positionals;
  if (!command || !['verify', 'export', 'prune'].includes(command)) {
    console.error(usage);
    return 2;
  }
  if (command === 'export') {
    for (const k of ['from', 'to'] as const)
      if (!values[k] || Number.isNaN(Date.parse(values[k]!))) throw new Error(`--${k} must be a date or time (ISO 8601)\n${usage}`);
  }
  const keep = Number(values['keep-months'] ?? '6');
  if (command === 'prune' && (!Number.isInteger(keep) || keep < 6)) throw new Error('--keep-months: at least 6 (网络安全法 §21)');
  const db = await openCliDatabase();
  try {
    if (command === 'verify') {
      const r = await verifyAudit(db.run);
      if (r.ok) {
        console.log(`audit trail intact: ${r.records} records${r.first !== null ? ` (${r.first}–${r.last})` : ''}`);
        return 0;
      }
      console.error(`audit trail BROKEN at record ${r.brokenAt}: ${r.reason} (${r.records} records)`);
      return 3;
    }
    if (command === 'export') {
      const rows = await db.run.query<Record<string, unknown>>(
        `SELECT id, to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.MSOF') AS at, actor_kind, actor, role, source_addr, action, target, outcome, details, hash
         FROM citybase.audit_log WHERE at >= $1::timestamptz AND at < $2::timestamptz ORDER BY id`,
        [values.from, values.to],
      );
      const header = ['id', 'at', 'actor_kind', 'actor', 'role', 'source_addr', 'action', 'target', 'outcome', 'details', 'hash'];
      const text = csvFile(header, rows.map((r) => header.map((h) => r[h])));
      if (values.out) {
        fs.writeFileSync(values.out, text);
        console.error(`${rows.length} records written to ${values.out}`);
      } else process.stdout.write(text);
      return 0;
    }
    // prune: whole monthly partitions past retention; the chain then starts at the oldest record kept.
    const parts = await db.run.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'citybase.audit_log'::regclass AND c.relname < 'audit_log_' || to_char(now() - make_interval(months => $1), 'YYYYMM')
       ORDER BY 1`,
      [keep],
    );
    for (const p of parts) await db.run.query(`DROP TABLE citybase.${p.name.replace(/[^a-z0-9_]/g, '')}`);
    console.log(parts.length ? `dropped ${parts.map((p) => p.name).join(', ')}` : `nothing older than ${keep} months`);
    return 0;
  } finally {
    await db.close();
  }
}

runCli('audit', main);
