import Koa from 'koa';
import Router from '@koa/router';
import cors from '@koa/cors';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Principal } from './access/access.ts';
import { keyFromRequest, type KeyStore } from './access/keys.ts';
import type { Config } from './config.ts';
import { createQueryRunner } from './db/query.ts';
import { compression } from './compression.ts';
import { errorBoundary, notFound } from './errors.ts';
import { FeatureLayers } from './features/layers.ts';
import type { Metrics } from './metrics.ts';
import type { LayerRegistry } from './registry/registry.ts';
import { analysesRoutes } from './routes/analyses.ts';
import { caseRoutes } from './routes/cases.ts';
import { catalogRoutes } from './routes/catalog.ts';
import { importRoutes } from './routes/imports.ts';
import type { ImportJobs } from '../../import/jobs.ts';
import { featureRoutes } from './routes/features.ts';
import { ogcRoutes } from './routes/ogc.ts';
import { open311Routes } from './routes/open311.ts';
import { ogcTileRoutes } from './routes/ogc-tiles.ts';
import { operationRoutes } from './routes/operations.ts';
import { styleRoutes } from './routes/styles.ts';
import { tileRoutes } from './routes/tiles.ts';
import { tilejsonRoutes, type BoundsCache } from './routes/tilejson.ts';
import { viewerRoutes } from './routes/viewer.ts';
import type { TileCache } from './tiles/cache.ts';
import type { TileService } from './tiles/tile-service.ts';

export interface AppState {
  principal: Principal;
  route: string;
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
  metrics: Metrics;
  listening: () => boolean;
  /** Import jobs (POST/GET /api/imports); the routes are left out without them. */
  imports?: ImportJobs;
}

/** Build the HTTP app from its parts. No I/O happens here: main.ts listens, tests call app.callback(). */
export function createApp(deps: AppDeps): Koa<AppState> {
  const { config, log, metrics } = deps;
  const app = new Koa<AppState>({ proxy: true });
  // Errors are logged once, by the boundary; koa's default handler would print them again.
  app.silent = true;

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
  app.use(errorBoundary(log));
  app.use(compression());
  app.use(
    cors({
      origin: (ctx) => {
        if (config.corsOrigins === '*') return '*';
        const origin = ctx.get('Origin');
        return config.corsOrigins.includes(origin) ? origin : '';
      },
      allowHeaders: ['Authorization', 'If-None-Match', 'Content-Type'],
      exposeHeaders: ['ETag'],
      maxAge: 3600,
    }),
  );
  app.use(async (ctx, next) => {
    ctx.state.principal = await deps.keys.principal(keyFromRequest(ctx.get('Authorization') || undefined, ctx.query.key));
    await next();
  });

  const router = new Router<AppState>();
  const features = new FeatureLayers(deps.registry);
  const run = createQueryRunner(deps.pool);
  const tileDeps = { tiles: deps.tiles, cache: deps.cache, cacheControl: config.TILE_CACHE_CONTROL, layers: features };
  tileRoutes(router, tileDeps);
  tilejsonRoutes(router, deps.tiles, deps.bounds, config.PUBLIC_URL, features);
  ogcRoutes(router, { layers: features, run, bounds: deps.bounds, publicUrl: config.PUBLIC_URL });
  ogcTileRoutes(router, { ...tileDeps, bounds: deps.bounds, publicUrl: config.PUBLIC_URL });
  featureRoutes(router, features, run);
  catalogRoutes(router, deps.registry, config.PUBLIC_URL);
  styleRoutes(router, deps.registry, config.PUBLIC_URL);
  analysesRoutes(router, { run, pool: deps.pool, registry: deps.registry });
  caseRoutes(router, { pool: deps.pool, photoMaxMB: config.PHOTO_MAX_MB });
  open311Routes(router, { pool: deps.pool, keys: deps.keys, photoMaxMB: config.PHOTO_MAX_MB });
  if (deps.imports) importRoutes(router, deps.imports, config.IMPORT_MAX_MB);
  operationRoutes(router, { pool: deps.pool, registry: deps.registry, cache: deps.cache, listening: deps.listening }, metrics);
  viewerRoutes(router, { publicUrl: config.PUBLIC_URL });
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use((ctx) => {
    throw notFound('not_found', `no route for ${ctx.method} ${ctx.path.slice(0, 200)}`);
  });
  return app;
}
