import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { KeyStore } from '../access/keys.ts';
import { loadConfig } from '../config.ts';
import { createQueryRunner } from '../db/query.ts';
import { startEmbeddedCluster } from '../db/embedded.ts';

const usage = `usage:
  npm run key -- create --department <id> [--label <text>] [--rights read,import]
  npm run key -- list
  npm run key -- revoke <key id>`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** API keys from the command line: create (printed once), list, revoke. */
async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { department: { type: 'string' }, label: { type: 'string' }, rights: { type: 'string' } },
  });
  const [command, arg] = positionals;
  const config = loadConfig();
  const cluster = config.DATABASE_URL ? null : await startEmbeddedCluster({ dataDir: path.resolve(root, config.DATA_DIR, 'pg') });
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL ?? cluster!.url, max: 2 });
  const run = createQueryRunner(pool);
  const keys = new KeyStore(run);
  try {
    switch (command) {
      case 'create': {
        if (!values.department) throw new Error('--department is required');
        const dept = await run.query(`SELECT 1 FROM citybase.departments WHERE id = $1`, [values.department]);
        if (!dept.length) throw new Error(`unknown department "${values.department}" (see citybase.departments)`);
        const rights = (values.rights ?? 'read').split(',').map((r) => r.trim());
        const { id, key } = await keys.create(values.department, values.label ?? '', rights);
        console.log(`key ${id} for ${values.department} (${rights.join(',')}); it is shown only now:\n${key}`);
        return 0;
      }
      case 'list': {
        const rows = await run.query(
          `SELECT id, department_id, label, rights, created_at, revoked_at FROM citybase.api_keys ORDER BY id`,
        );
        console.table(rows);
        return 0;
      }
      case 'revoke': {
        const id = Number(arg);
        if (!Number.isInteger(id)) throw new Error('give the key id to revoke');
        if (!(await keys.revoke(id))) throw new Error(`no active key ${id}`);
        console.log(`key ${id} revoked`);
        return 0;
      }
      default:
        console.error(usage);
        return 2;
    }
  } finally {
    await pool.end();
    // Leave the cluster as we found it: stop it only if this command started it.
    if (cluster && !cluster.reused) await cluster.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`key: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
