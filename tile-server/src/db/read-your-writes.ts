import type { Middleware } from 'koa';
import { formatLsn, maxLsn, parseLsn } from './lsn.ts';
import { requestLsn } from './read-router.ts';

export const LSN_HEADER = 'X-CityBase-LSN';
export const LSN_COOKIE = 'citybase_lsn';
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Read-your-writes across instances and replicas. A successful write answers with the primary's WAL position
 * after it (header X-CityBase-LSN, and a cookie for browsers); a request carrying one (either way) has its
 * reads served only by a replica that has replayed that far, else by the primary (db/read-router.ts). The
 * position is no secret (it only says how far the log has come), so it may travel in a plain cookie.
 */
export function readYourWrites(primaryLsn: () => Promise<bigint>): Middleware {
  return async (ctx, next) => {
    const carried = maxLsn(parseLsn(ctx.get(LSN_HEADER)) ?? 0n, parseLsn(ctx.cookies.get(LSN_COOKIE)) ?? 0n);
    await requestLsn.run({ lsn: carried }, next);
    if (!MUTATING.has(ctx.method) || ctx.status >= 400) return;
    let after: bigint;
    try {
      after = await primaryLsn();
    } catch {
      return; // written, but the primary went away since: later reads go to the primary anyway while it is down
    }
    const lsn = formatLsn(maxLsn(carried, after));
    ctx.set(LSN_HEADER, lsn);
    ctx.cookies.set(LSN_COOKIE, lsn, { httpOnly: true, sameSite: 'lax', maxAge: 10 * 60_000, overwrite: true });
  };
}
