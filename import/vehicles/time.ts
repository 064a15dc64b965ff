/**
 * Fix times → instants (epoch milliseconds). Terminal logs usually write local wall-clock time with no zone
 * (JT/T 808 and most Chinese platforms: GMT+8), so a time without a zone is read in the configured zone
 * (default Asia/Shanghai); ISO times with Z or an offset, and epoch seconds/milliseconds, are taken as they are.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's offset from UTC at an instant, in milliseconds. */
function offsetAt(epoch: number, zone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(epoch))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - Math.floor(epoch / 1000) * 1000;
}

/** Wall-clock fields in a zone → epoch ms (twice round: right across DST changes, where a zone has them). */
export function zonedEpoch(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, zone: string): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  let t = wall - offsetAt(wall, zone);
  t = wall - offsetAt(t, zone);
  return t;
}

const NAIVE = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$/;
const ZONED = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$/i;

/** A fix time as an instant, or null when it cannot be read. */
export function parseFixTime(text: string, zone: string): number | null {
  const t = text.trim();
  if (/^\d{10}(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  if (/^\d{13}$/.test(t)) return Number(t);
  if (ZONED.test(t)) {
    const v = Date.parse(t.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    return Number.isNaN(v) ? null : v;
  }
  const m = NAIVE.exec(t);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
  return zonedEpoch(y, mo, d, h, mi, s, ms, zone);
}
