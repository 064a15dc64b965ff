import type { Principal } from '../access/access.ts';
import type { QueryRunner } from '../db/query.ts';
import { statementName } from '../sources/statements.ts';
import type { FeatureLayers } from './layers.ts';
import * as param from './params.ts';
import type { FeatureTable } from './table.ts';

const EARTH_CIRCUMFERENCE = 40075016.686;
/** MapLibre's zoom: the world is 512 px wide at zoom 0. */
const TILE_PX = 512;
const MAX_LAYERS = 32;

export interface IdentifyRequest {
  lon: number;
  lat: number;
  zoom: number;
  tolerancePx: number;
  /** Ground distance of the tolerance at the click (Web Mercator scale: 1 / cos(latitude)). */
  metres: number;
  limit: number;
  tables: FeatureTable[];
}

/**
 * `GET /identify?lon=&lat=&zoom=&layers=a,b&tolerance=5&limit=10`. Without `layers`, every table layer the
 * caller may see that is drawn at that zoom.
 */
export function parseIdentify(query: Record<string, unknown>, layers: FeatureLayers, principal: Principal): IdentifyRequest {
  param.onlyKnown(query, ['lon', 'lat', 'zoom', 'layers', 'tolerance', 'limit', 'key']);
  const required = (name: string) => {
    const v = param.single(query, name);
    if (v === undefined) throw param.missing(name);
    return v;
  };
  const lon = param.number('lon', required('lon'), -180, 180);
  const lat = param.number('lat', required('lat'), -85.06, 85.06);
  const zoom = param.number('zoom', required('zoom'), 0, 24);
  const tolerancePx = param.number('tolerance', param.single(query, 'tolerance') ?? '5', 0, 50);
  const limit = param.integer('limit', param.single(query, 'limit') ?? '10', 1, 100);
  const ids = param.single(query, 'layers');
  const tables =
    ids === undefined
      ? // Drawn from minzoom on; beyond maxzoom the map still shows (over-zooms) the last tiles.
        layers.list(principal).filter((t) => zoom >= t.meta.minzoom)
      : layers.many(ids.split(',').map((s) => s.trim()), principal, MAX_LAYERS);
  const metres = (tolerancePx * EARTH_CIRCUMFERENCE * Math.cos((lat * Math.PI) / 180)) / (TILE_PX * 2 ** zoom);
  return { lon, lat, zoom, tolerancePx, metres, limit, tables };
}

/** One layer's features near the click, nearest first: [distance in metres, Feature JSON]. */
function identifySql(t: FeatureTable): string {
  const click = 'ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326)';
  const scoped = t.scopeSql('$5');
  return `-- identify on layer ${t.id}: $1 lon, $2 lat, $3 metres, $4 limit${scoped ? ', $5 scopes' : ''}
SELECT ST_Distance(${t.geometry}::geography, ${click}::geography) AS distance, ${t.featureJson(t.propertyNames)} AS feature
FROM ${t.from} AS t
WHERE ${t.withinMetres(click, '$3::float8')}${scoped ? `\n  AND ${scoped}` : ''}
ORDER BY 1, ${t.orderKeys.join(', ')}
LIMIT $4::int8`;
}

/**
 * The features under a click, across layers, nearest first (a polygon containing the click is at distance 0),
 * each with its layer id and title as foreign members, as a GeoJSON FeatureCollection text.
 */
export async function identify(r: IdentifyRequest, run: QueryRunner, signal?: AbortSignal): Promise<string> {
  const perLayer = await Promise.all(
    r.tables.map(async (t, order) => {
      const sql = identifySql(t);
      const rows = await run.prepared(statementName(`identify:${t.id}`, sql), sql, [r.lon, r.lat, r.metres, r.limit, ...(t.scopes ? [t.scopes] : [])], signal);
      const extra = `,"layer":${JSON.stringify(t.id)},"title":${JSON.stringify(t.meta.title)}`;
      return rows.map(([d, f]) => ({ distance: Number(d), order, text: `${(f as string).slice(0, -1)}${extra},"distance":${round(Number(d))}}` }));
    }),
  );
  const hits = perLayer.flat().sort((a, b) => a.distance - b.distance || a.order - b.order);
  const head = JSON.stringify({
    type: 'FeatureCollection',
    numberReturned: hits.length,
    click: { lon: r.lon, lat: r.lat, zoom: r.zoom },
    tolerance: { px: r.tolerancePx, metres: round(r.metres) },
    layers: r.tables.map((t) => t.id),
  });
  return `${head.slice(0, -1)},"features":[${hits.map((h) => h.text).join(',')}]}`;
}

const round = (v: number) => Math.round(v * 100) / 100;
