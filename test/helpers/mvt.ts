import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';

export interface DecodedFeature {
  id: number | undefined;
  properties: Record<string, unknown>;
  geometry: { type: string; coordinates: unknown };
  /** The feature's first vertex in tile units, to tell features inside the tile from those in its buffer. */
  firstVertex: { x: number; y: number };
}

/** Decode an MVT into GeoJSON features per layer (@mapbox/vector-tile's toGeoJSON), sorted by id. */
export function decodeTile(buf: Buffer, z: number, x: number, y: number): Record<string, DecodedFeature[]> {
  const tile = new VectorTile(new PbfReader(buf));
  const out: Record<string, DecodedFeature[]> = {};
  for (const name of Object.keys(tile.layers)) {
    const layer = tile.layers[name]!;
    const features: DecodedFeature[] = [];
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      const gj = f.toGeoJSON(x, y, z);
      const p = f.loadGeometry()[0]![0]!;
      features.push({
        id: f.id,
        properties: gj.properties as Record<string, unknown>,
        geometry: gj.geometry as DecodedFeature['geometry'],
        firstVertex: { x: p.x, y: p.y },
      });
    }
    out[name] = features.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  }
  return out;
}

/** The tile (x, y) containing a lon/lat at zoom z. */
export function tileOf(lon: number, lat: number, z: number): { z: number; x: number; y: number } {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return {
    z,
    x: Math.floor(((lon + 180) / 360) * n),
    y: Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n),
  };
}
