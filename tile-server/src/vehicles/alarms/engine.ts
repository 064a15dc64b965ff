import type { VehicleInfo, VehicleType } from '../fleet.ts';
import type { Fence } from './fence-store.ts';
import { CITY_OFFSET_MS, FenceGeometry, scheduleActive } from './geometry.ts';
import { RuleBook } from './rules.ts';

/** An alarm the engine decided on; the service stores it (lifecycle.raise) and pushes it to the desks. */
export interface AlarmDecision {
  vehicleId: string;
  department: string;
  type: string;
  fenceId: number | null;
  at: number;
  lon: number | null;
  lat: number | null;
  detail: Record<string, unknown> | null;
}

export interface LiveFix {
  time: number;
  lon: number;
  lat: number;
  speedKmh: number;
  alarm: number;
}

/**
 * Default speed limits by vehicle type (km/h) when no 限速区 applies. Not from a standard: the desk's
 * configuration, to be set by 交通运输局.
 */
export const typeSpeedLimitsKmh: Record<VehicleType, number> = {
  muck_truck: 60,
  dangerous_goods: 60,
  school_bus: 60,
  bus: 70,
  taxi: 100,
  other: 120,
};

/** Terminal alarm bits (0x0200 alarm word, vehicle-tracking.md §2.3) that become desk alarms on their rising edge. */
export const terminalAlarmBits: Record<number, string> = {
  0: 'terminal_emergency',
  2: 'terminal_fatigue',
  3: 'terminal_danger',
  18: 'terminal_driving_time',
  19: 'terminal_overtime_parking',
  26: 'terminal_stolen',
  27: 'terminal_illegal_ignition',
  28: 'terminal_illegal_displacement',
  29: 'terminal_collision',
  30: 'terminal_rollover',
};

type Decide = (type: string, fenceId: number | null, at: number, detail: Record<string, unknown> | null) => void;
type Rules = ReturnType<RuleBook['for']>;

/** Metres between two positions (equirectangular: stops are within a few hundred metres). */
function metres(a: { lon: number; lat: number }, b: { lon: number; lat: number }): number {
  const k = Math.cos(((a.lat + b.lat) / 2) * (Math.PI / 180));
  return Math.hypot((b.lon - a.lon) * k, b.lat - a.lat) * 111_195;
}

export interface EngineOptions {
  /** Overspeed must last this long (s) to be an alarm. */
  overspeedMinS: number;
  /** No fix for this long (s) from a vehicle that was reporting: offline. */
  offlineAfterS: number;
}

interface FenceState {
  inside: boolean;
  /** A no-entry alarm was raised for this stay inside (also when the schedule began while inside). */
  alarmed: boolean;
  candidate: boolean | null;
  since: number;
}

interface VehicleState {
  last: LiveFix | null;
  fences: Map<number, FenceState>;
  overSince: number | null;
  overRaised: boolean;
  overMax: number;
  alarmBits: number;
  offlineRaised: boolean;
  /** 疲劳驾驶: start of the current continuous driving, start of the current halt, raised for this driving. */
  drivingSince: number | null;
  haltSince: number | null;
  fatigueRaised: boolean;
  /** 违规停车: where and since when the vehicle stands, raised for this stop. */
  stand: { lon: number; lat: number; since: number } | null;
  standRaised: boolean;
}

/**
 * Live alarm rules, evaluated on each vehicle's fixes in time order (never on backfill). Fence membership
 * changes only after it has held for the fence's dwell time, so GPS jitter at an edge raises nothing; a leg
 * between two fixes that passes through a no-entry zone counts (sparse fixes, Traccar's segment crossing).
 */
export class AlarmEngine {
  private fences: Array<Fence & { geometry: FenceGeometry }> = [];
  private vehicles = new Map<string, VehicleState>();
  /** Rules that are data (fatigue, stops outside allowed places): alarms/rules.ts. */
  readonly rules = new RuleBook();

  constructor(private readonly opts: EngineOptions) {}

  /** How long a vehicle may be silent before it is offline (ms). */
  get offlineAfterMs(): number {
    return this.opts.offlineAfterS * 1000;
  }

