import { DayKeeper } from './reports/keep-days.ts';
import path from 'node:path';
import type pg from 'pg';
import type { Logger } from 'pino';
import client from 'prom-client';
import { authenticateTerminal, registerTerminal, type VehicleInfo } from './fleet.ts';
import { FixPipeline } from './ingest.ts';
import { AlarmEngine, type AlarmDecision } from './alarms/engine.ts';
import { fenceFeature, loadFences } from './alarms/fence-store.ts';
import { loadRules } from './alarms/rules.ts';
import { raise } from './alarms/lifecycle.ts';
import { FleetState } from './live/fleet-state.ts';
import { LiveChannel } from './live/channel.ts';
import { LiveTiles } from './live/tiles.ts';
import type http from 'node:http';
import type { Principal } from '../access/access.ts';
import { PartitionKeeper } from './store/partitions.ts';
import { PositionWriter } from './store/writer.ts';

export interface VehicleServiceOptions {
  pool: pg.Pool;
  log: Logger;
  /** DATA_DIR: the spool goes under `<dataDir>/spool`. */
  dataDir: string;
  retentionDays: number;
  batchSize: number;
  spoolMemoryFixes: number;
  spoolDiskMb: number;
  maxSpeedKmh: number;
  /** Prometheus registry of the app, for the vehicle metrics. */
  registry?: client.Registry;
  /** Write interval of the batch writer (ms). */
  writeIntervalMs?: number;
}

export class VehicleMetrics {
  readonly gatewayEvents: client.Counter<'event'>;
  constructor(registry: client.Registry, service: VehicleService) {
    this.gatewayEvents = new client.Counter({
      name: 'citybase_jt808_events_total',
      help: 'JT/T 808 gateway events (bad frames, rate drops, registrations by result, closes by reason, …)',
      labelNames: ['event'] as const,
      registers: [registry],
    });
    const gauge = (name: string, help: string, read: () => number) =>
      new client.Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
    gauge('citybase_vehicle_fixes_accepted', 'Vehicle fixes accepted since start', () => service.pipeline.counts.accepted);
    gauge('citybase_vehicle_fixes_rejected', 'Vehicle fixes refused by the filters since start', () => service.pipeline.counts.rejected);
    gauge('citybase_vehicle_fixes_written', 'Vehicle fixes written to the database since start', () => service.writer.stats.written);
    gauge('citybase_vehicle_fixes_lost', 'Vehicle fixes lost since start (spool full, or refused by the database)', () => service.writer.stats.lost);
    gauge('citybase_vehicle_spool_bytes', 'Bytes of vehicle fixes spooled to disk while the database is away', () => service.writer.spooledBytes);
    gauge('citybase_vehicle_terminals_online', 'Authenticated terminal connections', () => service.online);
  }
}

/**
 * The vehicle side of the platform, shared by the gateway, the live channel and the tile layer: the batch
 * writer with its spool, the partition keeper, the filters and the live fleet state.
 */
export class VehicleService {
  readonly live = new FleetState();
  readonly writer: PositionWriter;
  readonly pipeline: FixPipeline;
  readonly keeper: PartitionKeeper;
  readonly tiles = new LiveTiles(this.live);
  readonly alarms = new AlarmEngine({ overspeedMinS: 30, offlineAfterS: 600 });
  private offlineTimer: NodeJS.Timeout | null = null;
  /** Alarms being written (tests and shutdown wait for them). */
  private raising = new Set<Promise<unknown>>();
  /** The desk's push channel; made by the platform (it knows how to tell a principal), absent in `npm run gateway`. */
  channel: LiveChannel | null = null;
  metrics: VehicleMetrics | null = null;
  /** Sessions per vehicle: a vehicle is online while one of its terminals' connections is authenticated. */
  private sessions = new Map<string, Set<object>>();
  private refresh: NodeJS.Timeout | null = null;
  private readonly dayKeeper: DayKeeper;
  /** Set by startGateway: terminals report through this process. */
  gatewayRunning = false;

  constructor(private readonly opts: VehicleServiceOptions) {
    this.writer = new PositionWriter({
      pool: opts.pool,
      log: opts.log,
      batchSize: opts.batchSize,
      memoryLimit: opts.spoolMemoryFixes,
      diskLimitBytes: opts.spoolDiskMb * 1024 * 1024,
      spoolDir: path.join(opts.dataDir, 'spool'),
      intervalMs: opts.writeIntervalMs ?? 1000,
    });
    this.pipeline = new FixPipeline(
      this.writer,
      this.live,
      { maxSpeedKmh: opts.maxSpeedKmh, futureMs: 86_400_000, retentionMs: (opts.retentionDays - 1) * 86_400_000 },
      Date.now,
      (vehicle, fix) => {
        for (const d of this.alarms.evaluate(vehicle, fix)) void this.raise(d);
      },
    );
    this.keeper = new PartitionKeeper(opts.pool, opts.retentionDays, opts.log);
    this.dayKeeper = new DayKeeper(opts.pool, opts.log);
    if (opts.registry) this.metrics = new VehicleMetrics(opts.registry, this);
  }

