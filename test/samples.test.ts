// The sample generator: deterministic (same seed → same rows), and its data valid, inside the right district,
// out of the lakes. Runs on a small build (one district, low density, two days of readings) to stay fast; the
// full build is checked by themes.test.ts.
import test from 'ava';
import pg from 'pg';
import { checkSamples } from '../data-samples/check.ts';
import { DEFAULT_SEED, loadSamplesOnce, rebuildSamples, SAMPLE_TABLES } from '../data-samples/load.ts';
import { migrate } from '../tile-server/src/db/migrate.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { createDatabase } from './helpers/platform.ts';

const log = createLogger('silent');
const small = { scale: 0.25, districts: ['320813'], airDays: 2 }; // 洪泽: city, towns and a lake shore
let db: Awaited<ReturnType<typeof createDatabase>>;
let pool: pg.Pool;

test.before(async () => {
  db = await createDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 3 });
  await pool.query('CREATE EXTENSION IF NOT EXISTS postgis');
  await migrate(pool, log);
});
test.after.always(async () => {
  await pool?.end();
  await db?.drop();
});

/** Row count and a digest of every row's text (ids, attributes, geometry) per sample table. */
async function fingerprints(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of SAMPLE_TABLES) {
    const { rows } = await pool.query<{ n: string; digest: string }>(
      `SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest FROM ${table} t`,
    );
    out[table] = `${rows[0]!.n}:${rows[0]!.digest}`;
  }
  return out;
}

/** Tables made by the generator (the rest are the real files, the same whatever the seed). */
const GENERATED = SAMPLE_TABLES.filter(
  (t) => !['basemap.districts', 'basemap.water', 'basemap.rivers', 'basemap.places', 'basemap.prefecture'].includes(t),
);

test.serial('the same seed gives the same rows in every table; another seed gives other rows', async (t) => {
  await rebuildSamples(pool, log, { seed: 7, ...small });
  const first = await fingerprints();
  await rebuildSamples(pool, log, { seed: 7, ...small });
  t.deepEqual(await fingerprints(), first);
  for (const table of GENERATED) t.not(first[table]!.split(':')[0], '0', `${table} has rows`);

  await rebuildSamples(pool, log, { seed: 8, ...small });
  const other = await fingerprints();
  // Population is configuration and water sections sit at fixed spacing along the real water: seed-free.
  for (const table of GENERATED.filter((x) => x !== 'civil_defence.population' && x !== 'environment.water_sections'))
    t.not(other[table], first[table], `${table} differs with another seed`);
  t.is(other['basemap.districts'], first['basemap.districts']);
});

test.serial('generated geometries are valid, lie in their district and in their parents, and none is in a lake', async (t) => {
  const checks = await checkSamples(pool);
  t.is(checks.length, 19);
  for (const c of checks) t.deepEqual(c, { table: c.table, rows: c.rows, invalid: 0, outside: 0, in_lake: 0, orphan: 0 }, c.table);
});

test.serial('codes nest: grid code = community + 3 digits, community = township + 3, township = district + 3', async (t) => {
  const { rows } = await pool.query<{ bad: number }>(`
    SELECT (SELECT count(*) FROM urban.grid_cells WHERE code !~ '^\\d{15}$' OR left(code, 12) <> community_code)
         + (SELECT count(*) FROM basemap.communities WHERE left(code, 9) <> street_code)
         + (SELECT count(*) FROM basemap.streets WHERE left(code, 6) <> district_code)
         + (SELECT count(*) FROM urban.components WHERE bjbsm !~ '^\\d{16}$' OR substr(bjbsm, 7, 4) <> class_code) AS bad`);
  t.is(Number(rows[0]!.bad), 0);
});

test.serial('loadSamplesOnce does not load over samples already there', async (t) => {
  t.false(await loadSamplesOnce(pool, log));
  const { rows } = await pool.query<{ value: { seed: number } }>(`SELECT value FROM citybase.state WHERE key = 'samples_loaded'`);
  t.not(rows[0]!.value.seed, DEFAULT_SEED); // the small build above, untouched
});
