import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Queryable } from '../db.ts';
import { ImportError } from '../errors.ts';
import type { FeatureSource, InputFile } from './source.ts';

/**
 * Which reader a file needs: by extension, else by its first bytes. A .zip (or .kmz) is unpacked safely into a
 * temporary directory first, and the dataset inside is chosen (--sublayer picks among several).
 */
export interface OpenOptions {
  encoding?: string | undefined;
  sublayer?: string | undefined;
  lon?: string | undefined;
  lat?: string | undefined;
  /** Most bytes a zip may unpack to. */
  maxUnzippedBytes: number;
}

export interface Opened {
  source: FeatureSource;
  close(): Promise<void>;
}

const READERS: Record<string, 'geojson' | 'csv' | 'shapefile' | 'geopackage' | 'kml' | 'gpx' | 'zip'> = {
  '.geojson': 'geojson',
  '.json': 'geojson',
  '.geojsonl': 'geojson',
  '.geojsons': 'geojson',
  '.ndjson': 'geojson',
  '.csv': 'csv',
  '.tsv': 'csv',
  '.txt': 'csv',
  '.shp': 'shapefile',
  '.gpkg': 'geopackage',
  '.kml': 'kml',
  '.gpx': 'gpx',
  '.zip': 'zip',
  '.kmz': 'zip',
};

export async function openSource(input: InputFile, opts: OpenOptions, sql: Queryable): Promise<Opened> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(input.path);
  } catch {
    throw new ImportError(`${input.name} does not exist`);
  }
  if (!stat.isFile()) throw new ImportError(`${input.name} is not a file`);
  if (stat.size === 0) throw new ImportError(`${input.name} is empty (0 bytes)`);
  const kind = READERS[path.extname(input.name).toLowerCase()] ?? (await sniff(input));
  if (kind === 'zip') return openZip(input, opts, sql);
  const source = await openKind(kind, input, opts, sql);
  return { source, close: () => source.close() };
}

/** Readers are loaded when needed: a CSV import does not carry SQLite, an XML parser and a zip reader in memory. */
async function openKind(kind: string, input: InputFile, opts: OpenOptions, sql: Queryable): Promise<FeatureSource> {
  switch (kind) {
    case 'geojson':
      return (await import('./geojson.ts')).openGeoJson(input, opts);
    case 'csv':
      return (await import('./csv.ts')).openCsv(input, opts);
    case 'shapefile':
      return (await import('./shapefile.ts')).openShapefile(input, opts, sql);
    case 'geopackage':
      return (await import('./geopackage.ts')).openGeoPackage(input, opts);
    case 'kml':
      return (await import('./kml.ts')).openKml(input, opts);
    case 'gpx':
      return (await import('./gpx.ts')).openGpx(input, opts);
    default:
      throw new ImportError(`${input.name}: unknown format`);
  }
}

async function sniff(input: InputFile): Promise<string> {
  const fh = await fs.promises.open(input.path, 'r');
  const head = Buffer.alloc(512);
  try {
    await fh.read(head, 0, 512, 0);
  } finally {
    await fh.close();
  }
  const text = head.toString('latin1').replace(/^\xEF\xBB\xBF/, '').trimStart();
  if (head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) return 'zip';
  if (text.startsWith('SQLite format 3')) return 'geopackage';
  if (/^[{\x1e]/.test(text)) return 'geojson';
  if (/<kml[\s>]/.test(text)) return 'kml';
  if (/<gpx[\s>]/.test(text)) return 'gpx';
  if (input.name.toLowerCase().endsWith('.dbf')) throw new ImportError(`${input.name} is only the attribute table of a shapefile; import the .shp (with its .shx and .dbf beside it) or a .zip of them`);
  throw new ImportError(
    `${input.name}: unknown format (supported: GeoJSON, CSV/TSV, shapefile or a .zip of one, GeoPackage, KML/KMZ, GPX)`,
  );
}

/** Datasets a zip may hold, in order of preference for a KMZ (doc.kml first) and otherwise. */
async function openZip(input: InputFile, opts: OpenOptions, sql: Queryable): Promise<Opened> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'citybase-unzip-'));
  const cleanup = () => fs.promises.rm(dir, { recursive: true, force: true });
  try {
    const { unzip } = await import('./zip.ts');
    const files = await unzip(input.path, input.name, dir, { maxBytes: opts.maxUnzippedBytes });
    const visible = files.filter((f) => !/(^|\/)(__MACOSX|\.)/.test(f));
    const datasets = visible.filter((f) => {
      const k = READERS[path.extname(f).toLowerCase()];
      return k !== undefined && k !== 'zip';
    });
    // A shapefile is its .shp; its sidecars are not datasets of their own.
    const shps = datasets.filter((f) => f.toLowerCase().endsWith('.shp'));
    const candidates = shps.length ? shps : datasets;
    let chosen: string | undefined;
    if (opts.sublayer && candidates.length > 1) {
      const want = opts.sublayer.toLowerCase();
      chosen = candidates.find((f) => [f.toLowerCase(), path.basename(f).toLowerCase(), path.basename(f, path.extname(f)).toLowerCase()].includes(want));
      if (!chosen) throw new ImportError(`${input.name} has no dataset "${opts.sublayer}"; it holds: ${candidates.join(', ')}`, 'bad_option');
    } else if (candidates.length === 1) chosen = candidates[0];
    else if (candidates.length > 1) {
      chosen = candidates.find((f) => f.toLowerCase() === 'doc.kml');
      if (!chosen) throw new ImportError(`${input.name} holds ${candidates.length} datasets: ${candidates.join(', ')}; choose one with --sublayer`, 'bad_option');
    }
    if (!chosen) throw new ImportError(`${input.name} holds no dataset this importer reads (it has: ${visible.slice(0, 20).join(', ') || 'nothing'})`);
    const inner: InputFile = { path: path.join(dir, chosen), name: `${input.name}/${chosen}` };
    const kind = READERS[path.extname(chosen).toLowerCase()]!;
    // The sublayer chose the dataset in the zip; it is not passed on to the reader unless it means something there.
    const innerOpts = candidates.length > 1 ? { ...opts, sublayer: undefined } : opts;
    const source = await openKind(kind, inner, innerOpts, sql);
    return {
      source,
      async close() {
        await source.close();
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
