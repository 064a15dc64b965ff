import type pg from 'pg';
import type { VehicleInfo, VehicleType } from '../fleet.ts';

export type LiveStatus = 'online' | 'offline' | 'unknown';

/** What the desk shows of one vehicle. */
export interface LiveVehicle {
  id: string;
  plate: string | null;
  type: VehicleType;
  department: string;
  company: string | null;
  /** 行政区划 of registration (null: a city-level fleet) and the desk's group. */
  district: string | null;
  group: string | null;
  status: LiveStatus;
  lon: number | null;
  lat: number | null;
  speedKmh: number | null;
  course: number | null;
  /** Fix time, epoch ms. */
  time: number | null;
  alarm: number;
}

/**
 * The live fleet in memory: the newest fix and the connection status of every known vehicle. The desk's push
 * channel and the `vehicles_live` tiles read it; nothing here queries the database per request. Changes are
 * collected per vehicle and taken in batches (`takeChanges`), so a vehicle that reports five times between two
 * pushes is sent once.
 */
export class FleetState {
  private vehicles = new Map<string, LiveVehicle>();
  private changed = new Set<string>();
  /** Bumped on every change: the tile layer rebuilds its index only when it moved. */
  version = 0;

  /**
   * Read the registry and the latest positions. Known vehicles keep their status and move only to a newer stored
   * fix (one another gateway process wrote); their registration (plate, type, department, company) is refreshed;
   * new ones appear.
   */
  async load(db: pg.Pool): Promise<void> {
    const { rows } = await db.query<LiveVehicle & { time: Date | null }>(
      `SELECT v.id, v.plate, v.vehicle_type AS type, v.department_id AS department, v.company,
              v.district_code AS district, v.fleet_group AS "group",
              ST_X(l.geom) AS lon, ST_Y(l.geom) AS lat, l.speed_kmh AS "speedKmh", l.course, l.fix_time AS time, coalesce(l.alarm, 0)::float8 AS alarm
       FROM vehicles.vehicles v LEFT JOIN vehicles.latest l ON l.vehicle_id = v.id`,
    );
    for (const r of rows) {
      const known = this.vehicles.get(r.id);
      if (!known) {
        this.vehicles.set(r.id, { ...r, time: r.time ? r.time.getTime() : null, status: 'unknown' });
        this.touch(r.id);
        continue;
      }
      // A fix written by another process (`npm run gateway` on another machine) that this one has not seen.
      const stored = r.time ? r.time.getTime() : null;
      if (stored !== null && (known.time === null || stored > known.time)) {
        Object.assign(known, { lon: r.lon, lat: r.lat, speedKmh: r.speedKmh, course: r.course, time: stored, alarm: r.alarm });
        this.touch(r.id);
      }
      if (known.plate !== r.plate || known.type !== r.type || known.department !== r.department || known.company !== r.company || known.district !== r.district || known.group !== r.group) {
        Object.assign(known, { plate: r.plate, type: r.type, department: r.department, company: r.company, district: r.district, group: r.group });
        this.touch(r.id);
      }
    }
  }

  get(id: string): LiveVehicle | undefined {
    return this.vehicles.get(id);
  }

  all(): IterableIterator<LiveVehicle> {
    return this.vehicles.values();
  }

  get size(): number {
    return this.vehicles.size;
  }

  /** A vehicle added or changed in the registry. */
  upsertVehicle(v: VehicleInfo): void {
    const old = this.vehicles.get(v.id);
    this.vehicles.set(v.id, {
      id: v.id,
      plate: v.plate,
      type: v.type,
      department: v.department,
      company: v.company,
      district: v.district !== undefined ? v.district : (old?.district ?? null),
      group: v.group !== undefined ? v.group : (old?.group ?? null),
      status: old?.status ?? 'unknown',
      lon: old?.lon ?? null,
      lat: old?.lat ?? null,
      speedKmh: old?.speedKmh ?? null,
      course: old?.course ?? null,
      time: old?.time ?? null,
      alarm: old?.alarm ?? 0,
    });
    this.touch(v.id);
  }

  /** A new fix; an older one (backfill, a late batch) never moves the live position back. */
  position(v: VehicleInfo, fix: { time: number; lon: number; lat: number; speedKmh: number; course: number; alarm: number }): void {
    let live = this.vehicles.get(v.id);
    if (!live) {
      this.upsertVehicle(v);
      live = this.vehicles.get(v.id)!;
    }
    if (live.time !== null && fix.time <= live.time) return;
    Object.assign(live, { lon: fix.lon, lat: fix.lat, speedKmh: fix.speedKmh, course: fix.course, time: fix.time, alarm: fix.alarm, status: 'online' });
    this.touch(v.id);
  }

  /**
   * A fix read back from vehicles.latest (stored by another instance, whose terminal connection it is): moves the
   * vehicle only forward. 'moved' when it was newer than what this instance knew (so it came from elsewhere: this
   * instance's own fixes are applied when they arrive), 'known' when not, 'unknown' for a vehicle not known here.
   */
  stored(id: string, fix: { time: number; lon: number; lat: number; speedKmh: number | null; course: number | null; alarm: number }): 'moved' | 'known' | 'unknown' {
    const live = this.vehicles.get(id);
    if (!live) return 'unknown';
    if (live.time !== null && fix.time <= live.time) return 'known';
    Object.assign(live, { lon: fix.lon, lat: fix.lat, speedKmh: fix.speedKmh, course: fix.course, time: fix.time, alarm: fix.alarm });
    this.touch(id);
    return 'moved';
  }

  setStatus(id: string, status: LiveStatus): void {
    const live = this.vehicles.get(id);
    if (!live || live.status === status) return;
    live.status = status;
    this.touch(id);
  }

  /** The vehicles changed since the last call. */
  takeChanges(): LiveVehicle[] {
    const out: LiveVehicle[] = [];
    for (const id of this.changed) {
      const v = this.vehicles.get(id);
      if (v) out.push({ ...v });
    }
    this.changed.clear();
    return out;
  }

  private touch(id: string): void {
    this.changed.add(id);
    this.version++;
  }
}
