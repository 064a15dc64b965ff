import type Router from '@koa/router';
import type pg from 'pg';
import type { LayerRegistry } from '../registry/registry.ts';
import type { TileCache } from '../tiles/cache.ts';
import type { Metrics } from '../metrics.ts';
import type { AppState } from '../app.ts';
import { embeddedClusterStatus } from '../db/embedded.ts';
import type { ReplicaSet } from '../db/replicas.ts';
import { HttpError } from '../errors.ts';
import { mayReadSystem } from '../protection/operator.ts';

export interface HealthDeps {
  pool: pg.Pool;
  registry: LayerRegistry;
  cache: TileCache;
  listening: () => boolean;
  draining: () => boolean;
  /** Read replicas: each one's state (up, lagging, down, not a replica) and lag. */
  replicas?: ReplicaSet | null;
}

/**
 * GET /health (200 when the database answers, 503 when it does not or the instance is draining) and GET /metrics (Prometheus). Anyone gets
 * the status; the details (database host and error, layer ids and their problems, cache) and the metrics
 * (which label tile queries by layer) only a principal with the system:read right or the METRICS_TOKEN bearer.
 */
export function operationRoutes(router: Router<AppState>, deps: HealthDeps, metrics: Metrics): void {
  router.get('/health', async (ctx) => {
    ctx.state.route = 'health';
    let database: { status: 'up'; postgis: string } | { status: 'down'; error: string };
    try {
      const { rows } = await deps.pool.query<{ v: string }>(`SELECT postgis_lib_version() AS v`);
      database = { status: 'up', postgis: rows[0]!.v };
    } catch (err) {
      database = { status: 'down', error: (err as Error).message.split('\n')[0]! };
    }
    const draining = deps.draining();
    const up = database.status === 'up' && !draining;
    const status = draining ? 'draining' : up ? 'ok' : 'unavailable';
    ctx.status = up ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    if (!mayReadSystem(ctx.state)) {
      ctx.body = { status };
      return;
    }
    ctx.body = {
      status,
      database,
      // The embedded cluster's supervisor (restarting a dead postmaster, waiting for its owner…); absent with DATABASE_URL.
      ...(embeddedClusterStatus() ? { embeddedCluster: embeddedClusterStatus() } : {}),
      changeListener: deps.listening() ? 'listening' : 'reconnecting',
      ...(deps.replicas ? { replicas: deps.replicas.status() } : {}),
      layers: deps.registry.list().length,
      unavailableLayers: Object.fromEntries(deps.registry.unavailable),
      tileCache: { active: deps.cache.active, entries: deps.cache.size, bytes: deps.cache.bytes },
    };
  });

  router.get('/metrics', async (ctx) => {
    ctx.state.route = 'metrics';
    if (!mayReadSystem(ctx.state)) {
      const anonymous = ctx.state.principal.kind === 'anonymous';
      throw new HttpError(anonymous ? 401 : 403, anonymous ? 'unauthenticated' : 'forbidden', 'metrics need the system:read right or the METRICS_TOKEN bearer');
    }
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
}
