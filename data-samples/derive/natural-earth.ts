import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Cut the Natural Earth water near Huai'an out of the shared 10m files: the two lakes the city touches and the
 * Huai River (named "Hudi" in Natural Earth), whole features, coordinates untouched. Chinese names are added
 * here because Natural Earth has none for these features.
 */
const lakes: Record<string, string> = { 'Hongze Hu': '洪泽湖', 'Gaoyou Hu': '高邮湖' };
const rivers: Record<string, string> = { Hudi: '淮河' };

interface Feature {
  type: 'Feature';
  properties: Record<string, unknown>;
  geometry: unknown;
}

async function pick(file: string, names: Record<string, string>): Promise<Feature[]> {
  const all = JSON.parse(await readFile(file, 'utf8')) as { features: Feature[] };
  return all.features
    .filter((f) => typeof f.properties.name === 'string' && f.properties.name in names)
    .map((f) => ({
      type: 'Feature',
      properties: {
        name: f.properties.name,
        name_zh: names[f.properties.name as string],
        featurecla: f.properties.featurecla,
        scalerank: f.properties.scalerank,
      },
      geometry: f.geometry,
    }));
}

/** Write data-samples/ne_lakes_huaian.geojson and ne_rivers_huaian.geojson from ../shared/data/natural-earth. */
export async function deriveNaturalEarth(sharedData: string, outDir: string): Promise<string[]> {
  const ne = path.join(sharedData, 'natural-earth');
  const out: string[] = [];
  for (const [file, source, names] of [
    ['ne_lakes_huaian.geojson', 'ne_10m_lakes.json', lakes],
    ['ne_rivers_huaian.geojson', 'ne_10m_rivers_lake_centerlines.json', rivers],
  ] as const) {
    const features = await pick(path.join(ne, source), names);
    if (features.length === 0) throw new Error(`${source}: none of ${Object.keys(names).join(', ')} found`);
    await writeFile(path.join(outDir, file), `${JSON.stringify({ type: 'FeatureCollection', features })}\n`);
    out.push(file);
  }
  return out;
}
