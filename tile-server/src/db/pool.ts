import pg from 'pg';
import type { Logger } from 'pino';

export class DatabaseSetupError extends Error {}

export interface PoolOptions {
  url: string;
  maxConnections: number;
  statementTimeoutMs: number;
  /** IANA zone of every session (TimeZone): date-only comparisons and timestamptz text follow it. */
  timeZone: string;
  log: Logger;
}

/** The PostGIS version the platform needs: ST_TileEnvelope's margin parameter arrived in 3.1. */
const MIN_POSTGIS: [number, number] = [3, 1];

/**
 * Check the database (PostGIS present and recent enough) and open a pool that never asks for more connections
 * than the server can give: Martin's pool_size above max_connections is a known way to fall over.
 */
export async function openPool({ url, maxConnections, statementTimeoutMs, timeZone, log }: PoolOptions): Promise<pg.Pool> {
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  let size: number;
  try {
    await probe.connect();
    await ensurePostgis(probe);
    const { rows } = await probe.query<{ max: number; reserved: number; used: number }>(
      `SELECT current_setting('max_connections')::int AS max,
              current_setting('superuser_reserved_connections')::int AS reserved,
              (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS used`,
    );
    const { max, reserved, used } = rows[0]!;
    // Leave room for the notification listener, migrations and an operator's psql.
    const available = max - reserved - used - 3;
    size = Math.max(1, Math.min(maxConnections, available));
    if (size < maxConnections) log.warn({ max, reserved, used, size }, 'connection pool capped by max_connections');
  } catch (err) {
    if (err instanceof DatabaseSetupError) throw err;
    throw new DatabaseSetupError(`cannot connect to the database: ${(err as Error).message}`);
  } finally {
    await probe.end().catch(() => {});
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: size,
    statement_timeout: statementTimeoutMs,
    options: `-c TimeZone=${timeZone}`,
    application_name: 'citybase',
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 60_000,
  });
  // A connection dropped by the server (restart, admin kill) must not crash the process: the pool replaces it.
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle database connection lost'));
  survivesSocketErrors(pool);
  return pool;
}

/**
 * pg-pool listens for errors only on idle clients. A checked-out client whose socket dies (PostgreSQL killed:
 * its last query already failed with 57P01, then the socket resets before the caller released it) emits an
 * 'error' nobody listens to, and Node ends the process. Every client gets a listener of its own: the query
 * that was running has its error already, and the pool drops the client when it comes back.
 */
export function survivesSocketErrors(pool: pg.Pool): void {
  pool.on('connect', (client) => client.on('error', () => {}));
}

async function ensurePostgis(client: pg.Client): Promise<void> {
  let version = await installedPostgis(client);
  if (!version) {
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS postgis');
    } catch (err) {
      throw new DatabaseSetupError(
        `PostGIS is not installed in this database and could not be created (${(err as Error).message}); ` +
          `run CREATE EXTENSION postgis as a superuser`,
      );
    }
    version = await installedPostgis(client);
  }
  const [major = 0, minor = 0] = (version ?? '0').split('.').map(Number);
  if (major < MIN_POSTGIS[0] || (major === MIN_POSTGIS[0] && minor < MIN_POSTGIS[1]))
    throw new DatabaseSetupError(`PostGIS ${MIN_POSTGIS.join('.')} or newer is required, found ${version}`);
}

async function installedPostgis(client: pg.Client): Promise<string | null> {
  const { rows } = await client.query<{ v: string }>(`SELECT extversion AS v FROM pg_extension WHERE extname = 'postgis'`);
  return rows[0]?.v ?? null;
}
