// `npm run bench:import`: the import pipeline against GDAL's ogr2ogr (-f PostgreSQL, PG_USE_COPY=YES) into the
// same database in the same run: 1,000,000 seeded CSV points (name, kind, value, lon, lat) and the largest GeoJSON
// in ../shared/data. Both build a GiST index; both run as child processes whose wall time and peak RSS are
// measured the same way; each is run two (CSV) or five (GeoJSON) times, alternating, and the fastest run counts. gdal-bin is
// installed with apt when ogr2ogr is missing. Env: DATABASE_URL (else an embedded cluster in a temp dir),
// BENCH_POINTS.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedCluster, type EmbeddedCluster } from '../tile-server/src/db/embedded.ts';
import { migrate } from '../tile-server/src/db/migrate.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { mulberry32 } from './load.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POINTS = Number(process.env.BENCH_POINTS ?? 1_000_000);
const GEOJSON = path.resolve(root, '..', 'shared', 'data', 'natural-earth', 'ne_10m_populated_places.json');

interface Run {
  seconds: number;
  rssMB: number;
}

/** Run a command to its end, sampling its peak resident set (VmHWM) from /proc while it runs. */
function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let peak = 0;
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        /* exited */
      }
    };
    const timer = setInterval(sample, 25);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) reject(new Error(`${path.basename(cmd)} exited with ${code}:\n${out.slice(-2000)}`));
      else resolve({ seconds, rssMB: peak });
    });
  });
}

function ensureOgr2ogr(): string {
  const find = () => {
    try {
      return execFileSync('sh', ['-c', 'command -v ogr2ogr'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  let bin = find();
  if (bin) return bin;
  if (process.getuid?.() !== 0 || !fs.existsSync('/etc/debian_version')) throw new Error('ogr2ogr is missing: install gdal-bin');
  console.error('ogr2ogr is missing: apt-get install -y gdal-bin');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'gdal-bin'], { env, stdio: 'inherit' });
  } catch {
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'gdal-bin'], { env, stdio: 'inherit' });
  }
  bin = find();
  if (!bin) throw new Error('gdal-bin was installed but ogr2ogr is still not on PATH');
  return bin;
}

/** The seeded points: 60% around the city of Huai'an, the rest over the prefecture; Chinese names and kinds. */
function writePoints(file: string, n: number): void {
  const rnd = mulberry32(20250101);
  const kinds = ['医院', '学校', '公园', '加油站', '派出所'];
  const fd = fs.openSync(file, 'w');
  let buf = 'id,name,kind,value,lon,lat\n';
  for (let i = 1; i <= n; i++) {
    const near = rnd() < 0.6;
    const lon = near ? 119.02 + (rnd() - 0.5) * 0.2 : 118.2 + rnd() * 1.4;
    const lat = near ? 33.61 + (rnd() - 0.5) * 0.2 : 32.72 + rnd() * 1.37;
    buf += `${i},${kinds[i % kinds.length]}${i},${kinds[i % kinds.length]},${(rnd() * 1000).toFixed(2)},${lon.toFixed(6)},${lat.toFixed(6)}\n`;
    if (buf.length > 1 << 20) {
      fs.writeSync(fd, buf);
      buf = '';
    }
  }
  fs.writeSync(fd, buf);
  fs.closeSync(fd);
}

function pgConnectionString(url: string): string {
  const u = new URL(url);
  return `PG:host=${u.hostname} port=${u.port || 5432} user=${decodeURIComponent(u.username)} password=${decodeURIComponent(u.password)} dbname=${u.pathname.slice(1)}`;
}

async function main(): Promise<void> {
  const ogr2ogr = ensureOgr2ogr();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-bench-import-'));
  fs.chmodSync(tmp, 0o755);
  let cluster: EmbeddedCluster | null = null;
  try {
    let url = process.env.DATABASE_URL;
    if (!url) {
      cluster = await startEmbeddedCluster({ dataDir: path.join(tmp, 'pg'), settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
      url = cluster.url;
    }
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    await migrate(pool, createLogger('warn'));
    await pool.query('CREATE SCHEMA IF NOT EXISTS bench_ogr');
    const csv = path.join(tmp, 'points.csv');
    writePoints(csv, POINTS);
    console.log(`data: ${POINTS.toLocaleString('en')} CSV points (${(fs.statSync(csv).size / 2 ** 20).toFixed(0)} MB); ${path.basename(GEOJSON)} (${(fs.statSync(GEOJSON).size / 2 ** 20).toFixed(0)} MB)`);

    const ogrEnv = { ...process.env, PG_USE_COPY: 'YES' };
    const oursEnv = { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn' };
    const cases = [
      {
        name: `csv, ${POINTS.toLocaleString('en')} points`,
        ours: ['--import', 'tsx', 'import/cli.ts', csv, '--layer', 'bench_points', '--json'],
        ogr: ['-f', 'PostgreSQL', pgConnectionString(url), csv, '-nln', 'bench_ogr.points', '-overwrite', '-lco', 'GEOMETRY_NAME=geom', '-lco', 'SPATIAL_INDEX=GIST', '-a_srs', 'EPSG:4326',
          '-oo', 'X_POSSIBLE_NAMES=lon', '-oo', 'Y_POSSIBLE_NAMES=lat', '-oo', 'AUTODETECT_TYPE=YES'],
        table: ['imports.bench_points', 'bench_ogr.points'],
        rounds: 2,
      },
      {
        name: `geojson, ${path.basename(GEOJSON)}`,
        ours: ['--import', 'tsx', 'import/cli.ts', GEOJSON, '--layer', 'bench_places', '--json'],
        ogr: ['-f', 'PostgreSQL', pgConnectionString(url), GEOJSON, '-nln', 'bench_ogr.places', '-overwrite', '-lco', 'GEOMETRY_NAME=geom', '-lco', 'SPATIAL_INDEX=GIST'],
        table: ['imports.bench_places', 'bench_ogr.places'],
        // About a second each, so process start-up weighs in and the machine's noise more: five rounds.
        rounds: 5,
      },
    ];
    const lines: string[] = [];
    for (const c of cases) {
      const ours: Run[] = [];
      const ogr: Run[] = [];
      for (let round = 0; round < c.rounds; round++) {
        ogr.push(await measure(ogr2ogr, c.ogr, ogrEnv));
        ours.push(await measure(process.execPath, c.ours, oursEnv));
      }
      const counts = await Promise.all(c.table.map(async (t) => (await pool.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n as number));
      if (counts[0] !== counts[1]) throw new Error(`${c.name}: citybase imported ${counts[0]} rows, ogr2ogr ${counts[1]}`);
      const best = (runs: Run[]) => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      const [o, g] = [best(ours), best(ogr)];
      lines.push(
        `${c.name} (${counts[0]!.toLocaleString('en')} rows): citybase ${o.seconds.toFixed(2)} s, RSS ${o.rssMB.toFixed(0)} MB | ` +
          `ogr2ogr ${g.seconds.toFixed(2)} s, RSS ${g.rssMB.toFixed(0)} MB | ratio ${(o.seconds / g.seconds).toFixed(2)} (target <= 1.00)`,
      );
      console.log(lines.at(-1));
    }
    await pool.end();
    console.log(`\nimport benchmark (${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)} at the end):\n${lines.join('\n')}`);
  } finally {
    await cluster?.stop().catch(() => {});
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:import failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
