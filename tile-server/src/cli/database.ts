import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { survivesSocketErrors } from '../db/pool.ts';
import pino from 'pino';
import { loadConfig, type Config } from '../config.ts';
import { startEmbeddedCluster } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';
import { createQueryRunner, type QueryRunner } from '../db/query.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The database for a command-line tool: DATABASE_URL, or the embedded cluster under DATA_DIR (started if it is
 * not running, and then stopped again). Migrations are applied, so a command works before the first `npm start`.
 */
export async function openCliDatabase(): Promise<{ config: Config; run: QueryRunner; pool: pg.Pool; close(): Promise<void> }> {
  const config = loadConfig();
  const cluster = config.DATABASE_URL ? null : await startEmbeddedCluster({ dataDir: path.resolve(root, config.DATA_DIR, 'pg') });
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL ?? cluster!.url, max: 2 });
  survivesSocketErrors(pool); // a server restart mid-command fails the command, never crashes it
  try {
    await migrate(pool, pino({ level: 'warn' }));
  } catch (err) {
    await pool.end();
    if (cluster && !cluster.reused) await cluster.stop();
    throw err;
  }
  return {
    config,
    run: createQueryRunner(pool),
    pool,
    async close() {
      await pool.end();
      // Leave the cluster as we found it: stop it only if this command started it.
      if (cluster && !cluster.reused) await cluster.stop();
    },
  };
}

/** Run a CLI's main: its exit code, or the error's message and exit 1. */
export function runCli(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
