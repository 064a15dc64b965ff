import pg from 'pg';
import type { Logger } from 'pino';
import { parseLsn, PRIMARY_LSN_SQL, reachable } from './lsn.ts';
import { survivesSocketErrors } from './pool.ts';
import { createQueryRunner, type QueryRunner } from './query.ts';

export interface ReplicaOptions {
  urls: readonly string[];
  /** The primary: its WAL position is the yardstick of every replica's lag. */
  primary: pg.Pool;
  /** A replica further behind than this (in time) leaves the rotation until it catches up. */
  maxLagMs: number;
  pollMs: number;
  poolMax: number;
  statementTimeoutMs: number;
  timeZone: string;
  log: Logger;
}

export interface ReplicaStatus {
  name: string;
  state: 'up' | 'lagging' | 'down' | 'not_a_replica';
  lagMs: number | null;
  replayed: string | null;
  error?: string;
}

/** One streaming replica: its pool, and what the last poll saw of it. */
export class Replica {
  replayed = -1n;
  lagMs: number | null = null;
  state: ReplicaStatus['state'] = 'down';
  error: string | undefined;
  readonly run: QueryRunner;

  constructor(
    readonly name: string,
    readonly pool: pg.Pool,
  ) {
    this.run = createQueryRunner(pool);
  }
}

/** Host:port/database of a URL, for logs and /health: never its password. */
function nameOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}${u.pathname}`;
}

/**
 * The streaming replicas that reads may go to (DATABASE_REPLICA_URLS). A poll asks each one how far it has
 * replayed (pg_last_wal_replay_lsn()) and measures its lag against a short history of the primary's position:
 * the lag is how long ago the primary passed the point the replica is at, so an idle replica of an idle primary
 * is not "behind" however old its last transaction. `pick(lsn)` gives a replica that is up, within the lag
 * limit and has replayed at least `lsn`, or null (the primary answers).
 */
export class ReplicaSet {
  readonly replicas: Replica[];
  private readonly history: Array<{ at: number; lsn: bigint }> = [];
  private timer: NodeJS.Timeout | null = null;
  private next = 0;
  private polling: Promise<void> | null = null;

  constructor(private readonly opts: ReplicaOptions) {
    this.replicas = opts.urls.map((url) => {
      const pool = new pg.Pool({
        connectionString: url,
        max: opts.poolMax,
        statement_timeout: opts.statementTimeoutMs,
        options: `-c TimeZone=${opts.timeZone}`,
        application_name: 'citybase-read',
        connectionTimeoutMillis: 2_000,
        idleTimeoutMillis: 60_000,
      });
      pool.on('error', (err) => opts.log.warn({ replica: nameOf(url), err: err.message }, 'idle replica connection lost'));
      survivesSocketErrors(pool);
      return new Replica(nameOf(url), pool);
    });
  }

  get size(): number {
    return this.replicas.length;
  }

  /** Polls once (so the first requests already know the replicas), then every pollMs. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.polling;
    await Promise.all(this.replicas.map((r) => r.pool.end().catch(() => {})));
  }

  /** A replica that may answer a read needing everything up to `lsn`, taken in turn; null: ask the primary. */
  pick(lsn: bigint): Replica | null {
    const n = this.replicas.length;
    for (let i = 0; i < n; i++) {
      const r = this.replicas[(this.next + i) % n]!;
      if (r.state === 'up' && r.replayed >= lsn) {
        this.next = (this.next + i + 1) % n;
        return r;
      }
    }
    return null;
  }

  /** A read failed for want of a connection: out of the rotation until a poll finds the replica again. */
  failed(replica: Replica, err: Error): void {
    if (replica.state !== 'down') this.opts.log.warn({ replica: replica.name, err: err.message }, 'replica unreachable: reads go to the primary');
    replica.state = 'down';
    replica.error = err.message;
  }

  status(): ReplicaStatus[] {
    return this.replicas.map((r) => ({
      name: r.name,
      state: r.state,
      lagMs: r.lagMs,
      replayed: r.replayed >= 0n ? r.replayed.toString() : null,
      ...(r.error && r.state !== 'up' ? { error: r.error } : {}),
    }));
  }

  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = null));
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const now = Date.now();
    try {
      const { rows } = await this.opts.primary.query<{ lsn: string }>(PRIMARY_LSN_SQL);
      const lsn = parseLsn(rows[0]?.lsn);
      if (lsn !== null) this.history.push({ at: now, lsn: reachable(lsn) });
    } catch {
      // The primary is down: replicas keep their last standing, and the history its last position.
    }
    // Enough history to tell any lag up to the limit, and a little more.
    const keepFrom = now - this.opts.maxLagMs - 2 * this.opts.pollMs - 1000;
    while (this.history.length > 1 && this.history[0]!.at < keepFrom) this.history.shift();
    await Promise.all(this.replicas.map((r) => this.pollReplica(r)));
  }

  private async pollReplica(r: Replica): Promise<void> {
    try {
      const { rows } = await r.pool.query<{ recovering: boolean; replayed: string | null }>(
        'SELECT pg_is_in_recovery() AS recovering, pg_last_wal_replay_lsn()::text AS replayed',
      );
      const row = rows[0]!;
      const replayed = parseLsn(row.replayed);
      if (!row.recovering || replayed === null) {
        // Promoted, or a primary given by mistake: its history may have forked from ours, so it never serves reads.
        if (r.state !== 'not_a_replica') this.opts.log.warn({ replica: r.name }, 'configured replica is not in recovery: not used for reads');
        Object.assign(r, { state: 'not_a_replica', lagMs: null, error: 'not in recovery' });
        return;
      }
      r.replayed = replayed;
      r.lagMs = this.lagOf(replayed);
      const state = r.lagMs > this.opts.maxLagMs ? 'lagging' : 'up';
      if (state !== r.state) this.opts.log.info({ replica: r.name, lagMs: r.lagMs, was: r.state }, `replica ${state === 'up' ? 'in the rotation' : 'lagging: out of the rotation'}`);
      r.state = state;
      r.error = undefined;
    } catch (err) {
      this.failed(r, err as Error);
    }
  }

  /** How long ago the primary first stood past `replayed` (0 if it has not moved past it since we looked). */
  private lagOf(replayed: bigint): number {
    const first = this.history.find((h) => h.lsn > replayed);
    return first ? Date.now() - first.at : 0;
  }
}
