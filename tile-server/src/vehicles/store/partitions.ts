import type pg from 'pg';
import type { Logger } from 'pino';

const DAY_MS = 86_400_000;

/**
 * The platform's own partition keeper (no pg_partman): today's and tomorrow's day partitions exist before fixes
 * arrive (the writer makes others on demand), and days older than the retention are dropped whole, never
 * DELETEd. Runs at start and every hour.
 */
export class PartitionKeeper {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly retentionDays: number,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.run();
    this.timer = setInterval(() => void this.run().catch((err) => this.log.warn({ err: (err as Error).message }, 'partition keeper failed')), 3_600_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Make the coming days, drop the expired ones; returns the partitions dropped. */
  async run(now = Date.now()): Promise<string[]> {
    for (const t of [now, now + DAY_MS])
      for (const parent of ['positions', 'rejected_fixes']) await this.pool.query(`SELECT vehicles.ensure_day($1, $2)`, [parent, new Date(t)]);
    const cutoff = new Date(now - this.retentionDays * DAY_MS);
    const { rows } = await this.pool.query<{ name: string }>(`SELECT vehicles.drop_days_before($1) AS name`, [cutoff]);
    if (rows.length) this.log.info({ dropped: rows.map((r) => r.name), retentionDays: this.retentionDays }, 'vehicle position days dropped');
    return rows.map((r) => r.name);
  }
}
