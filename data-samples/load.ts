import type pg from 'pg';
import type { Logger } from 'pino';
import { generateSamples, type GenerateOptions } from './generate/index.ts';
import { loadStatic } from './static.ts';

/**
 * The sample data: the real files of this folder (static.ts) and the seeded generator (generate/). Loaded into
 * an empty platform on first start (main.ts, tests) and rebuilt by `npm run samples` (cli.ts). Everything goes in
 * one transaction: a failure leaves no half-loaded samples.
 */
export const DEFAULT_SEED = 20260301;
const STATE_KEY = 'samples_loaded';

/** Tables the samples fill, children first (code tables and parameters are the migrations' and stay). */
export const SAMPLE_TABLES = [
  'environment.air_readings',
  'environment.air_stations',
  'environment.water_samples',
  'environment.water_sections',
  'environment.noise_zones',
  'environment.water_intakes',
  'civil_defence.evacuation_routes',
  'civil_defence.evacuation_areas',
  'civil_defence.shelters',
  'civil_defence.sirens',
  'civil_defence.key_targets',
  'civil_defence.population',
  'planning.regulatory_parcels',
  'planning.land_use',
  'urban.events',
  'urban.components',
  'urban.responsibility_areas',
  'urban.grid_cells',
  'basemap.labels',
  'basemap.roads',
  'basemap.communities',
  'basemap.streets',
  'basemap.rivers',
  'basemap.water',
  'basemap.districts',
  'basemap.places',
  'basemap.prefecture',
] as const;

/** Load everything on a client inside a transaction. */
export async function loadSamples(client: pg.ClientBase, log: Logger, opts: Partial<GenerateOptions> = {}): Promise<Record<string, number>> {
  const started = Date.now();
  await loadStatic(client, log);
  const counts = await generateSamples(client, { seed: DEFAULT_SEED, scale: 1, ...opts }, log);
  await client.query(
    `INSERT INTO citybase.state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [STATE_KEY, JSON.stringify({ seed: opts.seed ?? DEFAULT_SEED, scale: opts.scale ?? 1, districts: opts.districts ?? null })],
  );
  log.info({ ms: Date.now() - started, ...counts }, 'sample data generated');
  return counts;
}

async function inTransaction<T>(pool: pg.Pool, what: string, work: (client: pg.PoolClient) => Promise<T | typeof ROLLBACK>): Promise<T | null> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // STATEMENT_TIMEOUT_MS bounds requests; this one-off batch may take longer on a busy machine (it did, under
    // parallel test runs), and a timeout here would leave a server without its samples.
    await client.query('SET LOCAL statement_timeout = 0');
    // Two servers starting at once must not both load.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('citybase.samples'))`);
    const result = await work(client);
    if (result === ROLLBACK) {
      await client.query('ROLLBACK');
      return null;
    }
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw new Error(`${what} failed: ${(err as Error).message}`);
  } finally {
    client.release();
  }
}
const ROLLBACK = Symbol('rollback');

/**
 * Load the samples unless they were loaded before or the base map already holds districts (real data is never
 * mixed with samples). Returns whether it loaded them.
 */
export async function loadSamplesOnce(pool: pg.Pool, log: Logger): Promise<boolean> {
  const loaded = await inTransaction(pool, 'loading data-samples', async (client) => {
    const done = await client.query(`SELECT 1 FROM citybase.state WHERE key = $1`, [STATE_KEY]);
    if (done.rowCount) return ROLLBACK;
    const occupied = await client.query(`SELECT 1 FROM basemap.districts LIMIT 1`);
    if (occupied.rowCount) {
      log.warn('basemap.districts already holds data: the samples are not loaded');
      return ROLLBACK;
    }
    await loadSamples(client, log);
    return true;
  });
  return loaded === true;
}

/** Replace whatever sample data there is with a fresh build (npm run samples; tests with a small scale). */
export async function rebuildSamples(pool: pg.Pool, log: Logger, opts: Partial<GenerateOptions> = {}): Promise<Record<string, number>> {
  const counts = await inTransaction(pool, 'rebuilding data-samples', async (client) => {
    await client.query(`TRUNCATE ${SAMPLE_TABLES.join(', ')} RESTART IDENTITY`);
    return loadSamples(client, log, opts);
  });
  return counts!;
}
