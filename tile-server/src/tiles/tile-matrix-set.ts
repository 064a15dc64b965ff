import { tilesCovering, type LonLatBox } from './coords.ts';

/**
 * WebMercatorQuad, the one tile matrix set CityBase serves (OGC Two Dimensional Tile Matrix Set 2.0, annex D.1):
 * EPSG:3857, 256-pixel tiles, zoom z is matrix "z" of 2^z × 2^z tiles, row 0 at the top. Tile z/x/y of the
 * XYZ URLs is matrix z, column x, row y.
 */
export const WEB_MERCATOR_QUAD = 'WebMercatorQuad';
export const TMS_URI = 'http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad';
export const EPSG_3857 = 'http://www.opengis.net/def/crs/EPSG/0/3857';
/** The standard definition stops at 24 (about 1 cm per pixel). */
export const TMS_MAX_ZOOM = 24;

const HALF_WORLD = 20037508.3427892;
/** Metres per pixel at zoom 0 and the standard rendering pixel of 0.28 mm. */
const CELL_SIZE_0 = (2 * HALF_WORLD) / 256;
const PIXEL_MM = 0.00028;

/** The tile matrix set document (JSON encoding of TMS 2.0). */
export function webMercatorQuad(): object {
  return {
    id: WEB_MERCATOR_QUAD,
    title: 'Google Maps Compatible for the World',
    uri: TMS_URI,
    crs: EPSG_3857,
    orderedAxes: ['X', 'Y'],
    wellKnownScaleSet: 'http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible',
    tileMatrices: Array.from({ length: TMS_MAX_ZOOM + 1 }, (_, z) => {
      const cellSize = CELL_SIZE_0 / 2 ** z;
      return {
        id: String(z),
        scaleDenominator: cellSize / PIXEL_MM,
        cellSize,
        cornerOfOrigin: 'topLeft',
        pointOfOrigin: [-HALF_WORLD, HALF_WORLD],
        tileWidth: 256,
        tileHeight: 256,
        matrixWidth: 2 ** z,
        matrixHeight: 2 ** z,
      };
    }),
  };
}

export interface TileMatrixLimits {
  tileMatrix: string;
  minTileRow: number;
  maxTileRow: number;
  minTileCol: number;
  maxTileCol: number;
}

/** Per zoom in [minzoom, maxzoom], the rows and columns of the tiles that can hold data inside `bounds`. */
export function matrixLimits(bounds: LonLatBox | null, minzoom: number, maxzoom: number): TileMatrixLimits[] {
  const out: TileMatrixLimits[] = [];
  for (let z = minzoom; z <= Math.min(maxzoom, TMS_MAX_ZOOM); z++) {
    const n = 2 ** z;
    const r = bounds ? tilesCovering(bounds, z, 0) : { minX: 0, minY: 0, maxX: n - 1, maxY: n - 1 };
    out.push({ tileMatrix: String(z), minTileRow: r.minY, maxTileRow: r.maxY, minTileCol: r.minX, maxTileCol: r.maxX });
  }
  return out;
}
