import fs from 'node:fs';
import { detectEncoding, normaliseEncoding } from '../encoding.ts';
import { ImportError } from '../errors.ts';
import { epsg, type SourceSrs } from '../crs/srs.ts';
import type { Geometry } from '../geometry/types.ts';
import { JsonScanner, JsonStructureError, type ScanEvent } from './json-scanner.ts';
import type { FeatureRecord, FeatureSource, InputFile } from './source.ts';
import { byteCounter, readHead, readText } from './text-input.ts';

/**
 * GeoJSON of any size: a FeatureCollection (streamed feature by feature), a single Feature or geometry,
 * GeoJSON Text Sequences (RS-separated) or newline-delimited features; a UTF-8 BOM is skipped. RFC 7946 says
 * UTF-8; files that are not (GBK from older Chinese tools) are detected and read as such, with a warning.
 */
export async function openGeoJson(input: InputFile, opts: { encoding?: string | undefined }): Promise<FeatureSource> {
  const file = input.name;
  const head = await readHead(input.path, 1 << 20);
  if (head.length === 0) throw new ImportError(`${file} is empty (0 bytes)`);
  const warnings: string[] = [];
  let encoding: string;
  let how: string;
  if (opts.encoding) [encoding, how] = [normaliseEncoding(opts.encoding, '--encoding'), 'given'];
  else {
    const d = detectEncoding(head.subarray(head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0));
    [encoding, how] = [d.encoding, 'detected'];
    if (encoding !== 'utf-8') warnings.push(`GeoJSON should be UTF-8 (RFC 7946); this file was read as ${encoding.toUpperCase()}`);
  }
  const size = fs.statSync(input.path).size;
  const counter = byteCounter();
  let declared: SourceSrs | null = null;
  let crsAfterFeatures = false;
  let featuresSeen = false;

  return {
    format: 'geojson',
    encoding: `${encoding} (${how})`,
    fields: null,
    ordinates: 'auto',
    sublayer: null,
    warnings,
    totalBytes: size,
    srs: () => {
      if (crsAfterFeatures && declared && declared.srid !== 4326)
        throw new ImportError(
          `${file} declares its CRS (${declared.label}) after its features; pass --srs ${declared.label} to import it`,
          'unknown_crs',
        );
      return declared;
    },
    bytesRead: () => counter.bytes,
    async close() {},
    async *batches(): AsyncGenerator<FeatureRecord[]> {
      const scanner = new JsonScanner();
      const members: Record<string, unknown> = {};
      let row = 0;
      const text = readText(input.path, encoding, file, counter);
      const parse = (text: string, what: string): unknown => {
        try {
          return JSON.parse(text);
        } catch (err) {
          throw new ImportError(`${file}: invalid JSON in ${what}: ${(err as Error).message}`);
        }
      };
      // The first top-level object is read member by member (so a FeatureCollection streams); if it is a
      // Feature of a text sequence instead, it is put back together when the next value shows up.
      const single = (): FeatureRecord => {
        const type = members.type;
        if (type === 'Feature') return toRecord(++row, members);
        if (typeof type === 'string' && type !== 'FeatureCollection') return toRecord(++row, { type: 'Feature', geometry: members, properties: {} });
        throw new ImportError(`${file} is not GeoJSON: no "features" and no "type" of a Feature or geometry`);
      };
      let firstYielded = false;
      const handle = (e: ScanEvent): FeatureRecord[] => {
        if (e.kind === 'member') {
          members[e.key] = parse(e.text, `member "${e.key}"`);
          if (e.key === 'crs') {
            declared = crsOf(members.crs, file);
            crsAfterFeatures = featuresSeen;
          }
          return [];
        }
        featuresSeen = true;
        const out: FeatureRecord[] = [];
        if (e.kind === 'value' && !firstYielded) {
          if (members.type === 'FeatureCollection') throw new ImportError(`${file}: unexpected text after the FeatureCollection (character ${e.at + 1})`);
          out.push(single());
          firstYielded = true;
        }
        const n = ++row;
        out.push(toRecord(n, parse(e.text, `feature ${n} (character ${e.at + 1})`)));
        return out;
      };
      try {
        for await (const chunk of text as AsyncIterable<string>) {
          const batch = scanner.push(chunk).flatMap(handle);
          if (batch.length) yield batch;
        }
        scanner.end();
      } catch (err) {
        if (err instanceof JsonStructureError) throw new ImportError(`${file} is not valid GeoJSON: ${err.message}`);
        throw err;
      }
      // A FeatureCollection's features were streamed (or it had none); anything else was a single object.
      if (!firstYielded && row === 0 && members.type !== 'FeatureCollection') yield [single()];
    },
  };
}

function toRecord(row: number, f: unknown): FeatureRecord {
  if (f === null || typeof f !== 'object' || Array.isArray(f)) return { row, geometry: null, values: {}, problem: 'not a GeoJSON Feature object' };
  const feature = f as { type?: unknown; geometry?: unknown; properties?: unknown; id?: unknown };
  if (feature.type !== 'Feature') return { row, geometry: null, values: {}, problem: `not a Feature (type ${JSON.stringify(feature.type)})` };
  const props = feature.properties && typeof feature.properties === 'object' && !Array.isArray(feature.properties) ? { ...(feature.properties as Record<string, unknown>) } : {};
  if (feature.id !== undefined && !('id' in props)) props.id = feature.id;
  const g = feature.geometry;
  const bad = g !== null && g !== undefined && (typeof g !== 'object' || !('type' in (g as object)));
  return { row, geometry: bad ? null : ((g ?? null) as Geometry | null), values: props, problem: bad ? 'the geometry is not a GeoJSON geometry object' : undefined };
}

/** GeoJSON 2008 `crs` member: {"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4549"}}; CRS84 = WGS84. */
function crsOf(crs: unknown, file: string): SourceSrs | null {
  const c = crs as { type?: string; properties?: { name?: string; code?: number } } | null;
  if (!c) return null;
  const name = c.properties?.name ?? (c.properties?.code !== undefined ? `EPSG:${c.properties.code}` : '');
  if (/CRS84$|CRS:84$/i.test(name)) return epsg(4326, 'file', `${file} crs ${name}`);
  const m = /EPSG:{1,2}(?:[\d.]*:)?(\d+)$/i.exec(name);
  if (!m) throw new ImportError(`${file} declares a CRS this importer does not read (${JSON.stringify(crs)}); pass --srs EPSG:<code>`, 'unknown_crs');
  return epsg(Number(m[1]), 'file', `${file} crs ${name}`);
}