  setFences(fences: Fence[]): void {
    this.fences = fences.map((f) => ({ ...f, geometry: new FenceGeometry(f.shape) }));
    const ids = new Set(fences.map((f) => f.id));
    for (const v of this.vehicles.values()) for (const id of v.fences.keys()) if (!ids.has(id)) v.fences.delete(id);
  }

  get fenceCount(): number {
    return this.fences.length;
  }

  evaluate(vehicle: VehicleInfo, fix: LiveFix): AlarmDecision[] {
    let s = this.vehicles.get(vehicle.id);
    if (!s)
      this.vehicles.set(
        vehicle.id,
        (s = { last: null, fences: new Map(), overSince: null, overRaised: false, overMax: 0, alarmBits: 0, offlineRaised: false, drivingSince: null, haltSince: null, fatigueRaised: false, stand: null, standRaised: false }),
      );
    const out: AlarmDecision[] = [];
    const decide = (type: string, fenceId: number | null, at: number, detail: Record<string, unknown> | null) =>
      out.push({ vehicleId: vehicle.id, department: vehicle.department, type, fenceId, at, lon: fix.lon, lat: fix.lat, detail });
    const here: [number, number] = [fix.lon, fix.lat];
    const prev = s.last;
    let limit = typeSpeedLimitsKmh[vehicle.type] ?? typeSpeedLimitsKmh.other;
    let limitFence: number | null = null;

    for (const f of this.fences) {
      if (f.department !== vehicle.department) continue;
      if (f.vehicleTypes && !f.vehicleTypes.includes(vehicle.type)) continue;
      let st = s.fences.get(f.id);
      if (!st) s.fences.set(f.id, (st = { inside: false, alarmed: false, candidate: null, since: fix.time }));
      const now = f.geometry.contains(here);
      let entered = false;
      let exited = false;
      if (now === st.inside) st.candidate = null;
      else {
        if (st.candidate !== now) {
          st.candidate = now;
          st.since = fix.time;
        }
        if (fix.time - st.since >= f.dwellS * 1000) {
          st.inside = now;
          st.candidate = null;
          entered = now;
          exited = !now;
        }
      }
      const active = scheduleActive(f.schedule, fix.time);
      if (f.kind === 'no_entry' && active) {
        if (st.inside && !st.alarmed) {
          st.alarmed = true;
          decide('fence_no_entry', f.id, entered ? st.since : fix.time, { fence: f.name });
        }
        // Both ends outside and the leg through the zone (a jittering fix inside the edge is not a crossing).
        else if (!st.inside && st.candidate === null && !now && prev && !f.geometry.contains([prev.lon, prev.lat]) && f.geometry.crossedBy([prev.lon, prev.lat], here))
          decide('fence_no_entry', f.id, fix.time, { fence: f.name, crossed: true });
      }
      if (!st.inside) st.alarmed = false;
      if (f.kind === 'route' && active && exited) decide('route_deviation', f.id, st.since, { route: f.name });
      if (f.kind === 'speed_limit' && active && st.inside && f.speedLimitKmh !== null && f.speedLimitKmh < limit) {
        limit = f.speedLimitKmh;
        limitFence = f.id;
      }
    }

    // Overspeed: above the limit for at least overspeedMinS, once per episode.
    if (fix.speedKmh > limit) {
      s.overSince ??= fix.time;
      s.overMax = Math.max(s.overMax, fix.speedKmh);
      if (!s.overRaised && fix.time - s.overSince >= this.opts.overspeedMinS * 1000) {
        s.overRaised = true;
        decide('overspeed', limitFence, s.overSince, { limitKmh: limit, maxKmh: s.overMax, seconds: (fix.time - s.overSince) / 1000 });
      }
    } else {
      s.overSince = null;
      s.overRaised = false;
      s.overMax = 0;
    }

    // Terminal alarm bits: a bit that turns on.
    const rising = fix.alarm & ~s.alarmBits;
    for (const [bit, type] of Object.entries(terminalAlarmBits)) if (rising & (1 << Number(bit))) decide(type, null, fix.time, { bit: Number(bit) });
    s.alarmBits = fix.alarm;

    const rules = this.rules.for(vehicle.department, vehicle.type);
    if (rules.fatigue_driving.enabled) this.fatigue(s, fix, rules.fatigue_driving, decide);
    if (rules.stop_outside_area.enabled) this.standing(s, vehicle, fix, here, rules.stop_outside_area, decide);

    s.last = fix;
    s.offlineRaised = false;
    return out;
  }

