import type { ImportProgress } from './options.ts';

/** A one-line progress bar for a terminal: bytes read as a bar, rows, rate and ETA; redrawn at most 10 times a second. */
export class ProgressBar {
  private readonly started = Date.now();
  private last = 0;
  private shown = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(p: ImportProgress): void {
    const now = Date.now();
    if (now - this.last < 100 && p.phase === 'reading') return;
    this.last = now;
    const seconds = (now - this.started) / 1000;
    const fraction = p.totalBytes > 0 ? Math.min(1, p.bytes / p.totalBytes) : 0;
    const width = 20;
    const filled = Math.round(fraction * width);
    const rate = seconds > 0 ? p.rows / seconds : 0;
    const eta = fraction > 0.01 && p.phase === 'reading' ? (seconds / fraction) * (1 - fraction) : null;
    const line =
      `${p.phase.padEnd(10)}[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%` +
      `  ${p.rows.toLocaleString('en')} rows  ${Math.round(rate).toLocaleString('en')} rows/s` +
      (eta !== null ? `  ETA ${clock(eta)}` : '');
    this.out.write(`\r${line.slice(0, (this.out.columns ?? 100) - 1)}\x1b[K`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.out.write('\r\x1b[K');
    this.shown = false;
  }
}

function clock(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s % 60)).padStart(2, '0')}`;
}
