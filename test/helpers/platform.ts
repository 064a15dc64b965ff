import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile, readdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import supertest from 'supertest';
import { loadConfig } from '../../tile-server/src/config.ts';
import { createLogger, type Logger } from '../../tile-server/src/log.ts';
import { startPlatform, type Platform } from '../../tile-server/src/platform.ts';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesDir = path.join(root, 'test', 'fixtures');

/** The cluster `npm test` provides (test/run.ts); running a test file without it is a setup error, not a skip. */
export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run tests through `npm test` (test/run.ts provides the database)');
  return url;
}

/** A new empty database in the test cluster, so test files running in parallel never see each other's data. */
export async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = new URL(testDatabaseUrl());
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base.toString() });
      await c.connect();
      // pool.end() resolves before its sockets are gone; FORCE would then kill a closing connection, whose
      // error nobody listens to any more. Give them a moment to leave, then force the rest.
      for (let i = 0; i < 40; i++) {
        const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`, [name]);
        if (rows[0].n === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Run every test/fixtures/db/*.sql (in name order) against a database. */
export async function loadFixtures(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS postgis');
    for (const f of (await readdir(path.join(fixturesDir, 'db'))).filter((f) => f.endsWith('.sql')).sort())
      await client.query(await readFile(path.join(fixturesDir, 'db', f), 'utf8'));
  } finally {
    await client.end();
  }
}

/**
 * The METRICS_TOKEN of test platforms: /health details and /metrics need it (or a key with system:read), as a
 * monitoring system would send it. `.set(OPS)` on a request.
 */
export const OPS_TOKEN = 'test-operations-token-0123456789';
export const OPS = { Authorization: `Bearer ${OPS_TOKEN}` };

export interface TestPlatform {
  platform: Platform;
  http: ReturnType<typeof supertest>;
  /** A separate connection for the test's own SQL (as a department's GIS staff would make changes). */
  sql: pg.Pool;
  url: string;
  close(): Promise<void>;
}

/**
 * A full platform on a fresh database: fixtures loaded, migrations run, layers resolved, listener on.
 * `env` overrides configuration exactly as the environment would.
 */
export async function startTestPlatform(
  env: Record<string, string> = {},
  opts: { layersDir?: string; fixtures?: boolean; log?: Logger; beforeStart?: (url: string) => Promise<void> } = {},
): Promise<TestPlatform> {
  const db = await createDatabase();
  if (opts.fixtures !== false) await loadFixtures(db.url);
  await opts.beforeStart?.(db.url);
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    CONTRIB_POLL_MS: '500',
    DB_POOL_MAX: '6',
    METRICS_TOKEN: OPS_TOKEN,
    LAYERS_DIR: opts.layersDir ?? path.join(fixturesDir, 'layers'),
    ...env,
  });
  const platform = await startPlatform(config, db.url, opts.log ?? createLogger(config.LOG_LEVEL));
  const sql = new pg.Pool({ connectionString: db.url, max: 3 });
  return {
    platform,
    http: supertest(platform.app.callback()),
    sql,
    url: db.url,
    async close() {
      await sql.end();
      await platform.close();
      await db.drop();
    },
  };
}

/**
 * Another server instance on the same database as `tp` (issue 17: several `npm start` processes behind a load
 * balancer), with its own pool, listener, caches and lease. Closed by the caller before `tp`.
 */
export async function startInstance(
  tp: TestPlatform,
  env: Record<string, string> = {},
  opts: { layersDir?: string } = {},
): Promise<{ platform: Platform; http: ReturnType<typeof supertest>; close(): Promise<void> }> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    CONTRIB_POLL_MS: '500',
    DB_POOL_MAX: '6',
    METRICS_TOKEN: OPS_TOKEN,
    LAYERS_DIR: opts.layersDir ?? path.join(fixturesDir, 'layers'),
    ...env,
  });
  const platform = await startPlatform(config, tp.url, createLogger(config.LOG_LEVEL));
  return { platform, http: supertest(platform.app.callback()), close: () => platform.close() };
}

/** supertest buffers binary bodies only when told to; tiles are binary. */
export function binary(res: { on(e: string, cb: (c?: Buffer) => void): void }, done: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c?: Buffer) => chunks.push(c!));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}

/**
 * GET as sent on the wire: a real socket and node:http, which never decompresses (supertest unpacks gzip and
 * brotli on its own), so Content-Encoding and the encoded bytes can be checked.
 */
export async function onTheWire(tp: TestPlatform, path: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  const server = tp.platform.app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });
  } finally {
    server.close();
  }
}

/** Wait until a condition holds (polling), for things that happen asynchronously such as catalog rescans. */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 10_000, stepMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
