import { parseArgs } from 'node:util';
import { checkEmbedLayers } from '../access/embed.ts';
import { KeyStore } from '../access/keys.ts';
import type { Config } from '../config.ts';
import type { QueryRunner } from '../db/query.ts';
import { contribRelations } from '../registry/catalog.ts';
import { loadDefinitions, loadStoredDefinitions } from '../registry/load.ts';
import { audit, systemActor } from '../auth/audit.ts';
import { UserStore } from '../auth/users.ts';
import { openCliDatabase, runCli } from './database.ts';

const usage = `usage:
  npm run key -- create --department <id> [--label <text>] [--rights layer:read,layer:import,…] [--scope <code>,…] [--expires <date>]
  npm run key -- list
  npm run key -- revoke <key id>
  npm run key -- embed create --department <id> --origin <https://host> [--origin …] --layers <id>,… [--label <text>] [--scope <code>,…] [--expires <date>] [--rate <requests a minute per address>]
  npm run key -- embed list [--department <id>]
  npm run key -- embed revoke <key id>`;

/** Who may see each layer, as the server's registry would say: layers/ files, stored definitions, contrib tables. */
async function layerAccess(config: Config, run: QueryRunner) {
  const out = new Map<string, { access: 'public' | 'internal' | 'restricted'; owner: string; allow: readonly string[] }>();
  for (const t of await contribRelations(run)) out.set(t.table, { access: config.CONTRIB_ACCESS, owner: config.CONTRIB_OWNER, allow: [] });
  for (const s of await loadStoredDefinitions(run)) if (s.def) out.set(s.id, s.def);
  for (const d of await loadDefinitions(config.LAYERS_DIR)) out.set(d.id, d);
  return out;
}

/** Embed keys: create (printed once, on the last line), list, revoke. */
async function embed(args: { command: string | undefined; arg: string | undefined; values: Record<string, string | string[] | undefined> }, db: { config: Config; run: QueryRunner }): Promise<number> {
  const { run, config } = db;
  const keys = new KeyStore(run);
  const one = (name: string) => args.values[name] as string | undefined;
  switch (args.command) {
    case 'create': {
      const department = one('department');
      if (!department) throw new Error('--department is required');
      const dept = await run.query(`SELECT 1 FROM citybase.departments WHERE id = $1`, [department]);
      if (!dept.length) throw new Error(`unknown department "${department}" (see citybase.departments)`);
      const origins = (args.values.origin as string[] | undefined) ?? [];
      if (!origins.length) throw new Error('--origin is required (repeat it for several sites)');
      const layersArg = one('layers');
      if (!layersArg) throw new Error('--layers is required (comma-separated layer ids)');
      const scopes = one('scope')?.split(',').map((r) => r.trim());
      if (scopes) await new UserStore(run).checkScopes(scopes).catch((err: Error) => Promise.reject(new Error(err.message)));
      const expiresAt = one('expires') ? new Date(one('expires')!) : null;
      if (expiresAt && (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now())) throw new Error('--expires: a future date or time (ISO 8601)');
      const rate = one('rate') === undefined ? undefined : Number(one('rate'));
      const fail = (err: Error) => Promise.reject(new Error(err.message));
      const layers = await Promise.resolve()
        .then(async () => checkEmbedLayers(department, layersArg.split(','), await layerAccess(config, run)))
        .catch(fail);
      const { id, key } = await keys.createEmbed(department, { label: one('label') ?? '', origins, layers, scopes, expiresAt, ratePerMinute: rate }).catch(fail);
      const [info] = (await keys.listEmbed(department)).filter((k) => k.id === id);
      await audit(run, systemActor('cli:key'), {
        action: 'embed_key.create',
        outcome: 'success',
        target: `key:${id}`,
        details: { department, origins: info!.origins, layers, scopes: scopes ?? ['320800'], expiresAt, ratePerMinute: info!.ratePerMinute },
      });
      console.log(`embed key ${id} for ${department}: ${layers.join(',')} on ${info!.origins.join(' ')}, ${info!.ratePerMinute} requests a minute per address.`);
      console.log('It is a public identifier bound to those origins (it goes into the iframe URL); it is shown only now:');
      console.log(key);
      return 0;
    }
    case 'list': {
      const rows = await keys.listEmbed(one('department') ?? null);
      console.table(rows.map((r) => ({ ...r, origins: r.origins.join(' '), layers: r.layers.join(','), scopes: r.scopes.join(',') })));
      return 0;
    }
    case 'revoke': {
      const id = Number(args.arg);
      if (!Number.isInteger(id)) throw new Error('give the embed key id to revoke');
      if (!(await keys.revokeEmbed(id, null))) throw new Error(`no open embed key ${id}`);
      await audit(run, systemActor('cli:key'), { action: 'embed_key.revoke', outcome: 'success', target: `key:${id}` });
      console.log(`embed key ${id} revoked`);
      return 0;
    }
    default:
      console.error(usage);
      return 2;
  }
}

