/**
 * Fence geometry at city scale: coordinates projected to metres around the fence (equirectangular, exact to
 * well under a metre over a few kilometres), then plain plane geometry. Containment and segment crossing for
 * circles, polygons (even-odd over all rings, so holes work) and corridors along a line.
 */
export type FenceShape =
  | { kind: 'circle'; center: [number, number]; radiusM: number }
  | { kind: 'polygon'; rings: Array<Array<[number, number]>> }
  | { kind: 'corridor'; line: Array<[number, number]>; widthM: number };

type XY = [number, number];
const M_PER_DEG = 111_320;

export class FenceGeometry {
  private readonly lat0: number;
  private readonly lon0: number;
  private readonly k: number;
  private readonly rings: XY[][] = [];
  private readonly line: XY[] = [];
  private readonly center: XY = [0, 0];
  private readonly reach: number;

  constructor(readonly shape: FenceShape) {
    const first = shape.kind === 'circle' ? shape.center : shape.kind === 'polygon' ? shape.rings[0]![0]! : shape.line[0]!;
    this.lon0 = first[0];
    this.lat0 = first[1];
    this.k = Math.cos((this.lat0 * Math.PI) / 180);
    if (shape.kind === 'circle') {
      this.center = this.xy(shape.center);
      this.reach = shape.radiusM;
    } else if (shape.kind === 'polygon') {
      this.rings = shape.rings.map((r) => r.map((p) => this.xy(p)));
      this.reach = 0;
    } else {
      this.line = shape.line.map((p) => this.xy(p));
      this.reach = shape.widthM / 2;
    }
  }

  xy([lon, lat]: [number, number]): XY {
    return [(lon - this.lon0) * M_PER_DEG * this.k, (lat - this.lat0) * M_PER_DEG];
  }

  contains(lonLat: [number, number]): boolean {
    const p = this.xy(lonLat);
    switch (this.shape.kind) {
      case 'circle':
        return Math.hypot(p[0] - this.center[0], p[1] - this.center[1]) <= this.reach;
      case 'polygon':
        return this.inRings(p);
      case 'corridor':
        return this.toLine(p) <= this.reach;
    }
  }

  /** Does the straight leg between two fixes pass through the fence (both ends may lie outside)? */
  crossedBy(a: [number, number], b: [number, number]): boolean {
    const p = this.xy(a);
    const q = this.xy(b);
    switch (this.shape.kind) {
      case 'circle':
        return pointToSegment(this.center, p, q) <= this.reach;
      case 'polygon':
        return this.rings.some((r) => r.some((v, i) => i > 0 && segmentsIntersect(p, q, r[i - 1]!, v)));
      case 'corridor':
        return this.line.some((v, i) => i > 0 && segmentDistance(p, q, this.line[i - 1]!, v) <= this.reach);
    }
  }

  private inRings(p: XY): boolean {
    let inside = false;
    for (const r of this.rings)
      for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
        const [xi, yi] = r[i]!;
        const [xj, yj] = r[j]!;
        if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
      }
    return inside;
  }

  private toLine(p: XY): number {
    let d = Infinity;
    for (let i = 1; i < this.line.length; i++) d = Math.min(d, pointToSegment(p, this.line[i - 1]!, this.line[i]!));
    return d;
  }
}

function pointToSegment(p: XY, a: XY, b: XY): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

function cross(o: XY, a: XY, b: XY): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

function segmentsIntersect(p: XY, q: XY, a: XY, b: XY): boolean {
  const d1 = cross(a, b, p);
  const d2 = cross(a, b, q);
  const d3 = cross(p, q, a);
  const d4 = cross(p, q, b);
  return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0));
}

function segmentDistance(p: XY, q: XY, a: XY, b: XY): number {
  if (segmentsIntersect(p, q, a, b)) return 0;
  return Math.min(pointToSegment(p, a, b), pointToSegment(q, a, b), pointToSegment(a, p, q), pointToSegment(b, p, q));
}

/** Schedules: weekdays 1 (Monday) … 7 and local times "HH:MM"; a window whose end is before its start runs overnight. */
export interface ScheduleWindow {
  days: number[];
  from: string;
  to: string;
}

export const CITY_OFFSET_MS = 8 * 3600_000; // China has one zone and no daylight saving

export function scheduleActive(schedule: ScheduleWindow[] | null, epochMs: number): boolean {
  if (!schedule || schedule.length === 0) return true;
  const local = new Date(epochMs + CITY_OFFSET_MS);
  const day = ((local.getUTCDay() + 6) % 7) + 1;
  const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
  const mins = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));
  return schedule.some((w) => {
    const from = mins(w.from);
    const to = mins(w.to);
    if (from <= to) return w.days.includes(day) && minute >= from && minute < to;
    // Overnight: the evening part belongs to the listed day, the morning part to the day after it.
    const yesterday = day === 1 ? 7 : day - 1;
    return (w.days.includes(day) && minute >= from) || (w.days.includes(yesterday) && minute < to);
  });
}