  async start(): Promise<this> {
    await this.keeper.start();
    this.dayKeeper.start();
    await this.refreshFleet();
    // Vehicles registered elsewhere (the CLI, another server) appear on the desk within this time. Only while
    // there is something to serve (a gateway here, or a desk connected): an idle platform sends no queries.
    this.refresh = setInterval(() => {
      if (this.gatewayRunning || (this.channel?.size ?? 0) > 0) void this.refreshFleet().catch(() => {});
    }, 15_000);
    this.refresh.unref();
    this.offlineTimer = setInterval(() => {
      this.expireRemote(Date.now());
      for (const d of this.alarms.offline(Date.now(), (id) => this.live.get(id) && { ...this.live.get(id)!, plateColor: null, phone: null })) void this.raise(d);
    }, 30_000);
    this.offlineTimer.unref();
    return this;
  }

  /** Re-read the registry, the fences and the alarm rules (after a change, and every 15 s). */
  async refreshFleet(): Promise<void> {
    await this.live.load(this.opts.pool);
    await this.reloadFences();
    this.alarms.rules.set(await loadRules(this.opts.pool));
  }

  /**
   * Fences were made, changed or deleted, here or on another instance (NOTIFY citybase_fences, migration 0065):
   * read them again. The alarm engine uses them at once and the desks get what changed.
   */
  fencesChanged(): void {
    this.reloadFences().catch((err: Error) => this.opts.log.warn({ err: err.message }, 'fences changed elsewhere could not be read'));
  }

  /** Each fence as the desks last got it (JSON of its Feature) with its department; null before the first read. */
  private fencesSent: Map<number, { department: string; json: string }> | null = null;
  private fenceReads: Promise<void> = Promise.resolve();
  private fenceReadWaiting: Promise<void> | null = null;

  /**
   * Read the fences into the alarm engine and push the differences from the last read to the desks of each
   * fence's department (`{ kind: "fence", op: "saved", fence }` or `{ kind: "fence", op: "deleted", id }`).
   * Reads run one after another, so a later read never hands the engine an older set; callers that come while one
   * waits to start share it (it starts after their change committed), those that come while one runs get the next.
   */
  reloadFences(): Promise<void> {
    if (this.fenceReadWaiting) return this.fenceReadWaiting;
    const read = this.fenceReads.then(() => {
      this.fenceReadWaiting = null;
      return this.readFences();
    });
    this.fenceReadWaiting = read;
    this.fenceReads = read.catch(() => {});
    return read;
  }

  private async readFences(): Promise<void> {
    const fences = await loadFences(this.opts.pool);
    this.alarms.setFences(fences);
    const before = this.fencesSent;
    const now = new Map<number, { department: string; json: string }>();
    for (const f of fences) {
      const feature = fenceFeature(f);
      const json = JSON.stringify(feature);
      now.set(f.id, { department: f.department, json });
      const was = before?.get(f.id);
      if (!before || was?.json === json) continue;
      if (was && was.department !== f.department) this.channel?.publish({ department: was.department, kind: 'fence', op: 'deleted', id: f.id });
      this.channel?.publish({ department: f.department, kind: 'fence', op: 'saved', fence: feature });
    }
    if (before) for (const [id, was] of before) if (!now.has(id)) this.channel?.publish({ department: was.department, kind: 'fence', op: 'deleted', id });
    this.fencesSent = now;
  }

  /** Store an alarm (or its repeat) and push it to the desks of its department. */
  raise(d: AlarmDecision): Promise<void> {
    const p = raise(this.opts.pool, d)
      .then((row) => {
        this.channel?.publish({ department: d.department, vehicleId: d.vehicleId, kind: 'alarm', repeated: row.repeated, alarm: row });
      })
      .catch((err) => this.opts.log.error({ err, alarm: d.type, vehicle: d.vehicleId }, 'an alarm could not be stored'))
      .finally(() => this.raising.delete(p));
    this.raising.add(p);
    return p;
  }

  /** Wait for the alarms being written. */
  async settled(): Promise<void> {
    while (this.raising.size) await Promise.all([...this.raising]);
  }

  openChannel(principalOf: (req: http.IncomingMessage) => Promise<Principal>, opts: { allowedOrigins?: readonly string[] | '*' } = {}): LiveChannel {
    this.channel = new LiveChannel(this.live, principalOf, opts);
    return this.channel;
  }

  get online(): number {
    return this.sessions.size;
  }

