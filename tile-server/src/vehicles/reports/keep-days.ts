import type pg from 'pg';
import type { Logger } from 'pino';
import { parseReportRange, vehicleDays } from './daily.ts';

/**
 * The nightly pass of the reports: once a city day is over, its figures are computed for every vehicle and kept
 * (vehicles.day_stats), so that the month's reports read kept days instead of the first one computing them all.
 * It runs every hour (a day already kept costs one indexed read) and after start; several instances may run it at
 * once: the report's lock serialises them and the second finds the day kept.
 */
export class DayKeeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Logger,
    private readonly everyMs = 3_600_000,
    private readonly firstAfterMs = 60_000,
  ) {}

  start(): void {
    const tick = () => {
      this.running ??= this.keepYesterday()
        .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'keeping yesterday’s vehicle figures failed'))
        .finally(() => (this.running = null));
    };
    this.timer = setTimeout(() => {
      tick();
      this.timer = setInterval(tick, this.everyMs);
      this.timer.unref();
    }, this.firstAfterMs);
    this.timer.unref();
  }

  /** Keep the figures of the city day before `now` for every registered vehicle (what is kept already stays). */
  async keepYesterday(now = new Date()): Promise<void> {
    const yesterday = new Date(now.getTime() + 8 * 3600_000 - 86_400_000).toISOString().slice(0, 10);
    const ids = (await this.pool.query<{ id: string }>(`SELECT id FROM vehicles.vehicles ORDER BY id`)).rows.map((r) => r.id);
    if (ids.length) await vehicleDays(this.pool, ids, parseReportRange({ from: yesterday, to: yesterday }), now);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
