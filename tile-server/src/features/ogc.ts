import type { LonLatBox } from '../tiles/coords.ts';
import type { ValueType } from './cql2/compile.ts';
import { OUTPUT_CRS } from './crs.ts';
import type { FeatureTable } from './table.ts';

/** The documents of OGC API - Features (and Tiles) that describe the service: landing page, conformance, collections. */

export const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
export const GEOJSON = 'application/geo+json';

/** Conformance classes implemented, each honoured and tested (test/features.test.ts, test/ogc-tiles.test.ts). */
export const CONFORMANCE = [
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
  // Part 2: crs= and bbox-crs= on items (features/crs.ts), checked in test/downloads.test.ts.
  'http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs',
  'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables',
  'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter',
  'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter',
  'http://www.opengis.net/spec/cql2/1.0/conf/cql2-text',
  'http://www.opengis.net/spec/cql2/1.0/conf/cql2-json',
  'http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2',
  'http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators',
  'http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions',
  'http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus',
  'http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions',
  'http://www.opengis.net/spec/cql2/1.0/conf/property-property',
  // OGC API - Tiles (routes/ogc-tiles.ts), checked in test/ogc-tiles.test.ts.
  'http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset',
  'http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list',
  'http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets',
  'http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt',
  'http://www.opengis.net/spec/tms/2.0/conf/tilematrixset',
  'http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset',
];

export interface Link {
  href: string;
  rel: string;
  type?: string;
  title?: string;
}

/** Builds absolute links: base URL + path, carrying the caller's ?key= so a followed link is still authorised. */
export type Href = (path: string, query?: URLSearchParams) => string;

export function landingPage(href: Href): object {
  return {
    title: 'CityBase 淮安市 GIS 公共平台',
    description: 'OGC API - Features of the layers of CityBase, the shared GIS platform of Huai’an (320800)',
    links: [
      { href: href('/ogc'), rel: 'self', type: 'application/json', title: 'this document' },
      { href: href('/conformance'), rel: 'conformance', type: 'application/json', title: 'conformance classes' },
      { href: href('/collections'), rel: 'data', type: 'application/json', title: 'collections' },
      { href: href('/tileMatrixSets'), rel: 'http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes', type: 'application/json', title: 'tile matrix sets' },
      { href: href('/layers'), rel: 'describedby', type: 'application/json', title: 'layer catalog (tiles, styles, legends)' },
    ],
  };
}

export function collectionDocument(t: FeatureTable, bounds: LonLatBox | null, href: Href): object {
  const m = t.meta;
  const path = `/collections/${t.id}`;
  return {
    id: t.id,
    title: m.title.zh,
    description: m.description?.zh ?? m.title.en,
    titles: m.title,
    itemType: 'feature',
    geometryType: m.geometryType,
    ...(bounds ? { extent: { spatial: { bbox: [bounds.map((v) => Math.round(v * 1e6) / 1e6)], crs: CRS84 } } } : {}),
    crs: OUTPUT_CRS.map((c) => c.uri),
    storageCrs: `http://www.opengis.net/def/crs/EPSG/0/${t.info.srid}`,
    timeColumn: t.info.timeColumn ?? undefined,
    links: [
      { href: href(path), rel: 'self', type: 'application/json', title: 'this collection' },
      { href: href(`${path}/items`), rel: 'items', type: GEOJSON, title: 'features' },
      { href: href(`${path}/queryables`), rel: 'http://www.opengis.net/def/rel/ogc/1.0/queryables', type: 'application/schema+json', title: 'queryables' },
      { href: href(`${path}/tiles`), rel: 'http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector', type: 'application/json', title: 'vector tilesets' },
      { href: href(`/tiles/${t.id}.json`), rel: 'describedby', type: 'application/json', title: 'TileJSON (vector tiles)' },
    ],
  };
}

const SCHEMA: Record<ValueType, object> = {
  integer: { type: 'integer' },
  number: { type: 'number' },
  string: { type: 'string' },
  boolean: { type: 'boolean' },
  date: { type: 'string', format: 'date' },
  timestamp: { type: 'string', format: 'date-time' },
};

/** Part 3 queryables as JSON Schema: what a filter may name, with its type, plus the geometry. */
export function queryablesDocument(t: FeatureTable, href: Href): object {
  const properties: Record<string, object> = {
    geometry: { title: 'geometry', format: geometryFormat(t.meta.geometryType), 'x-ogc-role': 'primary-geometry' },
  };
  for (const q of t.listQueryables()) properties[q.name] = { title: q.title, ...SCHEMA[q.type] };
  return {
    $schema: 'https://json-schema.org/draft/2019-09/schema',
    $id: href(`/collections/${t.id}/queryables`),
    type: 'object',
    title: t.meta.title.zh,
    properties,
    additionalProperties: false,
  };
}

function geometryFormat(type: string): string {
  const m = /^(MULTI)?(POINT|LINESTRING|POLYGON)$/.exec(type);
  if (!m) return 'geometry-any';
  const base = { POINT: 'point', LINESTRING: 'linestring', POLYGON: 'polygon' }[m[2] as 'POINT'];
  return `geometry-${m[1] ? 'multi' : ''}${base}`;
}