  register(r: Parameters<typeof registerTerminal>[1]) {
    return registerTerminal(this.opts.pool, r);
  }

  authenticate(phone: string, code: string): Promise<VehicleInfo | null> {
    return authenticateTerminal(this.opts.pool, phone, code);
  }

  connected(session: object, vehicle: VehicleInfo): void {
    let set = this.sessions.get(vehicle.id);
    if (!set) this.sessions.set(vehicle.id, (set = new Set()));
    set.add(session);
    if (!this.live.get(vehicle.id)) this.live.upsertVehicle(vehicle);
    this.live.setStatus(vehicle.id, 'online');
  }

  disconnected(session: object, vehicle: VehicleInfo): void {
    const set = this.sessions.get(vehicle.id);
    set?.delete(session);
    if (set && set.size === 0) {
      this.sessions.delete(vehicle.id);
      this.live.setStatus(vehicle.id, 'offline');
    }
  }

  /**
   * Fixes were stored (NOTIFY citybase_vehicles from vehicles.latest): read those that came in since the last
   * read, at most every 200 ms. A vehicle whose terminal is connected to another instance moves on this one's desks
   * and tiles too, and reads as online until no fix has come for the offline time.
   */
  storedElsewhere(): void {
    if (this.readingStored) {
      this.storedAgain = true;
      return;
    }
    this.readingStored = new Promise<void>((resolve) => setTimeout(resolve, 200))
      .then(() => this.readStored())
      .catch((err: Error) => this.opts.log.warn({ err: err.message }, 'fixes stored elsewhere could not be read'))
      .finally(() => {
        this.readingStored = null;
        if (this.storedAgain) {
          this.storedAgain = false;
          this.storedElsewhere();
        }
      });
  }

  private readingStored: Promise<void> | null = null;
  private storedAgain = false;
  /** received_at of the newest stored fix read back (epoch ms); 0 = from now on. */
  private storedSince = Date.now();
  /** Vehicles online through another instance: when their last fix came in. */
  private remoteOnline = new Map<string, number>();

  private async readStored(): Promise<void> {
    // A little overlap: commits are not ordered by received_at, and a fix read twice moves nothing.
    const { rows } = await this.opts.pool.query<{ id: string; lon: number; lat: number; speed: number | null; course: number | null; time: Date; alarm: number; received: Date }>(
      `SELECT vehicle_id AS id, ST_X(geom) AS lon, ST_Y(geom) AS lat, speed_kmh AS speed, course, fix_time AS time,
              coalesce(alarm, 0)::float8 AS alarm, received_at AS received
       FROM vehicles.latest WHERE received_at > $1 ORDER BY received_at`,
      [new Date(this.storedSince - 5_000)],
    );
    const apply = (r: (typeof rows)[number], fresh = false): boolean => {
      const fix = { time: r.time.getTime(), lon: r.lon, lat: r.lat, speedKmh: r.speed, course: r.course, alarm: r.alarm };
      const result = this.live.stored(r.id, fix);
      if (result === 'unknown') return false;
      // Newer than this instance knew: another instance's terminal reported it (this one's own fixes are live
      // already). `fresh`: a vehicle just loaded with this very fix, which came from elsewhere too.
      // A vehicle still 'unknown' here never connected to this instance: a recent fix means it is online elsewhere.
      const elsewhere = result === 'moved' || fresh || this.live.get(r.id)?.status === 'unknown';
      if (elsewhere && !this.sessions.has(r.id) && Date.now() - r.received.getTime() < this.alarms.offlineAfterMs) {
        this.remoteOnline.set(r.id, r.received.getTime());
        this.live.setStatus(r.id, 'online');
      }
      return true;
    };
    const unknown = rows.filter((r) => !apply(r));
    for (const r of rows) this.storedSince = Math.max(this.storedSince, r.received.getTime());
    if (unknown.length) {
      // Registered on another instance since the last registry read: load it and mark it at once (a request
      // between the two would see it without its status), then the fences.
      await this.live.load(this.opts.pool);
      for (const r of unknown) apply(r, true);
      await this.reloadFences();
    }
  }

  /** Vehicles online through another instance whose fixes stopped: offline after the offline time. */
  private expireRemote(now: number): void {
    for (const [id, at] of this.remoteOnline) {
      if (this.sessions.has(id)) this.remoteOnline.delete(id);
      else if (now - at > this.alarms.offlineAfterMs) {
        this.live.setStatus(id, 'offline');
        this.remoteOnline.delete(id);
      }
    }
  }

  async close(): Promise<void> {
    this.keeper.stop();
    await this.dayKeeper.stop();
    await this.readingStored;
    if (this.refresh) clearInterval(this.refresh);
    if (this.offlineTimer) clearInterval(this.offlineTimer);
    await this.settled();
    this.channel?.close();
    await this.writer.close();
  }
}
