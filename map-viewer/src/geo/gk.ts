import proj4 from 'proj4';

/**
 * CGCS2000 / 3-degree Gauss-Kruger CM 120E (EPSG:4549), the projection of Huai'an's survey data: easting
 * with 500 km false easting and no zone prefix, northing from the equator. The definition is PostGIS's
 * spatial_ref_sys text; CGCS2000 and WGS84 differ by centimetres, below what a cursor position means.
 */
const EPSG_4549 = '+proj=tmerc +lat_0=0 +lon_0=120 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs';
const transform = proj4('EPSG:4326', EPSG_4549);

/** [easting, northing] in metres. */
export function toGk120(lon: number, lat: number): [number, number] {
  return transform.forward([lon, lat]) as [number, number];
}
