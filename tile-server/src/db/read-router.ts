import { AsyncLocalStorage } from 'node:async_hooks';
import type { Counter } from 'prom-client';
import { maxLsn } from './lsn.ts';
import type { QueryRunner } from './query.ts';
import type { ReadFloor } from './read-floor.ts';
import type { Replica, ReplicaSet } from './replicas.ts';

/**
 * The WAL position the current request's reads must see: what its caller last wrote (X-CityBase-LSN header or
 * cookie, auth/read-your-writes middleware). Kept per request in async context, so the runners that routes were
 * built with need no request argument.
 */
export const requestLsn = new AsyncLocalStorage<{ lsn: bigint }>();

/**
 * A hot standby cancels a query whose rows the WAL it replays removes (40001, "conflict with recovery"): the
 * replica is fine, this query just ran at the wrong moment. The primary answers it instead.
 */
function recoveryConflict(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '40001' && /conflict with recovery/i.test(e.message ?? '');
}

/** Errors that say the replica could not be reached, not that the query was wrong: the primary can retry those. */
function unreachable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e.code === 'string') return /^(08|57P0[1-3]|53300|ECONN|ETIMEDOUT|EPIPE|EHOSTUNREACH)/.test(e.code);
  return /timeout exceeded when trying to connect|Connection terminated/i.test(e.message ?? '');
}

export interface ReadRouterDeps {
  primary: QueryRunner;
  replicas: ReplicaSet;
  floor: ReadFloor;
  /** Resolves once every notification of a commit made before the call is in (ChangeListener.sync). */
  caughtUp: () => Promise<boolean>;
  reads: Counter<'target'>;
}

/**
 * Reads (tiles, items, identify, query, analyses) go to a replica that has replayed everything they must see,
 * else to the primary. "Everything" is the newer of the request's own last write and the last change any
 * instance committed (ReadFloor), settled by the same listener round trip that guards the tile cache.
 */
export function routedReads({ primary, replicas, floor, caughtUp, reads }: ReadRouterDeps): QueryRunner {
  const choose = async (): Promise<Replica | null> => {
    if (!(await caughtUp())) return null; // changes may be unreported: only the primary is sure to be current
    return replicas.pick(maxLsn(floor.value, requestLsn.getStore()?.lsn ?? 0n));
  };
  const onReplica = async <T>(replica: Replica | null, onPrimary: () => Promise<T>, there: (r: Replica) => Promise<T>): Promise<T> => {
    if (!replica) {
      reads.inc({ target: 'primary' });
      return onPrimary();
    }
    try {
      const result = await there(replica);
      reads.inc({ target: 'replica' });
      return result;
    } catch (err) {
      if (!unreachable(err) && !recoveryConflict(err)) throw err;
      if (unreachable(err)) replicas.failed(replica, err as Error);
      reads.inc({ target: 'primary' });
      return onPrimary();
    }
  };
  return {
    async prepared(name, text, values, signal) {
      return onReplica(await choose(), () => primary.prepared(name, text, values, signal), (r) => r.run.prepared(name, text, values, signal));
    },
    async query<T extends Record<string, unknown>>(text: string, values?: unknown[]) {
      return onReplica(await choose(), () => primary.query<T>(text, values), (r) => r.run.query<T>(text, values));
    },
  };
}
