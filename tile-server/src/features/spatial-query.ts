import type { Principal } from '../access/access.ts';
import type { QueryRunner } from '../db/query.ts';
import { HttpError, badRequest } from '../errors.ts';
import { statementName } from '../sources/statements.ts';
import { GeometryError, checkGeometry } from './geometry.ts';
import type { FeatureLayers } from './layers.ts';
import type { FeatureTable } from './table.ts';

/** Largest body POST /query reads (a detailed district outline is a few hundred KB of GeoJSON). */
export const MAX_QUERY_BYTES = 2 * 1024 * 1024;
const MAX_LAYERS = 32;
const MAX_BUFFER_METRES = 50_000;

export interface SpatialQuery {
  /** The GeoJSON geometry as text, bound as one parameter. */
  geometry: string;
  buffer: number;
  limit: number;
  tables: FeatureTable[];
}

/**
 * The body of POST /query: `{ "geometry": <GeoJSON geometry or Feature>, "layers": ["a", "b"] | "a,b",
 * "buffer": metres, "limit": features per layer }`. Every problem is a 400 naming the field.
 */
export function parseSpatialQuery(body: unknown, layers: FeatureLayers, principal: Principal, cost: QueryCost = DEFAULT_COST): SpatialQuery {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('invalid_query', 'the body must be a JSON object');
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !['geometry', 'layers', 'buffer', 'limit'].includes(k));
  if (unknown.length) throw badRequest('invalid_query', `unknown field ${unknown.map((k) => `"${k.slice(0, 40)}"`).join(', ')}; known: geometry, layers, buffer, limit`);

  let geometry = b.geometry;
  if (geometry === undefined) throw badRequest('invalid_geometry', 'geometry is required: a GeoJSON geometry in longitude, latitude (WGS84)');
  // A drawing tool hands over a Feature: its geometry is what is meant.
  if (typeof geometry === 'object' && geometry !== null && (geometry as { type?: unknown }).type === 'Feature')
    geometry = (geometry as { geometry?: unknown }).geometry;
  try {
    checkGeometry(geometry);
  } catch (err) {
    if (err instanceof GeometryError) throw badRequest('invalid_geometry', err.message);
    throw err;
  }

  const ids = typeof b.layers === 'string' ? b.layers.split(',').map((s) => s.trim()) : b.layers;
  if (!Array.isArray(ids) || !ids.every((id): id is string => typeof id === 'string'))
    throw badRequest('invalid_query', 'layers must be a list of layer ids, e.g. ["rf_shelters"]');
  const buffer = b.buffer ?? 0;
  if (typeof buffer !== 'number' || !(buffer >= 0 && buffer <= MAX_BUFFER_METRES))
    throw badRequest('invalid_query', `buffer must be a number of metres from 0 to ${MAX_BUFFER_METRES}`);
  const limit = b.limit ?? 100;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > 10_000)
    throw badRequest('invalid_query', 'limit must be a whole number of features per layer from 0 to 10000');
  const tables = layers.many(ids, principal, MAX_LAYERS);
  checkCost(geometry, buffer, cost);
  return { geometry: JSON.stringify(geometry), buffer, limit, tables };
}

/** The cost bound of POST /query (QUERY_MAX_VERTICES, QUERY_MAX_AREA_KM2). */
export interface QueryCost {
  maxVertices: number;
  maxAreaKm2: number;
}
const DEFAULT_COST: QueryCost = { maxVertices: 20_000, maxAreaKm2: 100_000 };

/**
 * Refuse, before any SQL, a query whose cost the client made unbounded: too many vertices (each is tested
 * against every candidate feature), or an area (its bounding box widened by the buffer) larger than the
 * bound: a world polygon would read every row of every layer. 413: the request is too large, not malformed.
 */
function checkCost(geometry: unknown, buffer: number, cost: QueryCost): void {
  let vertices = 0;
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c: unknown): void => {
    if (!Array.isArray(c)) return;
    if (typeof c[0] === 'number') {
      vertices++;
      const [x, y] = c as number[];
      if (x! < w) w = x!;
      if (x! > e) e = x!;
      if (y! < s) s = y!;
      if (y! > n) n = y!;
      return;
    }
    for (const child of c) visit(child);
  };
  type Node = { coordinates?: unknown; geometries?: Node[] };
  const walk = (g: Node): void => (g.geometries ? g.geometries.forEach(walk) : visit(g.coordinates));
  walk(geometry as Node);
  if (vertices > cost.maxVertices)
    throw new HttpError(413, 'query_too_large', `the geometry has ${vertices} vertices, more than the ${cost.maxVertices} a query may have (QUERY_MAX_VERTICES): simplify it`);
  const km = buffer / 1000;
  const midLat = Math.max(-89, Math.min(89, (s + n) / 2));
  const width = (e - w) * 111.32 * Math.cos((midLat * Math.PI) / 180) + 2 * km;
  const height = (n - s) * 110.57 + 2 * km;
  const area = Math.max(0, width) * Math.max(0, height);
  if (area > cost.maxAreaKm2)
    throw new HttpError(413, 'query_too_large', `the query area (its bounding box with the buffer, ~${Math.round(area)} km²) is larger than the ${cost.maxAreaKm2} km² a query may cover (QUERY_MAX_AREA_KM2)`);
}

