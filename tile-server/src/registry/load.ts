import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
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
