import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { QueryRunner } from '../db/query.ts';
import { validateDefinition, type LayerDefinition } from './definition.ts';

export class RegistryError extends Error {}

/**
 * Read and validate every layers/*.json. All problems across all files are collected and reported together,
 * so a broken definition is fixed in one round, not one error at a time.
 */
export async function loadDefinitions(dir: string): Promise<LayerDefinition[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const errors: string[] = [];
  const defs: LayerDefinition[] = [];
  for (const file of files) {
    const rel = path.join(path.basename(dir), file);
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path.join(dir, file), 'utf8'));
    } catch (err) {
      errors.push(`${rel}: not valid JSON: ${(err as Error).message}`);
      continue;
    }
    const result = validateDefinition(rel, raw);
    if (!result.ok) errors.push(...result.errors);
    else if (result.def.id !== path.basename(file, '.json')) errors.push(`${rel}: id: must equal the file name`);
    else defs.push(result.def);
  }
  if (errors.length) throw new RegistryError(`invalid layer definitions:\n  ${errors.join('\n  ')}`);
  return defs;
}

/** A definition stored in the database (citybase.layer_definitions, written by the importer in its transaction). */
export interface StoredDefinition {
  id: string;
  /** Changes with the definition and with every import (updated_at), so a swapped table is resolved again. */
  fingerprint: string;
  def: LayerDefinition | null;
  errors: string[];
}

const STORED_SQL = `SELECT id, definition, md5(definition::text || updated_at::text) AS fingerprint FROM citybase.layer_definitions ORDER BY id`;

/** Every stored definition, validated with the same schema as layers/*.json; invalid ones come back with their errors. */
export async function loadStoredDefinitions(run: QueryRunner): Promise<StoredDefinition[]> {
  const rows = await run.query<{ id: string; definition: unknown; fingerprint: string }>(STORED_SQL);
  return rows.map((r) => {
    const result = validateDefinition(`citybase.layer_definitions/${r.id}`, r.definition);
    return result.ok
      ? { id: r.id, fingerprint: r.fingerprint, def: result.def, errors: [] }
      : { id: r.id, fingerprint: r.fingerprint, def: null, errors: result.errors };
  });
}
