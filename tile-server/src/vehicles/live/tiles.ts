import GeoJSONVT from 'geojson-vt';
import vtpbf from 'vt-pbf';
import type { Principal } from '../../access/access.ts';
import { visibleTo } from './access.ts';
import type { FleetState, LiveVehicle } from './fleet-state.ts';

export const LIVE_LAYER = 'vehicles_live';

/**
 * The `vehicles_live` layer: vector tiles cut from the live state in memory with geojson-vt (no database query
 * per tile). One index per department and scope (each sees its own fleet, live/access.ts), rebuilt lazily when the fleet changed and at
 * most once a second, so a burst of fixes costs one rebuild.
 */
export class LiveTiles {
  private indexes = new Map<string, { version: number; builtAt: number; index: GeoJSONVT }>();

  constructor(
    private readonly live: FleetState,
    private readonly opts: { extent: number; buffer: number; maxAgeMs?: number } = { extent: 4096, buffer: 64 },
  ) {}

  tile(principal: Principal, z: number, x: number, y: number): Buffer {
    const index = this.index(principal);
    const tile = index.getTile(z, x, y);
    if (!tile || tile.features.length === 0) return Buffer.alloc(0);
    return Buffer.from(vtpbf.fromGeojsonVt({ [LIVE_LAYER]: tile } as never, { version: 2, extent: this.opts.extent }));
  }

  private index(principal: Principal): GeoJSONVT {
    const now = Date.now();
    const key = `${principal.department}|${principal.scopes?.join(',') ?? '*'}`;
    const have = this.indexes.get(key);
    if (have && (have.version === this.live.version || now - have.builtAt < (this.opts.maxAgeMs ?? 1000))) return have.index;
    const features = [];
    const sees = visibleTo(principal);
    for (const v of this.live.all()) if (sees(v) && v.lon !== null && v.lat !== null) features.push(feature(v));
    const index = new GeoJSONVT(
      { type: 'FeatureCollection', features },
      { maxZoom: 18, indexMaxZoom: 5, extent: this.opts.extent, buffer: this.opts.buffer, tolerance: 0 },
    );
    this.indexes.set(key, { version: this.live.version, builtAt: now, index });
    return index;
  }
}

function feature(v: LiveVehicle) {
  return {
    type: 'Feature' as const,
    geometry: { type: 'Point' as const, coordinates: [v.lon!, v.lat!] },
    properties: {
      id: v.id,
      plate: v.plate ?? v.id,
      type: v.type,
      status: v.status,
      speed_kmh: v.speedKmh ?? 0,
      course: v.course ?? 0,
      time: v.time ? new Date(v.time).toISOString() : '',
      alarm: v.alarm,
      company: v.company ?? '',
    },
  };
}
