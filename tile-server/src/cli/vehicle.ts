import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { survivesSocketErrors } from '../db/pool.ts';
import { loadConfig } from '../config.ts';
import { startEmbeddedCluster } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger } from '../log.ts';
import { addVehicle, listVehicles, vehicleTypes, type VehicleType } from '../vehicles/fleet.ts';
import { importVehicleCsv } from '../vehicles/fleet-csv.ts';

const usage = `usage:
  npm run vehicle -- add --plate 苏H12345 --color 2 --phone 013912345678 --type muck_truck --department jtj [--company <name>] [--district 320812] [--group <车队>]
  npm run vehicle -- list [--department jtj]
  npm run vehicle -- import vehicles.csv [--department jtj]   (columns plate,color,phone[,type,department,company])
--type is one of ${vehicleTypes.join(', ')}; --color is the JT/T 415 plate colour (1 blue, 2 yellow, 5 green, …).`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

class UsageError extends Error {}

/** Vehicles and their JT/T 808 terminals from the command line. Exit 0 done, 1 refused, 2 bad usage. */
async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        plate: { type: 'string' },
        color: { type: 'string' },
        phone: { type: 'string' },
        type: { type: 'string' },
        department: { type: 'string' },
        company: { type: 'string' },
        district: { type: 'string' },
        group: { type: 'string' },
      },
    });
  } catch (err) {
    console.error(`vehicle: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  const { positionals, values } = parsed;
  const [command, arg] = positionals;
  if (!['add', 'list', 'import'].includes(command ?? '')) {
    console.error(usage);
    return 2;
  }
  if (command === 'add') {
    const missing = ['plate', 'color', 'phone', 'department'].filter((k) => !values[k as keyof typeof values]);
    if (missing.length) throw new UsageError(`missing ${missing.map((m) => `--${m}`).join(', ')}`);
    if (!/^\d{1,3}$/.test(values.color!)) throw new UsageError(`--color ${values.color} is not a JT/T 415 colour code`);
  }
  if (command === 'import' && !arg) throw new UsageError('give the CSV file to import');

  const config = loadConfig();
  const cluster = config.DATABASE_URL ? null : await startEmbeddedCluster({ dataDir: path.resolve(root, config.DATA_DIR, 'pg') });
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL ?? cluster!.url, max: 2 });
  survivesSocketErrors(pool); // a server restart mid-command fails the command, never crashes it
  try {
    await migrate(pool, createLogger('warn'));
    switch (command) {
      case 'add': {
        const v = await addVehicle(pool, {
          plate: values.plate!,
          color: Number(values.color),
          phone: values.phone!,
          type: (values.type ?? 'other') as VehicleType,
          department: values.department!,
          company: values.company ?? null,
          district: values.district ?? null,
          group: values.group ?? null,
        });
        console.log(`vehicle ${v.id} (colour ${v.plateColor}, ${v.type}, ${v.department}) with terminal ${v.phone}`);
        return 0;
      }
      case 'list': {
        const rows = await listVehicles(pool, values.department ? [values.department] : null);
        console.table(rows);
        return 0;
      }
      default: {
        const text = fs.readFileSync(arg!, 'utf8');
        const client = await pool.connect();
        try {
          const added = await importVehicleCsv(client, text, { department: values.department });
          console.log(`${added.length} vehicles imported from ${arg}`);
        } finally {
          client.release();
        }
        return 0;
      }
    }
  } finally {
    await pool.end();
    if (cluster && !cluster.reused) await cluster.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`vehicle: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof UsageError) console.error(usage);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
