import type { Server } from 'node:http';
import type Koa from 'koa';
import type pg from 'pg';
import type { Logger } from 'pino';
import { KeyStore, keyFromRequest } from './access/keys.ts';
import { anonymous } from './access/access.ts';
import type { Identity } from './auth/identity.ts';
import { SESSION_COOKIE, SessionStore } from './auth/sessions.ts';
import { UserStore } from './auth/users.ts';
import { createApp, type AppState } from './app.ts';
import type { Config } from './config.ts';
import { migrate } from './db/migrate.ts';
import { openPool } from './db/pool.ts';
import { LSN_UNKNOWN, parseLsn, PRIMARY_LSN_SQL, reachable } from './db/lsn.ts';
import { ReadFloor } from './db/read-floor.ts';
import { routedReads } from './db/read-router.ts';
import { ReplicaSet } from './db/replicas.ts';
import { createQueryRunner, type QueryRunner } from './db/query.ts';
import { Metrics } from './metrics.ts';
import { loadDefinitions } from './registry/load.ts';
import { LayerRegistry } from './registry/registry.ts';
import { BoundsCache } from './routes/tilejson.ts';
import { TileCache } from './tiles/cache.ts';
import { ChangeListener, type TableChange } from './tiles/invalidation.ts';
import { TileService } from './tiles/tile-service.ts';
import { ImportJobs } from '../../import/jobs.ts';
import { InstanceLease } from './instances/lease.ts';
import { VehicleService } from './vehicles/service.ts';

/** The running platform: everything main.ts, the tests and the benchmarks need, and one way to close it. */
export interface Platform {
  app: Koa<AppState>;
  pool: pg.Pool;
  run: QueryRunner;
  registry: LayerRegistry;
  cache: TileCache;
  tiles: TileService;
  keys: KeyStore;
  identity: Identity;
  listener: ChangeListener;
  imports: ImportJobs;
  /** This instance's lease among the servers of the database. */
  lease: InstanceLease;
  /** Start shutting down: /health answers 503 "draining" and answers close their connections. */
  drain(): void;
  /** Vehicle monitoring: writer, live state; main.ts puts the JT/T 808 gateway in front of it. */
  vehicles: VehicleService;
  close(): Promise<void>;
}

/**
 * Wire the platform against a database: migrate, load the layer registry, start listening for changes, build
 * the app. The listener starts before the layers are resolved, so no change can fall between the two.
 */
