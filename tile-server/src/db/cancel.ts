import net from 'node:net';
import type pg from 'pg';
import { serialize } from 'pg-protocol';

/** What node-pg keeps about a connection's backend (set at connect; left out of its type definitions). */
interface BackendKey {
  host: string;
  port: number;
  processID: number;
  secretKey: number;
}

/**
 * Ask PostgreSQL to cancel whatever a connection's backend is running: a CancelRequest on a fresh socket, as
 * libpq's PQcancel does. It needs no pool slot and no authentication, and the server answers it by closing the
 * socket. Best effort by design: if it cannot be delivered, statement_timeout still ends the query.
 */
export function cancelBackend(client: pg.PoolClient): void {
  const { host, port, processID, secretKey } = client as unknown as BackendKey;
  const socket = host.startsWith('/') ? net.connect(`${host}/.s.PGSQL.${port}`) : net.connect(port, host);
  socket.once('connect', () => socket.end(serialize.cancel(processID, secretKey)));
  socket.once('error', () => socket.destroy());
  socket.setTimeout(5_000, () => socket.destroy());
}
