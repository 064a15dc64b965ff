import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';
import type { Logger } from 'pino';

const migrationsDir = new URL('./migrations/', import.meta.url);

/**
 * Apply db/migrations/NNNN_name.sql in order, each once and in its own transaction, under an advisory lock so
 * two servers starting together do not race.
 */
export async function migrate(pool: pg.Pool, log: Logger): Promise<string[]> {
  const files = (await readdir(migrationsDir)).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    // STATEMENT_TIMEOUT_MS bounds requests, not schema changes (a migration may take longer than a tile).
    await client.query(`SET statement_timeout = 0`);
    await client.query(`SELECT pg_advisory_lock(hashtext('citybase.migrate'))`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS citybase`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS citybase.schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set((await client.query<{ version: string }>(`SELECT version FROM citybase.schema_migrations`)).rows.map((r) => r.version));
    for (const file of files) {
      const version = file.replace(/\.sql$/, '');
      if (done.has(version)) continue;
      const sql = await readFile(new URL(file, migrationsDir), 'utf8');
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query(`INSERT INTO citybase.schema_migrations (version) VALUES ($1)`, [version]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${(err as Error).message}`);
      }
      applied.push(version);
      log.info({ version }, 'migration applied');
    }
  } finally {
    await client.query(`SELECT pg_advisory_unlock(hashtext('citybase.migrate')); RESET statement_timeout`).catch(() => {});
    client.release();
  }
  return applied;
}
