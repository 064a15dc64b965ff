import type { VehicleInfo } from './fleet.ts';
import type { Location } from './jt808/messages.ts';
import type { FleetState } from './live/fleet-state.ts';
import { rejectReason, type FilterOptions, type LastFix } from './store/filters.ts';
import type { PositionWriter } from './store/writer.ts';

export type IngestOutcome = 'accepted' | 'rejected' | 'lost';

/**
 * The life of a fix after decoding: filters (with the vehicle's previous fix), then the writer's batch and the
 * live state. Backfilled fixes (0x0704 type 1, or older than the newest) are stored but never touch the live
 * position, so they cannot raise live alarms for the past.
 */
export class FixPipeline {
  private last = new Map<string, LastFix>();
  readonly counts = { accepted: 0, rejected: 0, lost: 0 };

  constructor(
    private readonly writer: PositionWriter,
    private readonly live: FleetState,
    private readonly filters: FilterOptions,
    private readonly now: () => number = Date.now,
    /** Live (not late) fixes, in order per vehicle: the alarm rules. */
    private readonly onLive: (vehicle: VehicleInfo, fix: { time: number; lon: number; lat: number; speedKmh: number; alarm: number }) => void = () => {},
  ) {}

  ingest(vehicle: VehicleInfo, loc: Location, opts: { backfill: boolean; source: string }): IngestOutcome {
    const receivedAt = this.now();
    const previous = this.last.get(vehicle.id);
    const reason = rejectReason(loc, previous, receivedAt, this.filters);
    if (reason) {
      this.writer.reject({ vehicleId: vehicle.id, time: Number.isFinite(loc.time) ? loc.time : null, receivedAt, lon: finite(loc.lon), lat: finite(loc.lat), reason });
      this.counts.rejected++;
      return 'rejected';
    }
    const late = opts.backfill || (previous !== undefined && loc.time < previous.time);
    const { raw, alarm, status, lat, lon, altitudeM, speedKmh, course, time, mileageKm, satellites, ...decoded } = loc;
    const extras = { ...decoded, ...(Object.keys(raw).length ? { raw } : {}) };
    const kept = this.writer.add({
      vehicleId: vehicle.id,
      time,
      lon,
      lat,
      speedKmh,
      course: course % 360,
      altitudeM,
      source: opts.source,
      alarm,
      status,
      mileageKm: mileageKm ?? null,
      satellites: satellites ?? null,
      extras: Object.keys(extras).length ? extras : null,
      receivedAt,
      backfill: late,
    });
    if (!kept) {
      this.counts.lost++;
      return 'lost';
    }
    this.counts.accepted++;
    if (!late) {
      this.last.set(vehicle.id, { time, lon, lat });
      this.live.position(vehicle, { time, lon, lat, speedKmh, course: course % 360, alarm });
      this.onLive(vehicle, { time, lon, lat, speedKmh, alarm });
    }
    return 'accepted';
  }
}

const finite = (n: number) => (Number.isFinite(n) ? n : null);
