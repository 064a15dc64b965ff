import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { survivesSocketErrors } from '../tile-server/src/db/pool.ts';
import { loadConfig } from '../tile-server/src/config.ts';
import { migrate } from '../tile-server/src/db/migrate.ts';
import type { Logger } from '../tile-server/src/log.ts';
import { ImportError } from './errors.ts';
import { importFile, importVehicleFile, type ImportOptions, type ImportProgress } from './index.ts';
import { ProgressBar } from './progress.ts';

const usage = `usage: npm run import -- <file> --layer <id> [options]
       npm run import -- <file> --vehicle <id> [options]

  --layer <id>             layer to create, replace or append to (lower-case letters, digits, _)
  --title <text>           layer title            --theme <theme>   urban, planning, environment, …
  --mode replace|append    default replace        --owner <dept>    owning department (default dsj)
  --srs EPSG:<n>|gcj02|bd09  coordinates of the file (overrides .prj and the like)
  --encoding <name>        gbk, utf-8, big5, … (overrides .cpg and detection)
  --sublayer <name>        GeoPackage table, GPX part, KML folder, dataset in a zip
  --lon <col> --lat <col>  CSV coordinate columns (names or 1-based numbers)
  --geometry mixed|split   a file mixing points, lines and polygons: one layer per kind (split, the default) or one layer
  --max-rejected <n>       fail when more rows than this are rejected
  --vehicle <id>           load a GPS log (GPX, CSV, GeoLife .plt) into the vehicle store
  --timezone <zone>        zone of times written without one (default IMPORT_TIMEZONE, Asia/Shanghai)
  --max-speed <km/h>       jump filter (default IMPORT_MAX_SPEED_KMH, 180)
  --stop-radius <m> --stop-duration <s>   stay-point detection (default 200 m, 180 s)
  --report <file>          where rejected rows go (default ./<layer>.rejected.csv)
  --json                   print the summary as JSON on the last line of stdout`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `npm run import`: one file into one layer (or vehicle), with a progress bar on a terminal. Exit 0 on success. */
