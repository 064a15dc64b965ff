import { badRequest } from '../errors.ts';

/**
 * The coordinate reference systems features are offered in (OGC API - Features Part 2): WGS84 as CRS84
 * (longitude, latitude: the default) and EPSG:4326, CGCS2000 (EPSG:4490) and its 3° Gauss-Krüger zone of the
 * city (EPSG:4549, CM 120°E), which the bureaus' desktop GIS work in. Coordinates follow each CRS's axis order
 * as Part 2 requires: EPSG:4326 and 4490 are latitude, longitude; EPSG:4549 is northing (X), easting (Y).
 * Files (Shapefile, GeoPackage, CSV) are written easting/longitude first, as those formats expect.
 */
export interface OutputCrs {
  uri: string;
  srid: number;
  /** The CRS's first axis is north (latitude or northing): coordinates are flipped for GeoJSON and bboxes. */
  northFirst: boolean;
  /** Decimals worth writing: ~1 cm. */
  digits: number;
  label: string;
}

export const CRS84_URI = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
const epsg = (code: number) => `http://www.opengis.net/def/crs/EPSG/0/${code}`;

export const OUTPUT_CRS: readonly OutputCrs[] = [
  { uri: CRS84_URI, srid: 4326, northFirst: false, digits: 9, label: 'WGS84 (CRS84)' },
  { uri: epsg(4326), srid: 4326, northFirst: true, digits: 9, label: 'WGS84 (EPSG:4326)' },
  { uri: epsg(4490), srid: 4490, northFirst: true, digits: 9, label: 'CGCS2000 (EPSG:4490)' },
  { uri: epsg(4549), srid: 4549, northFirst: true, digits: 3, label: 'CGCS2000 / 3-degree Gauss-Kruger CM 120E (EPSG:4549)' },
];

export const DEFAULT_CRS = OUTPUT_CRS[0]!;

/** A `crs`/`bbox-crs` value: one of the URIs above, or the short `EPSG:4490` / `CRS84` forms. */
export function parseCrs(name: string, text: string | undefined): OutputCrs {
  if (text === undefined) return DEFAULT_CRS;
  const t = text.trim().replace(/^\[|\]$/g, '');
  const short = /^(?:EPSG:?)(\d+)$/i.exec(t);
  const uri = /^(OGC:)?CRS84$/i.test(t) ? CRS84_URI : short ? epsg(Number(short[1])) : t.replace(/^https:/, 'http:');
  const crs = OUTPUT_CRS.find((c) => c.uri === uri);
  if (!crs) throw badRequest('invalid_parameter', `${name}: "${text.slice(0, 80)}" is not offered; use one of ${OUTPUT_CRS.map((c) => c.uri).join(', ')}`);
  return crs;
}

/** The SQL of a WGS84 geometry in the CRS, in the axis order `northFirst` asks for. */
export function inCrs(wgs84: string, crs: OutputCrs, axisOrder: 'crs' | 'east-first'): string {
  const g = crs.srid === 4326 ? wgs84 : `ST_Transform(${wgs84}, ${crs.srid})`;
  return axisOrder === 'crs' && crs.northFirst ? `ST_FlipCoordinates(${g})` : g;
}
