import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../tile-server/src/config.ts';
import { migrate } from '../tile-server/src/db/migrate.ts';
import { startEmbeddedCluster, type EmbeddedCluster } from '../tile-server/src/db/embedded.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { checkSamples } from './check.ts';
import { deriveDistricts } from './derive/districts.ts';
import { deriveNaturalEarth } from './derive/natural-earth.ts';
import { DEFAULT_SEED, rebuildSamples } from './load.ts';

const usage = `usage: npm run samples [-- [--seed <n>] [--scale <0..1>] [--derive [--shared <dir>]]]
  Rebuilds the sample data in the platform's database (DATABASE_URL, or the embedded cluster under DATA_DIR):
  every sample table is emptied and filled again in one transaction, while a server may be running.
  --seed     generator seed (default ${DEFAULT_SEED}); the same seed gives the same rows
  --scale    density, 1 = full (default); smaller is faster
  --derive   first re-derive the real files of data-samples/ from the team's shared data (../shared/data):
             the 7 district boundaries through the import pipeline (GCJ-02 → WGS84), Natural Earth water`;

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      scale: { type: 'string' },
      derive: { type: 'boolean', default: false },
      shared: { type: 'string', default: path.resolve(root, '..', 'shared', 'data') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed: a whole number, not "${values.seed}"`);
  if (!(scale > 0 && scale <= 1)) throw new Error(`--scale: a number in (0, 1], not "${values.scale}"`);

  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  let cluster: EmbeddedCluster | null = null;
  let stopAfter = false;
  if (!config.DATABASE_URL) {
    const dataDir = path.resolve(root, config.DATA_DIR, 'pg');
    // A cluster that a running `npm start` uses is left running.
    stopAfter = !fs.existsSync(path.join(dataDir, 'postmaster.pid'));
    cluster = await startEmbeddedCluster({ dataDir, log: (msg) => log.info(msg) });
  }
  const url = config.DATABASE_URL ?? cluster!.url;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    if (values.derive) {
      if (!fs.existsSync(values.shared)) throw new Error(`--derive: the shared data folder ${values.shared} does not exist (--shared <dir>)`);
      const files = [...(await deriveNaturalEarth(values.shared, here)), await deriveDistricts(url, values.shared, here, log)];
      log.info({ files }, 'derived files written to data-samples/');
    }
    await migrate(pool, log);
    const started = Date.now();
    const counts = await rebuildSamples(pool, log, { seed, scale });
    console.log(`sample data rebuilt in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${seed}, scale ${scale}):`);
    console.table(counts);
    const problems = (await checkSamples(pool)).filter((c) => c.invalid + c.outside + c.in_lake + c.orphan > 0);
    if (problems.length) {
      console.error('the sample data has problems (rows that are invalid, outside their district, in a lake or outside their parent):');
      console.table(problems);
      return 1;
    }
    return 0;
  } finally {
    await pool.end();
    if (cluster && stopAfter) await cluster.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`samples: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
