/**
 * Time-scaled playback of a track (not one fix per step as Traccar's replay): the clock runs at `rate`× real time
 * from the first fix to the last, and the position is interpolated between the two fixes around it.
 */
export interface TrackData {
  times: number[];
  coords: Array<[number, number]>;
  speeds: Array<number | null>;
  courses: Array<number | null>;
}

export interface PlayerState {
  time: number;
  lon: number;
  lat: number;
  speedKmh: number | null;
  course: number | null;
  /** The fix at or before the clock. */
  index: number;
}

export class Player {
  time: number;
  rate = 8;
  playing = false;

  constructor(readonly track: TrackData) {
    this.time = track.times[0] ?? 0;
  }

  get start(): number {
    return this.track.times[0] ?? 0;
  }
  get end(): number {
    return this.track.times[this.track.times.length - 1] ?? 0;
  }

  /** Advance the clock by `dtMs` of real time; stops at the end. */
  tick(dtMs: number): void {
    if (!this.playing) return;
    this.time = Math.min(this.end, this.time + dtMs * this.rate);
    if (this.time >= this.end) this.playing = false;
  }

  seek(fraction: number): void {
    this.time = this.start + Math.max(0, Math.min(1, fraction)) * (this.end - this.start);
  }

  get fraction(): number {
    return this.end > this.start ? (this.time - this.start) / (this.end - this.start) : 0;
  }

  state(): PlayerState {
    const { times, coords, speeds, courses } = this.track;
    // The last fix at or before the clock (binary search: tracks have up to 100,000 fixes).
    let lo = 0;
    let hi = times.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (times[mid]! <= this.time) lo = mid;
      else hi = mid - 1;
    }
    const i = lo;
    const j = Math.min(i + 1, times.length - 1);
    const span = times[j]! - times[i]!;
    const u = span > 0 ? Math.max(0, Math.min(1, (this.time - times[i]!) / span)) : 0;
    const [x0, y0] = coords[i]!;
    const [x1, y1] = coords[j]!;
    return { time: this.time, lon: x0 + (x1 - x0) * u, lat: y0 + (y1 - y0) * u, speedKmh: speeds[i] ?? null, course: courses[i] ?? null, index: i };
  }
}
