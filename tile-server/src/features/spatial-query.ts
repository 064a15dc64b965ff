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

/** What of a layer's geometry is measured inside the area: polygons by area, lines by length, points not at all. */
function measures(t: FeatureTable): { area: boolean; length: boolean } {
  const type = t.meta.geometryType.toUpperCase();
  if (/POINT$/.test(type)) return { area: false, length: false };
  if (/POLYGON$/.test(type)) return { area: true, length: false };
  if (/LINESTRING$/.test(type)) return { area: false, length: true };
  return { area: true, length: true };
}

/**
 * The class a layer's features are broken down by: its exposed `class_code` (用地分类, 控规 用地性质, 部件 classes),
 * named by `class_name` and coloured by `color` where the layer exposes them (the land-use style draws that colour).
 */
function classOf(t: FeatureTable): { code: string; name: string | null; color: string | null } | null {
  const has = (n: string) => t.propertyNames.includes(n) && t.queryable(n)?.type === 'string';
  if (!has('class_code')) return null;
  return { code: t.queryable('class_code')!.sql, name: has('class_name') ? t.queryable('class_name')!.sql : null, color: has('color') ? t.queryable('color')!.sql : null };
}

/**
 * The part of each feature inside the area, in WGS84 (a feature wholly inside is itself, the common case is
 * cheap), measured on the spheroid: what a planner means by "the land use inside what I drew".
 */
function clippedSql(t: FeatureTable): { area: string; length: string } {
  const inside = `(CASE WHEN ST_CoveredBy(${t.geometry}, ${AREA}) THEN ${t.geometry} ELSE ST_Intersection(${t.geometry}, ${AREA}) END)`;
  return { area: `ST_Area(${inside}::geography)`, length: `ST_Length(${inside}::geography)` };
}

function statsSql(t: FeatureTable): string {
  const sums = summed(t).map((name) => `sum(${t.queryable(name)!.sql})::float8`);
  const m = measures(t);
  const clipped = clippedSql(t);
  const measured = [...(m.area ? [`sum(${clipped.area})::float8`] : []), ...(m.length ? [`sum(${clipped.length})::float8`] : [])];
  const scoped = t.scopeSql('$3');
  return `-- spatial query statistics on layer ${t.id}: $1 GeoJSON, $2 buffer (m)${scoped ? ', $3 scopes' : ''}
SELECT count(*)::int8${[...sums, ...measured].map((s) => `, ${s}`).join('')}
FROM ${t.from} AS t
WHERE ${t.intersects(AREA)}${scoped ? `\n  AND ${scoped}` : ''}`;
}

/** Per class: count and the clipped area or length, largest first. */
function classesSql(t: FeatureTable): string | null {
  const k = classOf(t);
  if (!k) return null;
  const m = measures(t);
  const clipped = clippedSql(t);
  const scoped = t.scopeSql('$3');
  return `-- spatial query classes on layer ${t.id}: $1 GeoJSON, $2 buffer (m)${scoped ? ', $3 scopes' : ''}
SELECT ${k.code} AS code, ${k.name ? `min(${k.name})` : 'NULL::text'} AS name, ${k.color ? `min(${k.color})` : 'NULL::text'} AS color, count(*)::int8,
       ${m.area ? `sum(${clipped.area})::float8` : 'NULL::float8'}, ${m.length ? `sum(${clipped.length})::float8` : 'NULL::float8'}
FROM ${t.from} AS t
WHERE ${t.intersects(AREA)}${scoped ? `\n  AND ${scoped}` : ''}
GROUP BY 1
ORDER BY 5 DESC NULLS LAST, 6 DESC NULLS LAST, 4 DESC, 1
LIMIT 200`;
}

function featuresSql(t: FeatureTable): string {
  const scoped = t.scopeSql('$4');
  return `-- spatial query features on layer ${t.id}: $1 GeoJSON, $2 buffer (m), $3 limit${scoped ? ', $4 scopes' : ''}
SELECT ${t.featureJson(t.propertyNames)}
FROM ${t.from} AS t
WHERE ${t.intersects(AREA)}${scoped ? `\n  AND ${scoped}` : ''}
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

/**
 * One layer's answer: `{ layer, title, count, sums, clippedAreaM2 | clippedLengthM, classes, truncated, features }`
 * as JSON text. `sums` add up whole features (an additive property cannot be split); the clipped figures and the
 * classes measure only the part inside the area.
 */
async function layerResult(t: FeatureTable, q: SpatialQuery, run: QueryRunner, signal?: AbortSignal): Promise<string> {
  const stats = statsSql(t);
  const list = featuresSql(t);
  const scopes = t.scopes ? [t.scopes] : [];
  const classes = classesSql(t);
  const [[row], features, classRows] = await Promise.all([
    run.prepared(statementName(`query:${t.id}`, stats), stats, [q.geometry, q.buffer, ...scopes], signal),
    q.limit > 0 ? run.prepared(statementName(`query:${t.id}`, list), list, [q.geometry, q.buffer, q.limit, ...scopes], signal) : [],
    classes ? run.prepared(statementName(`query:${t.id}`, classes), classes, [q.geometry, q.buffer, ...scopes], signal) : null,
  ]);
  const count = Number(row![0]);
  const names = summed(t);
  const sums = Object.fromEntries(names.map((name, i) => [name, row![i + 1] === null ? 0 : Number(row![i + 1])]));
  const m = measures(t);
  const round = (v: unknown) => (v === null ? 0 : Math.round(Number(v) * 10) / 10);
  let at = names.length + 1;
  const clipped = {
    ...(m.area ? { clippedAreaM2: round(row![at++]) } : {}),
    ...(m.length ? { clippedLengthM: round(row![at++]) } : {}),
  };
  const classList = classRows?.map(([code, name, color, n, area, length]) => ({
    code,
    name,
    color,
    count: Number(n),
    ...(m.area ? { areaM2: round(area) } : {}),
    ...(m.length ? { lengthM: round(length) } : {}),
  }));
  const head = JSON.stringify({ layer: t.id, title: t.meta.title, count, sums, ...clipped, ...(classList ? { classes: classList } : {}), truncated: count > features.length });
  const texts = features.map((r) => r[0] as string).join(',');
  return `${head.slice(0, -1)},"features":{"type":"FeatureCollection","numberReturned":${features.length},"features":[${texts}]}}`;
}
