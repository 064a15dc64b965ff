import { parseArgs } from 'node:util';
import { KeyStore } from '../access/keys.ts';
import { audit, systemActor } from '../auth/audit.ts';
import { UserStore } from '../auth/users.ts';
import { openCliDatabase, runCli } from './database.ts';

const usage = `usage:
  npm run key -- create --department <id> [--label <text>] [--rights layer:read,layer:import,…] [--scope <code>,…] [--expires <date>]
  npm run key -- list
  npm run key -- revoke <key id>`;

/** API keys from the command line: create (printed once), list, revoke. */
async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      department: { type: 'string' },
      label: { type: 'string' },
      rights: { type: 'string' },
      scope: { type: 'string' },
      expires: { type: 'string' },
    },
  });
  const [command, arg] = positionals;
  const db = await openCliDatabase();
  const run = db.run;
  const keys = new KeyStore(run);
  try {
    switch (command) {
      case 'create': {
        if (!values.department) throw new Error('--department is required');
        const dept = await run.query(`SELECT 1 FROM citybase.departments WHERE id = $1`, [values.department]);
        if (!dept.length) throw new Error(`unknown department "${values.department}" (see citybase.departments)`);
        const rights = (values.rights ?? 'layer:read').split(',').map((r) => r.trim());
        const scopes = values.scope?.split(',').map((r) => r.trim());
        if (scopes) await new UserStore(run).checkScopes(scopes).catch((err: Error) => Promise.reject(new Error(err.message)));
        const expiresAt = values.expires ? new Date(values.expires) : null;
        if (expiresAt && (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now())) throw new Error('--expires: a future date or time (ISO 8601)');
        const { id, key } = await keys.create(values.department, values.label ?? '', rights, { scopes: scopes ?? ['320800'], expiresAt }).catch((err: Error) =>
          Promise.reject(new Error(err.message)),
        );
        await audit(run, systemActor('cli:key'), { action: 'key.create', outcome: 'success', target: `key:${id}`, details: { department: values.department, rights, scopes } });
        console.log(`key ${id} for ${values.department} (${rights.join(',')}); it is shown only now:\n${key}`);
        return 0;
      }
      case 'list': {
        const rows = await run.query(
          `SELECT id, department_id, label, rights, scopes, created_at, expires_at, revoked_at FROM citybase.api_keys ORDER BY id`,
        );
        console.table(rows);
        return 0;
      }
      case 'revoke': {
        const id = Number(arg);
        if (!Number.isInteger(id)) throw new Error('give the key id to revoke');
        if (!(await keys.revoke(id))) throw new Error(`no active key ${id}`);
        await audit(run, systemActor('cli:key'), { action: 'key.revoke', outcome: 'success', target: `key:${id}` });
        console.log(`key ${id} revoked`);
        return 0;
      }
      default:
        console.error(usage);
        return 2;
    }
  } finally {
    await db.close();
  }
}

runCli('key', main);