/** API keys from the command line: create (printed once), list, revoke. */
async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      department: { type: 'string' },
      label: { type: 'string' },
      rights: { type: 'string' },
      scope: { type: 'string' },
      expires: { type: 'string' },
      origin: { type: 'string', multiple: true },
      layers: { type: 'string' },
      rate: { type: 'string' },
    },
  });
  const [command, arg] = positionals;
  if (command !== 'embed' && (values.origin || values.layers || values.rate)) {
    console.error(`--origin, --layers and --rate are for embed keys\n${usage}`);
    return 2;
  }
  const db = await openCliDatabase();
  const run = db.run;
  const keys = new KeyStore(run);
  try {
    switch (command) {
      case 'embed':
        return await embed({ command: positionals[1], arg: positionals[2], values }, db);
      case 'create': {
        if (!values.department) throw new Error('--department is required');
        const dept = await run.query(`SELECT 1 FROM citybase.departments WHERE id = $1`, [values.department]);
        if (!dept.length) throw new Error(`unknown department "${values.department}" (see citybase.departments)`);
        const rights = (values.rights ?? 'layer:read').split(',').map((r) => r.trim());
        const scopes = values.scope?.split(',').map((r) => r.trim());
        if (scopes) await new UserStore(run).checkScopes(scopes).catch((err: Error) => Promise.reject(new Error(err.message)));
        const expiresAt = values.expires ? new Date(values.expires) : null;
        if (expiresAt && (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now())) throw new Error('--expires: a future date or time (ISO 8601)');
        const { id, key } = await keys.create(values.department, values.label ?? '', rights, { scopes: scopes ?? ['320800'], expiresAt }).catch((err: Error) =>
          Promise.reject(new Error(err.message)),
        );
        await audit(run, systemActor('cli:key'), { action: 'key.create', outcome: 'success', target: `key:${id}`, details: { department: values.department, rights, scopes } });
        console.log(`key ${id} for ${values.department} (${rights.join(',')}); it is shown only now:\n${key}`);
        return 0;
      }
      case 'list': {
        const rows = await run.query(
          `SELECT id, department_id, label, rights, scopes, created_at, expires_at, revoked_at FROM citybase.api_keys WHERE kind = 'api' ORDER BY id`,
        );
        console.table(rows);
        return 0;
      }
      case 'revoke': {
        const id = Number(arg);
        if (!Number.isInteger(id)) throw new Error('give the key id to revoke');
        if (!(await keys.revoke(id, 'api'))) throw new Error(`no active key ${id}`);
        await audit(run, systemActor('cli:key'), { action: 'key.revoke', outcome: 'success', target: `key:${id}` });
        console.log(`key ${id} revoked`);
        return 0;
      }
      default:
        console.error(usage);
        return 2;
    }
  } finally {
    await db.close();
  }
}

runCli('key', main);
