import fs from 'node:fs';
import path from 'node:path';

/** The sibling file with the same base name and this extension (.shx, .dbf, .prj, .cpg), in any letter case. */
export function findSidecar(file: string, ext: string): string | null {
  const dir = path.dirname(file);
  const stem = path.basename(file).replace(/\.[^.]+$/, '').toLowerCase();
  const hit = fs.readdirSync(dir).find((f) => f.toLowerCase() === stem + ext);
  return hit ? path.join(dir, hit) : null;
}