async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        layer: { type: 'string' },
        title: { type: 'string' },
        theme: { type: 'string' },
        mode: { type: 'string' },
        srs: { type: 'string' },
        encoding: { type: 'string' },
        sublayer: { type: 'string' },
        lon: { type: 'string' },
        lat: { type: 'string' },
        geometry: { type: 'string' },
        owner: { type: 'string' },
        'max-rejected': { type: 'string' },
        vehicle: { type: 'string' },
        timezone: { type: 'string' },
        'max-speed': { type: 'string' },
        'stop-radius': { type: 'string' },
        'stop-duration': { type: 'string' },
        report: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    console.error(`import: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  const { positionals, values: v } = parsed;
  if (v.help) {
    console.log(usage);
    return 0;
  }
  if (positionals.length !== 1 || (!v.layer && !v.vehicle) || (v.layer && v.vehicle)) {
    console.error(`import: give one file and either --layer or --vehicle\n${usage}`);
    return 2;
  }
  const config = loadConfig();
  const number = (s: string | undefined, name: string) => {
    if (s === undefined) return undefined;
    if (!/^\d+(\.\d+)?$/.test(s)) throw new ImportError(`--${name} must be a number`, 'bad_option');
    return Number(s);
  };
  const options: ImportOptions = {
    file: path.resolve(positionals[0]!),
    layer: v.layer,
    title: v.title,
    theme: v.theme as ImportOptions['theme'],
    mode: v.mode as ImportOptions['mode'],
    srs: v.srs,
    encoding: v.encoding,
    sublayer: v.sublayer,
    lon: v.lon,
    lat: v.lat,
    geometry: v.geometry as ImportOptions['geometry'],
    owner: v.owner,
    maxRejected: number(v['max-rejected'], 'max-rejected'),
    vehicle: v.vehicle,
    timezone: v.timezone ?? config.IMPORT_TIMEZONE,
    maxSpeedKmh: number(v['max-speed'], 'max-speed') ?? config.IMPORT_MAX_SPEED_KMH,
    stopRadiusM: number(v['stop-radius'], 'stop-radius'),
    stopMinSeconds: number(v['stop-duration'], 'stop-duration'),
    layersDir: path.resolve(root, config.LAYERS_DIR),
  };

  // The embedded cluster's code is loaded only when there is no DATABASE_URL: start-up time counts for small files.
  const url = config.DATABASE_URL ?? (await (await import('../tile-server/src/db/embedded.ts')).startEmbeddedCluster({ dataDir: path.resolve(root, config.DATA_DIR, 'pg') })).url;
  const pool = new pg.Pool({ connectionString: url, max: 3, application_name: 'citybase-import' });
  survivesSocketErrors(pool); // a server restart mid-command fails the command, never crashes it
  const bar = process.stderr.isTTY ? new ProgressBar(process.stderr) : null;
  const onProgress = (p: ImportProgress) => bar?.update(p);
  try {
    await migrate(pool, quietLog);
    const summary = options.vehicle ? await importVehicleFile({ ...options, pool, onProgress }) : await importFile({ ...options, pool, onProgress });
    bar?.done();
    const { rejected_rows: rows, ...rest } = summary;
    let report: string | null = null;
    if (rows.length) {
      report = path.resolve(v.report ?? `${v.layer ?? `vehicle-${v.vehicle}`}.rejected.csv`);
      fs.writeFileSync(report, `row,reason\n${rows.map((r) => `${r.row},"${r.reason.replace(/"/g, '""')}"`).join('\n')}\n`);
    }
    if (v.json) console.log(JSON.stringify({ ...rest, report }));
    else printSummary(rest, report);
    return 0;
  } finally {
    bar?.done();
    await pool.end();
  }
}

/** migrate() reports applied migrations through a pino logger; the CLI says nothing about them (and skips loading pino). */
const quietLog = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as unknown as Logger;

function printSummary(s: Record<string, unknown>, report: string | null): void {
  const n = (v: unknown) => Number(v ?? 0).toLocaleString('en');
  const lines = [
    `${s.vehicle ? `vehicle ${String(s.vehicle)}` : `layer ${String(s.layer)} (${String(s.table)})`}: ${n(s.imported)} imported, ${n(s.rejected)} rejected${s.repaired ? `, ${n(s.repaired)} repaired` : ''} of ${n(s.read)} read in ${s.seconds} s`,
    `  source: ${s.format}${s.sublayer ? ` / ${s.sublayer}` : ''}, ${s.source_srs}${s.encoding ? `, encoding ${s.encoding}` : ''}`,
  ];
  if (s.geometry_type) lines.push(`  geometry: ${s.geometry_type}, bbox ${JSON.stringify(s.bbox)}`);
  if (s.vehicle) lines.push(`  cleaning: ${s.invalid} invalid, ${s.duplicates} duplicates, ${s.jumps} jumps; ${s.stops} stops, ${s.trips} trips`);
  // Per track, what was dropped and why (the first few rows of each).
  for (const t of (s.tracks as Array<{ track: string; fixes: number; kept: number; dropped: string[] }>) ?? [])
    if (t.kept < t.fixes) lines.push(`  track ${t.track}: ${t.kept} of ${t.fixes} fixes kept; ${t.dropped.slice(0, 3).join('; ')}${t.dropped.length > 3 ? '; …' : ''}`);
  for (const w of (s.warnings as string[]) ?? []) lines.push(`  warning: ${w}`);
  if (report) lines.push(`  rejected rows: ${report}`);
  console.log(lines.join('\n'));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ImportError) {
      console.error(`import failed: ${err.message}`);
      process.exit(err.code === 'bad_option' ? 2 : 1);
    }
    console.error(`import failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
