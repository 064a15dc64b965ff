import fs from 'node:fs';
import { epsg } from '../crs/srs.ts';
import { ImportError } from '../errors.ts';
import type { Geometry, Position } from '../geometry/types.ts';
import type { FeatureRecord, FeatureSource, InputFile } from './source.ts';
import { childElements, childText, readXml } from './xml.ts';

/**
 * GPX 1.0/1.1 from handheld units and apps. Like GDAL's GPX driver it has five sublayers: waypoints, routes,
 * tracks (one MultiLineString per <trk>), route_points and track_points (one point per fix, with its time,
 * elevation, speed and course). Without --sublayer, waypoints, routes and tracks are imported together (a
 * mixed layer). Elevations become Z. GPX is WGS84 by definition.
 */
export const GPX_SUBLAYERS = ['waypoints', 'routes', 'tracks', 'route_points', 'track_points'] as const;

export interface GpxPoint {
  lon: number;
  lat: number;
  ele?: number | undefined;
  time?: string | undefined;
  /** m/s as GPX 1.0 <speed> and the Garmin extension write it. */
  speed?: number | undefined;
  course?: number | undefined;
}

export function openGpx(input: InputFile, opts: { encoding?: string | undefined; sublayer?: string | undefined }): FeatureSource {
  const { doc, encoding, how } = readXml(input.path, input.name, opts.encoding);
  const root = doc.documentElement;
  if (!root || (root.localName ?? root.nodeName) !== 'gpx') throw new ImportError(`${input.name} is not GPX (its root element is <${root?.nodeName ?? 'none'}>)`);
  const sub = opts.sublayer?.toLowerCase();
  if (sub && !(GPX_SUBLAYERS as readonly string[]).includes(sub))
    throw new ImportError(`GPX sublayers are ${GPX_SUBLAYERS.join(', ')}; "${opts.sublayer}" is not one of them`, 'bad_option');
  const wanted = sub ? [sub] : ['waypoints', 'routes', 'tracks'];
  const features: Array<{ geometry: Geometry | null; properties: Record<string, unknown> }> = [];
  const describe = (el: Element, extra: Record<string, unknown> = {}) => {
    const props: Record<string, unknown> = { ...extra };
    for (const k of ['name', 'cmt', 'desc', 'src', 'type', 'sym', 'number']) {
      const v = childText(el, k);
      if (v !== undefined) props[k] = k === 'number' ? Number(v) : v;
    }
    return props;
  };
  const line = (pts: GpxPoint[]): Position[] => pts.map(position);
  if (wanted.includes('waypoints'))
    for (const w of childElements(root, 'wpt')) {
      const p = gpxPoint(w);
      features.push({ geometry: p ? { type: 'Point', coordinates: position(p) } : null, properties: describe(w, { kind: 'waypoint', ...pointProps(p) }) });
    }
  for (const r of childElements(root, 'rte')) {
    const pts = childElements(r, 'rtept').map(gpxPoint);
    if (wanted.includes('routes'))
      features.push({ geometry: pts.every(Boolean) && pts.length ? { type: 'LineString', coordinates: line(pts as GpxPoint[]) } : null, properties: describe(r, { kind: 'route' }) });
    if (wanted.includes('route_points'))
      pts.forEach((p, i) => features.push({ geometry: p ? { type: 'Point', coordinates: position(p) } : null, properties: { route: childText(r, 'name'), point: i + 1, ...pointProps(p) } }));
  }
  const warnings: string[] = [];
  childElements(root, 'trk').forEach((t, ti) => {
    const segments = childElements(t, 'trkseg').map((s) => childElements(s, 'trkpt').map(gpxPoint));
    if (wanted.includes('tracks')) {
      const all = segments.flat();
      const located = segments.map((s) => s.filter((p): p is GpxPoint => p !== null));
      // A segment of a single fix is no line: drop that segment, not the track (and say so).
      const usable = located.filter((s) => s.length >= 2);
      const single = located.map((s, i) => (s.length === 1 ? i + 1 : 0)).filter(Boolean);
      if (single.length && usable.length)
        warnings.push(
          `track ${childText(t, 'name') ? `"${childText(t, 'name')}"` : ti + 1}: segment${single.length > 1 ? 's' : ''} ${single.join(', ')} held a single point and ${single.length > 1 ? 'were' : 'was'} dropped; the track keeps ${usable.reduce((n, s) => n + s.length, 0)} points in ${usable.length} segment${usable.length > 1 ? 's' : ''}`,
        );
      features.push({
        geometry: usable.length ? { type: 'MultiLineString', coordinates: usable.map(line) } : null,
        properties: describe(t, { kind: 'track', points: all.length, start_time: all.find((p) => p?.time)?.time, end_time: [...all].reverse().find((p) => p?.time)?.time }),
      });
    }
    if (wanted.includes('track_points'))
      segments.forEach((s, si) =>
        s.forEach((p, i) =>
          features.push({ geometry: p ? { type: 'Point', coordinates: position(p) } : null, properties: { track: childText(t, 'name') ?? `track ${ti + 1}`, segment: si + 1, point: i + 1, ...pointProps(p) } }),
        ),
      );
  });
  let read = 0;
  const size = fs.statSync(input.path).size;
  return {
    format: 'gpx',
    encoding: `${encoding} (${how})`,
    fields: null,
    ordinates: 'auto',
    sublayer: sub ?? null,
    warnings,
    totalBytes: size,
    srs: () => epsg(4326, 'file', 'GPX is WGS84'),
    bytesRead: () => (features.length ? Math.round((size * read) / features.length) : size),
    async close() {},
    async *batches(): AsyncGenerator<FeatureRecord[]> {
      read = 0;
      for (let i = 0; i < features.length; i += 1000) {
        yield features.slice(i, i + 1000).map((f) => {
          const row = ++read;
          return { row, geometry: f.geometry, values: f.properties, problem: f.geometry ? undefined : 'no usable coordinates (lat/lon missing or not numbers)' };
        });
      }
    },
  };
}

/** One <wpt>/<rtept>/<trkpt>; null when lat/lon are missing or not numbers. */
export function gpxPoint(el: Element): GpxPoint | null {
  const lat = Number(el.getAttribute('lat'));
  const lon = Number(el.getAttribute('lon'));
  if (!el.getAttribute('lat') || !el.getAttribute('lon') || !Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  const num = (s: string | undefined) => (s === undefined || s === '' || !Number.isFinite(Number(s)) ? undefined : Number(s));
  const ext = (local: string) => {
    const hits = el.getElementsByTagNameNS('*', local);
    return hits.length ? (hits[0]!.textContent ?? '').trim() : undefined;
  };
  return {
    lat,
    lon,
    ele: num(childText(el, 'ele')),
    time: childText(el, 'time') || undefined,
    speed: num(childText(el, 'speed') ?? ext('speed')),
    course: num(childText(el, 'course') ?? ext('course')),
  };
}

function position(p: GpxPoint): Position {
  return p.ele === undefined ? [p.lon, p.lat] : [p.lon, p.lat, p.ele];
}

function pointProps(p: GpxPoint | null): Record<string, unknown> {
  if (!p) return {};
  return { time: p.time, ele: p.ele, speed: p.speed, course: p.course };
}
