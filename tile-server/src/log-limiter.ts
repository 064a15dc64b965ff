import type { Logger } from 'pino';

/**
 * Errors logged at a bounded rate: the first of a kind in a window is logged in full (with its stack), the
 * rest of that window only counted, and when the window ends one line says how many more there were ("… 4512
 * more like this in the last 10 s"). An outage under load otherwise writes an error line with a stack for
 * every request (26,730 lines, 24 MB, in 14 s, when the database went away under load).
 */
export class ErrorLogLimiter {
  private readonly windows = new Map<string, { suppressed: number; timer: NodeJS.Timeout; msg: string }>();

  constructor(
    private readonly log: Logger,
    private readonly windowMs = 10_000,
    /** Kinds tracked at once; beyond that, new kinds share one window (a flood of distinct messages stays bounded). */
    private readonly maxKinds = 100,
  ) {}

  /** Log `err` under `kind` (e.g. status and error code): in full if it is the first of its window. */
  error(kind: string, fields: Record<string, unknown>, msg: string): void {
    const key = this.windows.has(kind) || this.windows.size < this.maxKinds ? kind : '(other kinds)';
    const open = this.windows.get(key);
    if (open) {
      open.suppressed++;
      return;
    }
    this.log.error(fields, msg);
    const timer = setTimeout(() => this.close(key), this.windowMs);
    timer.unref();
    this.windows.set(key, { suppressed: 0, timer, msg });
  }

  /** Write the pending summaries now (at shutdown). */
  flush(): void {
    for (const key of [...this.windows.keys()]) this.close(key);
  }

  private close(key: string): void {
    const w = this.windows.get(key);
    if (!w) return;
    clearTimeout(w.timer);
    this.windows.delete(key);
    if (w.suppressed > 0)
      this.log.error({ kind: key, suppressed: w.suppressed, windowSeconds: this.windowMs / 1000 }, `${w.msg}: ${w.suppressed} more like this in the last ${this.windowMs / 1000} s`);
  }
}

/** The kind of an error for rate limiting: its class, code and the start of its message, without numbers. */
export function errorKind(err: unknown, status: number): string {
  const e = err as { name?: string; code?: string; message?: string };
  return `${status} ${e?.name ?? typeof err} ${e?.code ?? ''} ${String(e?.message ?? '').slice(0, 60).replace(/\d+/g, '#')}`;
}
