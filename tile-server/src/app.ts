import { LSN_HEADER, readYourWrites } from './db/read-your-writes.ts';
import type { ReplicaSet } from './db/replicas.ts';
import Koa from 'koa';
import Router from '@koa/router';
import cors from '@koa/cors';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Principal } from './access/access.ts';
import type { KeyStore } from './access/keys.ts';
import type { Identity } from './auth/identity.ts';
import { embedGuard } from './access/embed.ts';
import { deniedAuditor, ownOrigin, principalMiddleware } from './auth/middleware.ts';
import type { Config } from './config.ts';
import { createQueryRunner, type QueryRunner } from './db/query.ts';
import { compression } from './compression.ts';
import { errorBoundary, notFound } from './errors.ts';
import { FeatureLayers } from './features/layers.ts';
import type { Metrics } from './metrics.ts';
import type { LayerRegistry } from './registry/registry.ts';
import { adminRoutes } from './routes/admin.ts';
import { embedKeyRoutes } from './routes/embeds.ts';
import { embedWidgetRoutes } from './routes/embed-widgets.ts';
import { embedErrorPage } from './routes/embed-page.ts';
import { EmbedWidgets } from './access/widgets.ts';
import { analysesRoutes } from './routes/analyses.ts';
import { auditRoutes } from './routes/audit.ts';
import { sessionRoutes } from './routes/session.ts';
import { caseRoutes } from './routes/cases.ts';
import { catalogRoutes } from './routes/catalog.ts';
import { importRoutes } from './routes/imports.ts';
import { legendRoutes } from './routes/legend.ts';
import type { ImportJobs } from '../../import/jobs.ts';
import { forwardedHeaders } from './protection/forwarded.ts';
import { bulkhead } from './protection/bulkhead.ts';
import { operatorToken } from './protection/operator.ts';
import { rateLimits } from './protection/rate-limit.ts';
import { featureRoutes } from './routes/features.ts';
import { geocodeRoutes } from './routes/geocode.ts';
import { locateAddress } from './geocode/geocode.ts';
import { downloadRoutes } from './routes/download.ts';
import { ogcRoutes } from './routes/ogc.ts';
import { open311Routes } from './routes/open311.ts';
import { ogcTileRoutes } from './routes/ogc-tiles.ts';
import { operationRoutes } from './routes/operations.ts';
import { styleRoutes } from './routes/styles.ts';
import { tileRoutes } from './routes/tiles.ts';
import { tilejsonRoutes, type BoundsCache } from './routes/tilejson.ts';
import { viewerRoutes } from './routes/viewer.ts';
import { vehicleRoutes } from './routes/vehicles.ts';
import type { VehicleService } from './vehicles/service.ts';
import type { TileCache } from './tiles/cache.ts';
import type { TileService } from './tiles/tile-service.ts';

export interface AppState {
  principal: Principal;
  route: string;
  /** The request carries the METRICS_TOKEN bearer (protection/operator.ts). */
  operator?: boolean;
}

export interface AppDeps {
  config: Config;
  log: Logger;
  pool: pg.Pool;
  registry: LayerRegistry;
  cache: TileCache;
  tiles: TileService;
  bounds: BoundsCache;
  keys: KeyStore;
  /** Users, sessions and the audit trail. */
  identity: Identity;
  metrics: Metrics;
  listening: () => boolean;
  /** True once the instance is shutting down: /health says so and connections are not kept alive. */
  draining?: () => boolean;
  /** Import jobs (POST/GET /api/imports); the routes are left out without them. */
  imports?: ImportJobs;
  /** Vehicle monitoring (the vehicles_live tiles, /api/vehicles…); the routes are left out without it. */
  vehicles?: VehicleService;
  /** Reads routed to current replicas (db/read-router.ts); unset = the primary's pool. */
  reads?: QueryRunner;
  replicas?: ReplicaSet | null;
  /** The primary's WAL position now: what a write answers with for read-your-writes. */
  primaryLsn?: () => Promise<bigint>;
}

