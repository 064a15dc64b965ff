import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type pg from 'pg';
import type { Logger } from 'pino';

/**
 * This process's lease among the instances serving one database: a row in citybase.instances whose `seen_at`
 * it renews every `renewMs`. An instance not seen for `ttlMs` is dead (killed, or cut off from the database),
 * and whatever it owned may be taken over or failed by the others — the way Patroni's leader key works, with
 * PostgreSQL as the store. Nothing here needs a broker.
 */
export interface LeaseOptions {
  pool: pg.Pool;
  log: Logger;
  /** INSTANCE_ID, or host:pid:random. */
  id?: string | undefined;
  renewMs?: number;
  ttlMs?: number;
  /** After each renewal, with the instances that are now dead (their rows are removed once it has run). */
  onRenewed?: (dead: string[]) => Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class InstanceLease {
  readonly id: string;
  readonly ttlMs: number;
  private readonly renewMs: number;
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;

  constructor(private readonly opts: LeaseOptions) {
    this.id = opts.id || `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.renewMs = opts.renewMs ?? 10_000;
    this.ttlMs = opts.ttlMs ?? 30_000;
  }

  async start(): Promise<void> {
    await this.opts.pool.query(
      `INSERT INTO citybase.instances (id, host, pid) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET started_at = now(), seen_at = now(), host = EXCLUDED.host, pid = EXCLUDED.pid`,
      [this.id, os.hostname(), process.pid],
    );
    await this.renew();
    this.timer = setInterval(() => void this.renew(), this.renewMs);
    this.timer.unref();
  }

  /** Renew this instance's row and report the dead ones (each renewal is one statement, then the callback). */
  renew(): Promise<void> {
    this.renewing ??= (async () => {
      try {
        // An instance on this machine whose process is gone (kill -9, a crash) is dead now, not after the TTL:
        // a server restarted in its place fails the jobs it left at once.
        const { rows: local } = await this.opts.pool.query<{ id: string; pid: number }>(
          `SELECT id, pid FROM citybase.instances WHERE host = $1 AND id <> $2`,
          [os.hostname(), this.id],
        );
        const gone = local.filter((r) => !processAlive(r.pid)).map((r) => r.id);
        if (gone.length) await this.opts.pool.query(`UPDATE citybase.instances SET seen_at = '-infinity' WHERE id = ANY($1)`, [gone]);
        const { rows } = await this.opts.pool.query<{ id: string }>(
          // Upserted: a row another instance removed while this one was cut off (its jobs were failed) comes back.
          `WITH me AS (INSERT INTO citybase.instances (id, host, pid) VALUES ($1, $3, $4)
                       ON CONFLICT (id) DO UPDATE SET seen_at = now()),
                gone AS (DELETE FROM citybase.instances WHERE seen_at < now() - interval '1 day')
           SELECT id FROM citybase.instances WHERE id <> $1 AND seen_at < now() - $2 * interval '1 millisecond'`,
          [this.id, this.ttlMs, os.hostname(), process.pid],
        );
        const dead = rows.map((r) => r.id);
        await this.opts.onRenewed?.(dead);
        // What they owned has been dealt with: forget them, so the next renewal has nothing to do again.
        if (dead.length) await this.opts.pool.query(`DELETE FROM citybase.instances WHERE id = ANY($1)`, [dead]);
      } catch (err) {
        this.opts.log.warn({ err: (err as Error).message }, 'instance lease not renewed');
      } finally {
        this.renewing = null;
      }
    })();
    return this.renewing;
  }

  /** Leave cleanly: the others need not wait for the lease to run out. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.renewing;
    await this.opts.pool.query(`DELETE FROM citybase.instances WHERE id = $1`, [this.id]).catch(() => {});
  }
}
