import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { anonymous, canSee, type Principal } from '../../tile-server/src/access/access.ts';
import { validateDefinition, type LayerDefinition, type Theme } from '../../tile-server/src/registry/definition.ts';
import { ImportError } from '../errors.ts';
import type { ResolvedOptions } from '../options.ts';
import { IMPORT_SCHEMA } from './sql.ts';

/**
 * An imported layer is a registry layer: its definition lives in citybase.layer_definitions, validated with the
 * same schema as layers/*.json, written in the transaction that swaps the table, and read by the registry at
 * start and on every NOTIFY citybase_catalog. A re-import keeps what someone changed in the stored definition
 * (title, style, access…) unless the import says otherwise.
 */
export async function storedDefinition(client: pg.ClientBase, id: string): Promise<LayerDefinition | null> {
  const { rows } = await client.query<{ definition: unknown }>(`SELECT definition FROM citybase.layer_definitions WHERE id = $1`, [id]);
  if (!rows[0]) return null;
  const v = validateDefinition(`citybase.layer_definitions/${id}`, rows[0].definition);
  return v.ok ? v.def : null;
}

/**
 * Ids an import may not take: layers/ files, tables published from schema contrib, other departments' layers.
 * A layer the importing department may not see (restricted, not its own, not allowed to it) is refused with
 * the same words as a contrib table, naming neither its file nor its owner: a department learns only that the
 * id is taken, never what is behind it.
 */
export async function checkLayerId(client: pg.ClientBase, id: string, opts: ResolvedOptions, existing: LayerDefinition | null): Promise<void> {
  const taken = () => new ImportError(`layer id "${id}" is taken; choose another --layer`, 'conflict');
  const file = opts.layersDir ? path.join(opts.layersDir, `${id}.json`) : null;
  if (file && fs.existsSync(file)) {
    if (hiddenFrom(opts.owner, fileDefinition(file))) throw taken();
    throw new ImportError(`layer "${id}" is defined in ${path.basename(opts.layersDir!)}/${id}.json; choose another --layer`, 'conflict');
  }
  const { rows } = await client.query<{ taken: boolean }>(`SELECT to_regclass(format('%I.%I', 'contrib', $1::text)) IS NOT NULL AS taken`, [id]);
  if (rows[0]?.taken) throw taken();
  if (existing && hiddenFrom(opts.owner, existing)) throw taken();
  if (existing && existing.owner !== opts.owner)
    throw new ImportError(`layer "${id}" belongs to department ${existing.owner}; ${opts.owner} cannot replace or append to it`, 'forbidden');
  if (existing && (existing.source.type !== 'table' || existing.source.schema !== IMPORT_SCHEMA || existing.source.table !== id))
    throw new ImportError(`layer "${id}" is stored with a source other than ${IMPORT_SCHEMA}.${id}; choose another --layer`, 'conflict');
}

/** The access fields of a layers/ file; a file that is not a definition (never served) hides nothing. */
function fileDefinition(file: string): Pick<LayerDefinition, 'access' | 'owner' | 'allow'> {
  try {
    const d = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LayerDefinition>;
    return { access: d.access ?? 'public', owner: String(d.owner ?? ''), allow: Array.isArray(d.allow) ? d.allow : [] };
  } catch {
    return { access: 'public', owner: '', allow: [] };
  }
}

/** The platform's one layer check (canSee), for the department an import acts for. */
function hiddenFrom(department: string, def: Pick<LayerDefinition, 'access' | 'owner' | 'allow'>): boolean {
  const importer: Principal = { ...anonymous, kind: 'key', department, rights: ['layer:read'] };
  return !canSee(importer, { access: def.access, owner: def.owner, allow: def.allow ?? [] });
}

export function composeDefinition(
  id: string,
  existing: LayerDefinition | null,
  opts: ResolvedOptions,
  info: { geometryType: string; fileName: string; columns: Set<string>; titleSuffix?: string | undefined },
): LayerDefinition {
  const title = opts.title ? `${opts.title}${info.titleSuffix ?? ''}` : undefined;
  const areal = !/POINT/i.test(info.geometryType);
  const raw = {
    ...(existing ?? {}),
    id,
    title: title ? { zh: title, en: title } : (existing?.title ?? { zh: id, en: id }),
    description: existing?.description ?? { zh: `从 ${info.fileName} 导入`, en: `Imported from ${info.fileName}` },
    theme: (opts.theme ?? existing?.theme ?? 'contrib') as Theme,
    owner: opts.owner,
    access: opts.access ?? existing?.access ?? 'internal',
    allow: existing?.allow ?? [],
    source: { type: 'table' as const, schema: IMPORT_SCHEMA, table: id },
    geometryColumn: 'geom',
    srid: 4326,
    idColumn: 'fid',
    // Empty: every column is exposed (names may be Chinese, which property keys may not be). Labels someone
    // added are kept for the columns that still exist.
    properties: Object.fromEntries(Object.entries(existing?.properties ?? {}).filter(([k]) => info.columns.has(k))),
    simplify: existing?.simplify ?? (areal ? [{ maxzoom: 14, tolerancePx: 0.5 }] : []),
  };
  const v = validateDefinition(`layer ${id}`, raw);
  if (!v.ok) throw new ImportError(`the layer definition for "${id}" is not valid: ${v.errors.join('; ')}`, 'bad_option');
  return v.def;
}

export async function saveDefinition(client: pg.ClientBase, def: LayerDefinition): Promise<void> {
  await client.query(
    `INSERT INTO citybase.layer_definitions (id, definition, updated_at) VALUES ($1, $2, clock_timestamp())
     ON CONFLICT (id) DO UPDATE SET definition = EXCLUDED.definition, updated_at = EXCLUDED.updated_at`,
    [def.id, JSON.stringify(def)],
  );
}