/** Build the HTTP app from its parts. No I/O happens here: main.ts listens, tests call app.callback(). */
export function createApp(deps: AppDeps): Koa<AppState> {
  const { config, log, metrics } = deps;
  const app = new Koa<AppState>({ proxy: true });
  // Errors are logged once, by the boundary; koa's default handler would print them again.
  app.silent = true;

  app.use(forwardedHeaders(config.trustedProxies));
  // While draining, every answer closes its connection, so keep-alive clients (and a proxy's upstream pool)
  // reconnect, to an instance that stays.
  const draining = deps.draining ?? (() => false);
  app.use(async (ctx, next) => {
    if (draining()) ctx.set('Connection', 'close');
    await next();
  });
  app.use(async (ctx, next) => {
    const stop = metrics.latency.startTimer();
    ctx.state.route = 'other';
    try {
      await next();
    } finally {
      stop({ route: ctx.state.route });
      metrics.requests.inc({ route: ctx.state.route, status: String(ctx.status) });
      if (log.isLevelEnabled('debug')) log.debug({ method: ctx.method, url: ctx.url, status: ctx.status }, 'request');
    }
  });
  const direct = createQueryRunner(deps.pool);
  // A refused widget page reads as a page in the department's site, not as JSON (after the boundary answered it).
  app.use(embedErrorPage());
  app.use(errorBoundary(log, deniedAuditor(direct, log)));
  app.use(compression());
  app.use(
    cors({
      origin: (ctx) => {
        if (config.corsOrigins === '*') return '*';
        const origin = ctx.get('Origin');
        return config.corsOrigins.includes(origin) ? origin : '';
      },
      allowHeaders: ['Authorization', 'If-None-Match', 'Content-Type', 'X-CSRF-Token', LSN_HEADER],
      exposeHeaders: ['ETag', 'Content-Crs', 'Content-Disposition', LSN_HEADER],
      maxAge: 3600,
    }),
  );
  const limits = rateLimits(config);
  app.use(limits.byAddress);
  app.use(operatorToken(config.METRICS_TOKEN));
  // Route → principal → access check: every request knows who asks before any route runs.
  // With replicas, a caller's reads see at least what it wrote (X-CityBase-LSN), on whichever instance.
  if (deps.replicas && deps.primaryLsn) app.use(readYourWrites(deps.primaryLsn));
  app.use(principalMiddleware({ keys: deps.keys, sessions: deps.identity.sessions, run: direct, log, publicUrl: config.PUBLIC_URL }));
  // Requests with an embed key: their origin and rate, in one place (access/embed.ts).
  app.use(embedGuard({ ownOrigin: (ctx) => ownOrigin(ctx, config.PUBLIC_URL) }));
  app.use(limits.byKey);

  const router = new Router<AppState>();
  const features = new FeatureLayers(deps.registry);
  // Analyses share a bulkhead of the pool; tiles, /health, sign-in and the audit trail take connections from the pool directly.
  const run = bulkhead(deps.reads ?? createQueryRunner(deps.pool), config.ANALYSIS_MAX_CONNECTIONS ?? Math.max(1, Math.floor(config.DB_POOL_MAX / 2)));
  const tileDeps = { tiles: deps.tiles, cache: deps.cache, cacheControl: config.TILE_CACHE_CONTROL, layers: features };
  // Before tileRoutes: /tiles/vehicles_live/… is cut from memory, not queried.
  if (deps.vehicles) vehicleRoutes(router, { vehicles: deps.vehicles, pool: deps.pool, publicUrl: config.PUBLIC_URL });
  tileRoutes(router, tileDeps);
  tilejsonRoutes(router, deps.tiles, deps.bounds, config.PUBLIC_URL, features);
  ogcRoutes(router, { layers: features, run, bounds: deps.bounds, publicUrl: config.PUBLIC_URL });
  ogcTileRoutes(router, { ...tileDeps, bounds: deps.bounds, publicUrl: config.PUBLIC_URL });
  featureRoutes(router, features, run, { maxVertices: config.QUERY_MAX_VERTICES, maxAreaKm2: config.QUERY_MAX_AREA_KM2 });
  geocodeRoutes(router, features, run);
  downloadRoutes(router, features, run, direct);
  catalogRoutes(router, deps.registry, config.PUBLIC_URL);
  legendRoutes(router, { registry: deps.registry, layers: features, run });
  styleRoutes(router, deps.registry, config.PUBLIC_URL, config.BASEMAP_RASTER_TILES ? { tiles: config.BASEMAP_RASTER_TILES, attribution: config.BASEMAP_RASTER_ATTRIBUTION } : undefined);
  analysesRoutes(router, { run, pool: deps.pool, registry: deps.registry });
  if (deps.imports) importRoutes(router, deps.imports, config.IMPORT_MAX_MB, deps.pool, direct);
  sessionRoutes(router, deps.identity);
  adminRoutes(router, deps.identity);
  embedKeyRoutes(router, { identity: deps.identity, registry: deps.registry });
  const widgets = new EmbedWidgets(direct);
  embedWidgetRoutes(router, { widgets, run: direct });
  auditRoutes(router, direct);
  caseRoutes(router, { pool: deps.pool, photoMaxMB: config.PHOTO_MAX_MB });
  open311Routes(router, { pool: deps.pool, keys: deps.keys, photoMaxMB: config.PHOTO_MAX_MB, locate: (address, principal) => locateAddress(address, features, principal, run) });
  operationRoutes(router, { pool: deps.pool, registry: deps.registry, cache: deps.cache, listening: deps.listening, draining, replicas: deps.replicas ?? null }, metrics);
  viewerRoutes(router, { publicUrl: config.PUBLIC_URL, widgets });
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use((ctx) => {
    throw notFound('not_found', `no route for ${ctx.method} ${ctx.path.slice(0, 200)}`);
  });
  return app;
}
