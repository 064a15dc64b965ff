import { QueryCancelledError, type QueryRunner } from '../db/query.ts';
import { HttpError } from '../errors.ts';

/**
 * A bulkhead (Envoy's max_requests per cluster): analysis queries (POST /query, identify, items, analyses) hold
 * at most `max` of the pool's connections at once, so tiles, /health and sign-in, which take connections from
 * the pool directly, always find one when analyses are busy. Queries beyond it wait in line; beyond `queue`
 * waiting, the request is answered 503 at once instead of piling up (64 per slot: one geocoder or identify request alone fans out to a query per layer).
 */
export function bulkhead(run: QueryRunner, max: number, queue = max * 64): QueryRunner & { readonly active: number; readonly waiting: number } {
  let active = 0;
  const line: Array<() => void> = [];
  const enter = async (signal?: AbortSignal) => {
    if (active < max) {
      active++;
      return;
    }
    if (line.length >= queue) throw new HttpError(503, 'busy', 'too many analyses are running: try again shortly');
    await new Promise<void>((resolve) => line.push(resolve));
    if (signal?.aborted) {
      leave();
      throw new QueryCancelledError();
    }
  };
  const leave = () => {
    const next = line.shift();
    if (next) next(); // the slot passes on
    else active--;
  };
  return {
    get active() {
      return active;
    },
    get waiting() {
      return line.length;
    },
    async prepared(name, text, values, signal) {
      await enter(signal);
      try {
        return await run.prepared(name, text, values, signal);
      } finally {
        leave();
      }
    },
    async query(text, values) {
      await enter();
      try {
        return await run.query(text, values);
      } finally {
        leave();
      }
    },
  };
}