  /**
   * 疲劳驾驶: driving continues through halts shorter than the rest (and through reporting gaps shorter than it);
   * beyond the day's or the night's limit, one alarm per driving period, dated when the limit was passed.
   */
  private fatigue(s: VehicleState, fix: LiveFix, r: Rules['fatigue_driving'], decide: Decide): void {
    const rest = r.restMinS * 1000;
    const gap = s.last ? fix.time - s.last.time : 0;
    if (gap >= rest || (s.haltSince !== null && fix.time - s.haltSince >= rest)) {
      s.drivingSince = null;
      s.fatigueRaised = false;
    }
    if (fix.speedKmh > r.movingKmh) {
      s.haltSince = null;
      s.drivingSince ??= gap >= rest || !s.last ? fix.time : s.last.time;
    } else s.haltSince ??= fix.time;
    if (s.drivingSince === null || s.fatigueRaised) return;
    const hour = new Date(s.drivingSince + CITY_OFFSET_MS).getUTCHours();
    const night = r.nightFrom > r.nightTo ? hour >= r.nightFrom || hour < r.nightTo : hour >= r.nightFrom && hour < r.nightTo;
    const limitS = night ? r.nightMaxS : r.dayMaxS;
    const drivenMs = (s.haltSince ?? fix.time) - s.drivingSince;
    if (drivenMs > limitS * 1000) {
      s.fatigueRaised = true;
      decide('fatigue_driving', null, s.drivingSince + limitS * 1000, { drivingS: Math.round(drivenMs / 1000), limitS, night, since: new Date(s.drivingSince).toISOString() });
    }
  }

  /** 违规停车: a stop of minStopS outside every expected stop (停车场/工地/消纳场) of the vehicle's department. */
  private standing(s: VehicleState, vehicle: VehicleInfo, fix: LiveFix, here: [number, number], r: Rules['stop_outside_area'], decide: Decide): void {
    const still = fix.speedKmh <= r.stopSpeedKmh;
    if (!still || (s.stand && metres(s.stand, fix) > r.radiusM)) {
      s.stand = still ? { lon: fix.lon, lat: fix.lat, since: fix.time } : null;
      s.standRaised = false;
      return;
    }
    s.stand ??= { lon: fix.lon, lat: fix.lat, since: fix.time };
    if (s.standRaised || fix.time - s.stand.since < r.minStopS * 1000) return;
    const allowed = this.fences.filter((f) => f.kind === 'expected_stop' && f.department === vehicle.department && (!f.vehicleTypes || f.vehicleTypes.includes(vehicle.type)));
    // Only where the department has drawn its allowed places for this type.
    if (allowed.length === 0) return;
    s.standRaised = true;
    if (allowed.some((f) => f.geometry.contains(here))) return;
    decide('stop_outside_area', null, s.stand.since, { stoppedS: Math.round((fix.time - s.stand.since) / 1000), minStopS: r.minStopS });
  }

  /** Vehicles that were reporting and have been silent for offlineAfterS (once per silence). */
  offline(now: number, vehicles: (id: string) => VehicleInfo | undefined): AlarmDecision[] {
    const out: AlarmDecision[] = [];
    for (const [id, s] of this.vehicles) {
      if (!s.last || s.offlineRaised || now - s.last.time < this.opts.offlineAfterS * 1000) continue;
      const v = vehicles(id);
      if (!v) continue;
      s.offlineRaised = true;
      out.push({ vehicleId: id, department: v.department, type: 'offline', fenceId: null, at: now, lon: s.last.lon, lat: s.last.lat, detail: { lastFix: new Date(s.last.time).toISOString() } });
    }
    return out;
  }
}
