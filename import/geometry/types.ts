/**
 * The importer's geometry model: GeoJSON's shapes, with positions that may carry more than x and y. Readers say
 * which extra ordinates their positions hold (`z`, `m`); `clean()` (clean.ts) then turns every geometry into plain
 * x,y[,z] positions, because tiles are 2D and PostGIS keeps Z, while M (a measure) has no use on the platform.
 */
export type Position = number[];

export type Geometry =
  | { type: 'Point'; coordinates: Position }
  | { type: 'MultiPoint'; coordinates: Position[] }
  | { type: 'LineString'; coordinates: Position[] }
  | { type: 'MultiLineString'; coordinates: Position[][] }
  | { type: 'Polygon'; coordinates: Position[][] }
  | { type: 'MultiPolygon'; coordinates: Position[][][] }
  | { type: 'GeometryCollection'; geometries: Geometry[] };

export type GeometryType = Geometry['type'];

/** Which ordinates follow x and y in a reader's positions: [x, y, z?, m?]. */
export interface Ordinates {
  z: boolean;
  m: boolean;
}

export const XY: Ordinates = Object.freeze({ z: false, m: false });

/** Point, line or polygon: what decides a layer's geometry column type. */
export type Family = 'point' | 'line' | 'polygon' | 'collection';

export function familyOf(type: GeometryType): Family {
  switch (type) {
    case 'Point':
    case 'MultiPoint':
      return 'point';
    case 'LineString':
    case 'MultiLineString':
      return 'line';
    case 'Polygon':
    case 'MultiPolygon':
      return 'polygon';
    case 'GeometryCollection':
      return 'collection';
  }
}
