// The widget draws only the platform's vector tiles: GeoJSON sources (geojson-vt) stay out of its MapLibre.
export class GeoJSONVT {
  constructor() {
    throw new Error('GeoJSON sources are not supported by the CityBase widget');
  }
}
// Property names line buckets read (line-gradient over clipped GeoJSON lines): the same values as geojson-vt's.
export const GEOJSONVT_CLIP_START = 'geojsonvt_clip_start';
export const GEOJSONVT_CLIP_END = 'geojsonvt_clip_end';
