import client from 'prom-client';
import type pg from 'pg';
import type { ReplicaSet } from './db/replicas.ts';
import type { TileCache } from './tiles/cache.ts';

/** Prometheus metrics of one app instance (its own registry: no process-wide globals, tests stay apart). */
export class Metrics {
  readonly registry = new client.Registry();
  readonly requests = new client.Counter({
    name: 'citybase_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new client.Histogram({
    name: 'citybase_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly tileQueries = new client.Counter({
    name: 'citybase_tile_queries_total',
    help: 'Tile queries run in the database, by layer',
    labelNames: ['layer'] as const,
    registers: [this.registry],
  });
  readonly importJobsFailed = new client.Counter({
    name: 'citybase_import_jobs_failed_total',
    help: 'Import jobs that failed, by kind of problem (bad_input, bad_option, unknown_crs, conflict, forbidden, cancelled, internal)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly evictions = new client.Counter({
    name: 'citybase_tile_cache_evictions_total',
    help: 'Cached tiles evicted because their data changed',
    registers: [this.registry],
  });

  readonly dbReads = new client.Counter({
    name: 'citybase_db_reads_total',
    help: 'Routed reads (tiles, items, identify, query, analyses) by where they ran: primary or replica',
    labelNames: ['target'] as const,
    registers: [this.registry],
  });

  constructor(cache: TileCache, pool: pg.Pool, replicas?: ReplicaSet | null) {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'citybase_' });
    const gauge = (name: string, help: string, read: () => number) =>
      new client.Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
    gauge('citybase_tile_cache_hits', 'Tile cache hits since start', () => cache.hits);
    gauge('citybase_tile_cache_misses', 'Tile cache misses since start', () => cache.misses);
    gauge('citybase_tile_cache_bytes', 'Bytes held by the tile cache', () => cache.bytes);
    gauge('citybase_tile_cache_entries', 'Tiles held by the tile cache', () => cache.size);
    gauge('citybase_db_pool_connections', 'Open database connections in the pool', () => pool.totalCount);
    gauge('citybase_db_pool_idle', 'Idle database connections in the pool', () => pool.idleCount);
    gauge('citybase_db_pool_waiting', 'Requests waiting for a database connection', () => pool.waitingCount);
    if (replicas) {
      new client.Gauge({
        name: 'citybase_db_replica_lag_ms',
        help: 'How far each read replica is behind the primary (ms; -1 when unreachable)',
        labelNames: ['replica'] as const,
        registers: [this.registry],
        collect() {
          for (const r of replicas.status()) this.set({ replica: r.name }, r.lagMs ?? -1);
        },
      });
      new client.Gauge({
        name: 'citybase_db_replica_in_rotation',
        help: 'Whether each read replica takes reads (1) or is out: down, lagging or not a replica (0)',
        labelNames: ['replica'] as const,
        registers: [this.registry],
        collect() {
          for (const r of replicas.status()) this.set({ replica: r.name }, r.state === 'up' ? 1 : 0);
        },
      });
    }
  }
}
