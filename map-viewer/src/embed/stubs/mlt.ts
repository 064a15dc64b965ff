// The widget's MapLibre reads Mapbox Vector Tiles only (what the platform serves): MapLibre Tiles decoding stays out.
export const GEOMETRY_TYPE = {};
export function decodeTile(): never {
  throw new Error('MapLibre Tiles (MLT) are not supported by the CityBase widget');
}
