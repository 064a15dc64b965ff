import type pg from 'pg';
import { ImportError } from './errors.ts';

/**
 * The one connection an import runs its transaction on. pg emits connection errors on a checked-out client as
 * 'error' events, which would crash the process (the server, for an HTTP job) if nobody listened; here they are
 * absorbed, and the failing query reports them. On failure the connection is closed, never reused: the server
 * then rolls back whatever the transaction held, also in the middle of a COPY, where no ROLLBACK can be sent.
 */
export async function withImportConnection<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const ignore = () => {};
  client.on('error', ignore);
  try {
    const result = await work(client);
    client.off('error', ignore); // back in the pool, whose own listener takes over
    client.release();
    return result;
  } catch (err) {
    // Destroyed, never reused: the listener stays for the errors a dying connection still emits.
    client.release(true);
    throw connectionLost(err) ?? err;
  }
}

/** A lost connection (database restart, terminated backend) said as what it means for the import. */
function connectionLost(err: unknown): ImportError | null {
  const e = err as { code?: string; message?: string };
  if (err instanceof ImportError) return null;
  const lost =
    (typeof e?.code === 'string' && (/^08/.test(e.code) || /^57P0[1-3]$/.test(e.code) || ['ECONNRESET', 'EPIPE', 'ECONNREFUSED'].includes(e.code))) ||
    /Connection terminated|connection error|terminating connection/i.test(e?.message ?? '');
  return lost ? new ImportError(`the database connection was lost during the import (${e.message}); nothing was changed`, 'database_unavailable') : null;
}
