import type pg from 'pg';
import { cancelBackend } from './cancel.ts';

/** Raised when a query was cancelled because the client that asked for it went away. */
export class QueryCancelledError extends Error {
  constructor() {
    super('query cancelled: the client went away');
  }
}

/** The only way request handlers reach the database. */
export interface QueryRunner {
  /**
   * Run a named prepared statement (parsed and planned once per connection) and return rows as arrays.
   * When `signal` aborts, the statement is cancelled in the server, not just abandoned.
   */
  prepared(name: string, text: string, values: unknown[], signal?: AbortSignal): Promise<unknown[][]>;
  /** A plain parameterised query returning row objects. */
  query<T extends Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
}

export function createQueryRunner(pool: pg.Pool): QueryRunner {
  return {
    async prepared(name, text, values, signal) {
      if (signal?.aborted) throw new QueryCancelledError();
      const client = await pool.connect();
      if (signal?.aborted) {
        // The client left while we waited for a connection: nothing was sent, so the connection is clean.
        client.release();
        throw new QueryCancelledError();
      }
      let running = true;
      let cancelled = false;
      const onAbort = () => {
        if (!running) return;
        cancelled = true;
        cancelBackend(client);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const res = await client.query({ name, text, values, rowMode: 'array' });
        running = false;
        return res.rows as unknown[][];
      } catch (err) {
        running = false;
        if (signal?.aborted) throw new QueryCancelledError();
        throw err;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        // A cancel request is delivered asynchronously and could hit the connection's next query,
        // so a connection we sent one for is discarded rather than returned to the pool.
        client.release(cancelled);
      }
    },
    async query<T extends Record<string, unknown>>(text: string, values: unknown[] = []) {
      const res = await pool.query(text, values);
      return res.rows as T[];
    },
  };
}