export async function startPlatform(config: Config, databaseUrl: string, log: Logger): Promise<Platform> {
  const pool = await openPool({
    url: databaseUrl,
    maxConnections: config.DB_POOL_MAX,
    statementTimeoutMs: config.STATEMENT_TIMEOUT_MS,
    timeZone: config.TIMEZONE,
    log,
  });
  await migrate(pool, log);
  const run = createQueryRunner(pool);
  const primaryLsn = async () => {
    const { rows } = await pool.query<{ lsn: string }>(PRIMARY_LSN_SQL);
    const lsn = parseLsn(rows[0]?.lsn);
    return lsn === null ? LSN_UNKNOWN : reachable(lsn);
  };
  // Reads may go to streaming replicas; the floor says how far one must have replayed to be current.
  const replicas = config.DATABASE_REPLICA_URLS
    ? new ReplicaSet({
        urls: config.DATABASE_REPLICA_URLS,
        primary: pool,
        maxLagMs: config.REPLICA_MAX_LAG_MS,
        pollMs: config.REPLICA_POLL_MS,
        poolMax: config.DB_POOL_MAX,
        statementTimeoutMs: config.STATEMENT_TIMEOUT_MS,
        timeZone: config.TIMEZONE,
        log,
      })
    : null;
  // Without replicas every read is on the primary: no floor to keep, no position to ask for.
  const floor = replicas ? new ReadFloor(primaryLsn, (err) => log.warn({ err: err.message }, 'cannot read the primary\'s WAL position')) : null;
  const cache = new TileCache(config.TILE_CACHE_MB * 1024 * 1024, config.TILE_BUFFER / config.TILE_EXTENT);
  const metrics = new Metrics(cache, pool, replicas);
  const bounds = new BoundsCache(run);
  const definitions = await loadDefinitions(config.LAYERS_DIR);
  const registry: LayerRegistry = new LayerRegistry({
    run,
    log,
    definitions,
    tileOptions: { extent: config.TILE_EXTENT, buffer: config.TILE_BUFFER },
    contribAccess: config.CONTRIB_ACCESS,
    contribOwner: config.CONTRIB_OWNER,
    onLayerChanged: (id) => {
      cache.evictLayer(id);
      bounds.forget(id);
    },
  });

  const onChange = (change: TableChange) => {
    floor?.changed();
    for (const w of registry.watchersOf(change.table)) {
      // The first rows of an untyped table tell its SRID: publish it again with the right one.
      if (registry.isProvisional(w.layer)) registry.refreshSoon();
      const n =
        change.all || w.precision === 'all' || !change.boxes ? cache.evictLayer(w.layer) : cache.evictBoxes(w.layer, change.boxes);
      metrics.evictions.inc(n);
      bounds.forget(w.layer);
    }
  };
  // Principals are kept in memory and dropped on every identity change (NOTIFY citybase_identity).
  let identityChanged = () => {};
  let vehiclesWritten = () => {};
  let fencesChanged = () => {};
  const listener = new ChangeListener(
    databaseUrl,
    {
      onChange,
      onIdentityChange: () => {
        floor?.changed();
        identityChanged();
      },
      onVehicleChange: () => vehiclesWritten(),
      onFenceChange: () => fencesChanged(),
      onCatalogChange: () => {
        floor?.changed();
        void registry.refresh();
      },
      onListening: () => {
        floor?.listening();
        cache.reset(true);
        void registry.refresh();
        // A fence change made while nobody listened is never reported again: read them (no-op on the first connect).
        fencesChanged();
      },
      onDeaf: () => {
        floor?.lost();
        cache.reset(false);
        identityChanged();
      },
    },
    log,
  );
  await listener.start();
  await registry.init();
  // DDL notifications need a superuser's event trigger; the poll publishes new contrib tables without one.
  const poll = setInterval(() => void registry.refresh(), config.CONTRIB_POLL_MS);
  poll.unref();

  const caughtUp = () => listener.sync();
  await replicas?.start();
  // Tiles, items, identify, query and analyses read through this: a current replica, else the primary.
  const reads = replicas && floor ? routedReads({ primary: run, replicas, floor, caughtUp, reads: metrics.dbReads }) : run;
  const keys = new KeyStore(run, caughtUp);
  const sessions = new SessionStore(
    run,
    { idleMs: config.SESSION_IDLE_MIN * 60_000, lifetimeMs: config.SESSION_MAX_HOURS * 3_600_000, totpRequired: config.AUTH_TOTP_REQUIRED },
    caughtUp,
  );
  identityChanged = () => {
    keys.forget();
    sessions.forget();
  };
  const identity: Identity = {
    run,
    users: new UserStore(run),
    sessions,
    keys,
    signIn: { maxFailures: config.AUTH_MAX_FAILURES, lockMs: config.AUTH_LOCK_MIN * 60_000, maxAddressFailures: config.AUTH_ADDR_MAX_FAILURES },
    publicUrl: config.PUBLIC_URL,
    sessionLifetimeMs: config.SESSION_MAX_HOURS * 3_600_000,
    idleMs: config.SESSION_IDLE_MIN * 60_000,
    totpRequired: config.AUTH_TOTP_REQUIRED,
  };
  const tiles = new TileService(registry, cache, reads, metrics, () => listener.sync());
  // Several instances may serve this database: each holds a lease, and what a dead one owned is failed.
  let imports: ImportJobs | null = null;
  const lease = new InstanceLease({
    pool,
    log,
    id: config.INSTANCE_ID,
    ttlMs: config.INSTANCE_TTL_S * 1000,
    onRenewed: async (dead) => {
      if (dead.length === 0 || !imports) return;
      const failed = await imports.failOrphans();
      if (failed) log.warn({ failed, dead }, 'import jobs of instances that died were marked failed');
    },
  });
  await lease.start();
  // Import jobs run in this process; a finished import is served before its job reads as succeeded.
  imports = new ImportJobs({
    pool,
    log,
    layersDir: config.LAYERS_DIR,
    timezone: config.IMPORT_TIMEZONE,
    maxSpeedKmh: config.IMPORT_MAX_SPEED_KMH,
    // An upload may unpack to at most 10× its size limit (a 3 MB zip once wrote 3 GB to /tmp).
    maxUnzippedMB: config.IMPORT_MAX_MB * 10,
    afterImport: () => registry.refresh(),
    onFailed: (kind) => metrics.importJobsFailed.inc({ kind }),
    thread: { databaseUrl, timeZone: config.TIMEZONE, heapMb: config.IMPORT_HEAP_MB },
    instanceId: lease.id,
    instanceTtlMs: lease.ttlMs,
  });
  await imports.recover();
  const vehicles = await new VehicleService({
    pool,
    log,
    dataDir: config.DATA_DIR,
    retentionDays: config.POSITIONS_RETENTION_DAYS,
    batchSize: config.POSITIONS_BATCH,
    spoolMemoryFixes: config.SPOOL_MEMORY_FIXES,
    spoolDiskMb: config.SPOOL_DISK_MB,
    maxSpeedKmh: config.IMPORT_MAX_SPEED_KMH,
    registry: metrics.registry,
  }).start();
  // Fixes stored by any instance (a terminal is connected to one of them) reach this one's desks and tiles.
  vehiclesWritten = () => vehicles.storedElsewhere();
  // Fences changed by any instance: every alarm engine uses them at once, every desk of the department redraws them.
  fencesChanged = () => vehicles.fencesChanged();
  // The live channel tells principals as the app does (main.ts attaches it to the HTTP server): a key, or a
  // desk in the browser with its session cookie.
  vehicles.openChannel(
    async (req) => {
      const key = keyFromRequest(req.headers.authorization, new URL(req.url ?? '/', 'http://x').searchParams.get('key') ?? undefined);
      if (key !== null) return keys.principal(key);
      const token = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=([^;]+)`).exec(req.headers.cookie ?? '')?.[1];
      if (!token) return anonymous;
      const resolved = await sessions.resolve(token);
      return 'principal' in resolved ? resolved.principal : anonymous;
    },
    { allowedOrigins: config.corsOrigins },
  );
  let draining = false;
  const app = createApp({
    config, log, pool, registry, cache, tiles, bounds, keys, identity, metrics, imports, vehicles,
    reads, replicas, primaryLsn,
    listening: () => listener.listening,
    draining: () => draining,
  });
  return {
    app,
    pool,
    run,
    registry,
    cache,
    tiles,
    keys,
    identity,
    listener,
    imports,
    lease,
    vehicles,
    drain() {
      draining = true;
    },
    async close() {
      await imports.close();
      await lease.stop();
      await vehicles.close();
      clearInterval(poll);
      await listener.stop();
      floor?.stop();
      await replicas?.stop();
      await pool.end();
    },
  };
}

/**
 * A graceful stop: first drain — /health answers 503 so the load balancer takes this instance out, answers close
 * their connections, requests are still served — for `drainMs`; then stop accepting connections and wait for
 * requests in flight (at most `graceMs`); then close the platform (import jobs cancelled and rolled back, the
 * position spool flushed, live desks told to reconnect with WebSocket code 1012, the lease given up).
 */
export async function shutdown(server: Server, platform: Platform, log: Logger, graceMs = 10_000, drainMs = 0): Promise<void> {
  platform.drain();
  if (drainMs > 0) {
    log.info({ drainMs }, 'draining: /health answers 503 while requests are still served');
    await new Promise((resolve) => setTimeout(resolve, drainMs));
  }
  log.info('shutting down');
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
  await platform.close();
}