/** The query area: the geometry, buffered on the spheroid when asked; a subquery, so it is made once. */
const AREA = `(SELECT CASE WHEN $2::float8 > 0 THEN ST_Buffer(g::geography, $2::float8)::geometry ELSE g END
   FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1::text), 4326) AS g) AS input)`;

const VALIDITY_SQL = `SELECT ST_IsValidReason(ST_SetSRID(ST_GeomFromGeoJSON($1::text), 4326))`;
const AREA_SQL = `SELECT ST_Area(${AREA}::geography)`;

/**
 * The exposed numeric properties the layer declares additive: summed per layer (how many people the shelters in
 * a district hold). Summing every number would answer nonsense such as a total of completion years.
 */
function summed(t: FeatureTable): string[] {
  return t
    .listQueryables()
    .filter((q) => (q.type === 'integer' || q.type === 'number') && t.propertyNames.includes(q.name) && t.meta.properties[q.name]?.additive === true)
    .map((q) => q.name);
}

function statsSql(t: FeatureTable): string {
  const sums = summed(t).map((name) => `sum(${t.queryable(name)!.sql})::float8`);
  return `-- spatial query statistics on layer ${t.id}: $1 GeoJSON, $2 buffer (m)
SELECT count(*)::int8${sums.map((s) => `, ${s}`).join('')}
FROM ${t.from} AS t
WHERE ${t.intersects(AREA)}`;
}

function featuresSql(t: FeatureTable): string {
  return `-- spatial query features on layer ${t.id}: $1 GeoJSON, $2 buffer (m), $3 limit
SELECT ${t.featureJson(t.propertyNames)}
FROM ${t.from} AS t
WHERE ${t.intersects(AREA)}
ORDER BY ${t.orderKeys.join(', ')}
LIMIT $3::int8`;
}

/**
 * Count, sum and list each layer's features inside the area. An invalid polygon (self-intersecting, …) is a
 * 400 with PostGIS's reason, checked before any layer is read.
 */
export async function runSpatialQuery(q: SpatialQuery, run: QueryRunner, signal?: AbortSignal): Promise<string> {
  const [validity] = await run.prepared('query:validity', VALIDITY_SQL, [q.geometry], signal);
  const reason = validity![0] as string;
  if (reason !== 'Valid Geometry') throw badRequest('invalid_geometry', `geometry is not valid: ${reason}`);
  const [areaRows, layers] = await Promise.all([
    run.prepared('query:area', AREA_SQL, [q.geometry, q.buffer], signal),
    Promise.all(q.tables.map((t) => layerResult(t, q, run, signal))),
  ]);
  const head = JSON.stringify({ areaM2: Math.round(Number(areaRows[0]![0]) * 10) / 10, buffer: q.buffer });
  return `${head.slice(0, -1)},"layers":[${layers.join(',')}]}`;
}

/** One layer's answer: `{ layer, title, count, sums, truncated, features: FeatureCollection }` as JSON text. */
async function layerResult(t: FeatureTable, q: SpatialQuery, run: QueryRunner, signal?: AbortSignal): Promise<string> {
  const stats = statsSql(t);
  const list = featuresSql(t);
  const [[row], features] = await Promise.all([
    run.prepared(statementName(`query:${t.id}`, stats), stats, [q.geometry, q.buffer], signal),
    q.limit > 0 ? run.prepared(statementName(`query:${t.id}`, list), list, [q.geometry, q.buffer, q.limit], signal) : [],
  ]);
  const count = Number(row![0]);
  const sums = Object.fromEntries(summed(t).map((name, i) => [name, row![i + 1] === null ? 0 : Number(row![i + 1])]));
  const head = JSON.stringify({ layer: t.id, title: t.meta.title, count, sums, truncated: count > features.length });
  const texts = features.map((r) => r[0] as string).join(',');
  return `${head.slice(0, -1)},"features":{"type":"FeatureCollection","numberReturned":${features.length},"features":[${texts}]}}`;
}
