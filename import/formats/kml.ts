import fs from 'node:fs';
import { kmlWithFolders, type Folder, type Root } from '@tmcw/togeojson';
import { epsg } from '../crs/srs.ts';
import { ImportError } from '../errors.ts';
import type { Geometry } from '../geometry/types.ts';
import type { FeatureRecord, FeatureSource, InputFile } from './source.ts';
import { readXml } from './xml.ts';

/**
 * KML (and the .kml inside a KMZ) from Google Earth and Chinese map tools, through @tmcw/togeojson: placemarks
 * with their ExtendedData, names, descriptions and time spans; the folder a placemark sits in becomes the
 * `folder` attribute ("A/B" when nested), and --sublayer keeps only one folder. Styles are display, not data,
 * and are left out. Texts are trimmed (CDATA indentation); a gx:Track is a LineString and a gx:MultiTrack a
 * MultiLineString (cleanGeometry makes one of togeojson's collection of lines) with `times`, the time of each vertex. KML is WGS84 by definition (OGC 07-147r2).
 */
const STYLE_KEYS = /^(style(Url|Hash|MapHash)|stroke|stroke-opacity|stroke-width|fill|fill-opacity|icon|icon-.*|label-.*|visibility)$/;

export function openKml(input: InputFile, opts: { encoding?: string | undefined; sublayer?: string | undefined }): FeatureSource {
  const { doc, encoding, how } = readXml(input.path, input.name, opts.encoding);
  const root = doc.documentElement;
  if (!root || (root.localName ?? root.nodeName) !== 'kml') throw new ImportError(`${input.name} is not KML (its root element is <${root?.nodeName ?? 'none'}>)`);
  const tree = kmlWithFolders(doc as never) as Root;
  const features: Array<{ geometry: Geometry | null; properties: Record<string, unknown>; folder: string }> = [];
  const folders = new Set<string>();
  const walk = (children: Root['children'], folder: string) => {
    for (const c of children) {
      if (c.type === 'folder') {
        const name = String((c as Folder).meta?.name ?? 'folder');
        const path = folder ? `${folder}/${name}` : name;
        folders.add(path);
        walk((c as Folder).children, path);
      } else features.push({ geometry: (c.geometry ?? null) as Geometry | null, properties: { ...cleanProperties(c.properties ?? {}, c.id), ...(folder ? { folder } : {}) }, folder });
    }
  };
  walk(tree.children, '');
  let chosen = features;
  if (opts.sublayer) {
    const want = opts.sublayer.toLowerCase();
    chosen = features.filter((f) => f.folder.toLowerCase() === want || f.folder.toLowerCase().split('/').includes(want) || f.folder.toLowerCase().startsWith(`${want}/`));
    if (chosen.length === 0) throw new ImportError(`${input.name} has no folder "${opts.sublayer}"; its folders: ${[...folders].join(', ') || '(none)'}`, 'bad_option');
  }
  let read = 0;
  const size = fs.statSync(input.path).size;
  return {
    format: 'kml',
    encoding: `${encoding} (${how})`,
    fields: null,
    ordinates: 'auto',
    sublayer: opts.sublayer ?? null,
    warnings: [],
    totalBytes: size,
    srs: () => epsg(4326, 'file', 'KML is WGS84'),
    bytesRead: () => (chosen.length ? Math.round((size * read) / chosen.length) : size),
    async close() {},
    async *batches(): AsyncGenerator<FeatureRecord[]> {
      read = 0;
      for (let i = 0; i < chosen.length; i += 1000) {
        yield chosen.slice(i, i + 1000).map((f) => {
          const row = ++read;
          return { row, geometry: f.geometry, values: f.properties, problem: f.geometry ? undefined : 'the placemark has no coordinates' };
        });
      }
    },
  };
}

function cleanProperties(props: Record<string, unknown>, id: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (id !== undefined && id !== null) out.id = id;
  for (const [k, v] of Object.entries(props)) {
    if (STYLE_KEYS.test(k)) continue;
    if (k === 'coordinateProperties' && v && typeof v === 'object') {
      // gx:Track / gx:MultiTrack: the time of each vertex (per part for a MultiTrack), beside the line's geometry.
      for (const [name, values] of Object.entries(v as Record<string, unknown>)) out[name] = values;
    } else if (k === 'timespan' && v && typeof v === 'object') {
      const span = v as { begin?: string; end?: string };
      if (span.begin) out.begin = span.begin;
      if (span.end) out.end = span.end;
    } else if (k === 'description' && v && typeof v === 'object' && 'value' in (v as object)) out[k] = String((v as { value: unknown }).value).trim();
    // Names and texts often sit in indented CDATA: the newlines and indentation around them are layout, not data.
    else out[k] = typeof v === 'string' ? v.trim() : v;
  }
  return out;
}
