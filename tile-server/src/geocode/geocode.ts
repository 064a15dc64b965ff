import pg from 'pg';
import type { Principal } from '../access/access.ts';
import type { QueryRunner } from '../db/query.ts';
import { badRequest } from '../errors.ts';
import type { FeatureLayers } from '../features/layers.ts';
import * as param from '../features/params.ts';
import type { FeatureTable } from '../features/table.ts';
import { statementName } from '../sources/statements.ts';
import { parseCoordinate, type ParsedCoordinate } from './coordinates.ts';
import { CODE_PROPERTIES, CONTEXT_LEVELS, KINDS, NAME_PROPERTIES, PLACE_LAYERS, type KindId, type PlaceKind } from './gazetteer.ts';

const { escapeIdentifier: ident } = pg;

/**
 * The geocoder behind GET /api/geocode (and the 12345 intake later): coordinates in the notations planners type,
 * codes (行政区划, 单元网格, parcel and component ids) and names from the platform's own layers, exact before
 * prefix before contained before fuzzy (the typed characters in order), then by kind, then by distance to the
 * caller's view. Each result carries where it lies (community, street, district), the match, a point, a bbox
 * and a (simplified) geometry to mark it with.
 */
export const MAX_RESULTS = 50;
const MAX_QUERY_CHARS = 100;

export interface GeocodeRequest {
  q: string;
  near: { lon: number; lat: number } | null;
  limit: number;
}

export function parseGeocodeRequest(query: Record<string, unknown>): GeocodeRequest {
  param.onlyKnown(query, ['q', 'lon', 'lat', 'limit', 'key']);
  const q = (param.single(query, 'q') ?? '').trim();
  if (!q) throw param.missing('q');
  if ([...q].length > MAX_QUERY_CHARS) throw badRequest('invalid_parameter', `q: at most ${MAX_QUERY_CHARS} characters`);
  const lon = param.single(query, 'lon');
  const lat = param.single(query, 'lat');
  if ((lon === undefined) !== (lat === undefined)) throw badRequest('invalid_parameter', 'lon and lat go together: give both or neither');
  const limitText = param.single(query, 'limit');
  return {
    q,
    near: lon !== undefined ? { lon: param.number('lon', lon, -180, 180), lat: param.number('lat', lat!, -90, 90) } : null,
    limit: limitText === undefined ? 10 : param.integer('limit', limitText, 1, MAX_RESULTS),
  };
}

export type Quality = 'exact' | 'prefix' | 'contains' | 'fuzzy';
const QUALITIES: Quality[] = ['exact', 'prefix', 'contains', 'fuzzy'];

export interface GeocodeResult {
  kind: KindId;
  kindLabel: PlaceKind['label'];
  /** The layer the place comes from (null for typed coordinates). */
  layer: string | null;
  layerTitle: { zh: string; en: string } | null;
  id: number | string | null;
  name: string;
  code: string | null;
  /** What matched: the property, its text, and how well. */
  match: { property: string; text: string; quality: Quality };
  context: Partial<Record<'community' | 'street' | 'district', { code: string; name: string }>>;
  point: [number, number];
  bbox: [number, number, number, number];
  geometry: GeoJSON.Geometry;
  /** Metres from the given lon/lat (0 inside an area); null without them. */
  distanceM: number | null;
}

/** `%`, `_` and `\` typed by the user are literal characters in LIKE patterns. */
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

interface Searchable {
  table: FeatureTable;
  kind: PlaceKind & { id: KindId };
  names: string[];
  codes: string[];
}

function searchable(layers: FeatureLayers, principal: Principal): Searchable[] {
  return layers.list(principal).flatMap((table) => {
    const listed = PLACE_LAYERS[table.id];
    if (listed === null) return [];
    const names = NAME_PROPERTIES.filter((n) => table.propertyNames.includes(n) && table.queryable(n)?.type === 'string');
    const codes = CODE_PROPERTIES.filter((n) => table.propertyNames.includes(n) && table.queryable(n)?.type === 'string');
    if (listed === undefined && names.length === 0) return [];
    if (names.length === 0 && codes.length === 0) return [];
    return [{ table, kind: KINDS[listed ?? 'feature'], names, codes }];
  });
}

/** A place's geometry pieces, in WGS84: a point on it, its box, its outline simplified to about 10 m. */
const SHAPE = (g: string) => `ST_AsGeoJSON(ST_PointOnSurface(${g}), 7)::json AS point,
       json_build_array(ST_XMin(${g}), ST_YMin(${g}), ST_XMax(${g}), ST_YMax(${g})) AS bbox,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(${g}, 0.0001), 6)::json AS geometry`;

/**
 * One layer's matches. $1 the text (lower case), $2 the contained pattern, $3 the fuzzy pattern (the characters
 * in order), $4/$5 the view's lon/lat (null: no distance), $6 how many.
 */
function layerSql(s: Searchable): string {
  const t = s.table;
  const col = (n: string) => `t.${ident(n)}`;
  const quality = (n: string) =>
    `CASE WHEN lower(${col(n)}) = a.q THEN 0 WHEN lower(${col(n)}) LIKE a.contained || '%' ESCAPE '\\' THEN 1 WHEN lower(${col(n)}) LIKE '%' || a.contained || '%' ESCAPE '\\' THEN 2 ELSE 3 END`;
  // Codes are matched whole only: a code's prefix is its parent, found by its own code.
  const candidates = [
    ...s.names.map((n) => `(${quality(n)}, ${pg.escapeLiteral(n)}, ${col(n)}) `),
    ...s.codes.map((n) => `(CASE WHEN ${col(n)} = a.q THEN 0 END, ${pg.escapeLiteral(n)}, ${col(n)})`),
  ];
  const wanted = [...s.names.map((n) => `lower(${col(n)}) LIKE a.fuzzy ESCAPE '\\'`), ...s.codes.map((n) => `${col(n)} = a.q`)];
  const name = s.names.length ? `coalesce(${s.names.map(col).join(', ')})` : 'NULL::text';
  const code = s.codes.length ? col(s.codes[0]!) : 'NULL::text';
  // A district's staff find only their district's features, as on every other endpoint.
  const scoped = t.scopeSql('$7');
  return `-- geocode: names and codes in layer ${t.id}${scoped ? ' ($7 scopes)' : ''}
WITH a AS (SELECT $1::text AS q, $2::text AS contained, $3::text AS fuzzy)
SELECT m.id, m.name, m.code, m.property, m.matched, m.quality,
       CASE WHEN $4::float8 IS NULL THEN NULL ELSE ST_Distance(m.g::geography, ST_SetSRID(ST_Point($4::float8, $5::float8), 4326)::geography) END AS distance,
       ${SHAPE('m.g')}
FROM (
  SELECT ${t.idSql ?? 'NULL::int8'} AS id, ${name} AS name, ${code} AS code, best.property, best.matched, best.quality, ${t.geometry} AS g
  FROM a, ${t.from} AS t
  CROSS JOIN LATERAL (
    SELECT c.property, c.matched, c.quality FROM (VALUES ${candidates.join(', ')}) AS c(quality, property, matched)
    WHERE c.quality IS NOT NULL ORDER BY c.quality LIMIT 1
  ) AS best
  WHERE (${wanted.join(' OR ')})${scoped ? `\n    AND ${scoped}` : ''}
  ORDER BY best.quality, ${t.orderKeys.join(', ')}
  LIMIT 1000
) AS m
ORDER BY m.quality, distance NULLS LAST, m.name, m.id
LIMIT $6::int8`;
}

/** The context of points: the community, street and district each lies in ($1 lon[], $2 lat[]). */
function contextSql(levels: Array<{ as: string; table: FeatureTable; code: string; name: string }>): string {
  const joins = levels.map(
    (l, i) => `LEFT JOIN LATERAL (SELECT t.${ident(l.code)} AS code, t.${ident(l.name)} AS name FROM ${l.table.from} AS t
    WHERE ${l.table.intersects('p.g')} ORDER BY 1 LIMIT 1) AS c${i} ON true`,
  );
  return `-- geocode: the admin areas points lie in
SELECT p.i, ${levels.map((_, i) => `c${i}.code, c${i}.name`).join(', ')}
FROM (SELECT i, ST_SetSRID(ST_Point(lon, lat), 4326) AS g FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS u(lon, lat, i)) AS p
${joins.join('\n')}
ORDER BY p.i`;
}

const TRANSFORM_SQL = `SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_Point($1::float8, $2::float8), $3::int4), 4326) AS p) AS x`;

async function coordinateResult(c: ParsedCoordinate, q: string, run: QueryRunner, signal?: AbortSignal): Promise<GeocodeResult | null> {
  let lon: number;
  let lat: number;
  if (c.kind === 'degrees') ({ lon, lat } = c);
  else {
    const [row] = await run.prepared('geocode:transform', TRANSFORM_SQL, [c.x, c.y, c.srid], signal);
    [lon, lat] = [Number(row![0]), Number(row![1])];
    if (!Number.isFinite(lon) || !Number.isFinite(lat)) return null;
  }
  const notation = { decimal: 'WGS84 / CGCS2000 (°)', dms: 'WGS84 / CGCS2000 (° ′ ″)', gk: 'EPSG:4549', 'gk-zone': c.kind === 'projected' ? `EPSG:${c.srid}` : '' }[c.notation];
  const r = (v: number) => Math.round(v * 1e7) / 1e7;
  return {
    kind: 'coordinate',
    kindLabel: KINDS.coordinate.label,
    layer: null,
    layerTitle: null,
    id: null,
    name: `${r(lon).toFixed(6)}, ${r(lat).toFixed(6)}`,
    code: null,
    match: { property: notation, text: q, quality: 'exact' },
    context: {},
    point: [r(lon), r(lat)],
    bbox: [r(lon), r(lat), r(lon), r(lat)],
    geometry: { type: 'Point', coordinates: [r(lon), r(lat)] },
    distanceM: null,
  };
}

export async function geocode(req: GeocodeRequest, layers: FeatureLayers, principal: Principal, run: QueryRunner, signal?: AbortSignal): Promise<GeocodeResult[]> {
  const coordinate = parseCoordinate(req.q);
  const results: GeocodeResult[] = [];
  if (coordinate) {
    const r = await coordinateResult(coordinate, req.q, run, signal);
    if (r) results.push(r);
  }
  const lower = req.q.toLowerCase();
  const contained = likeEscape(lower);
  const fuzzy = `%${[...lower].filter((ch) => ch.trim()).map(likeEscape).join('%')}%`;
  const sources = searchable(layers, principal);
  const answers = await Promise.all(
    sources.map((s) => {
      const sql = layerSql(s);
      return run.prepared(statementName(`geocode:${s.table.id}`, sql), sql, [lower, contained, fuzzy, req.near?.lon ?? null, req.near?.lat ?? null, req.limit, ...(s.table.scopes ? [s.table.scopes] : [])], signal);
    }),
  );
  answers.forEach((rows, i) => {
    const s = sources[i]!;
    for (const row of rows) {
      const [id, name, code, property, matched, quality, distance, point, bbox, geometry] = row as [
        number | string | null, string | null, string | null, string, string, number, number | null, GeoJSON.Point, number[], GeoJSON.Geometry,
      ];
      results.push({
        kind: s.kind.id,
        kindLabel: s.kind.label,
        layer: s.table.id,
        layerTitle: s.table.meta.title,
        id: typeof id === 'string' && /^\d+$/.test(id) && Number.isSafeInteger(Number(id)) ? Number(id) : id,
        name: name ?? code ?? String(id),
        code,
        match: { property, text: matched, quality: QUALITIES[quality]! },
        context: {},
        point: point.coordinates as [number, number],
        bbox: bbox.map((v) => Math.round(v * 1e7) / 1e7) as GeocodeResult['bbox'],
        geometry,
        distanceM: distance === null ? null : Math.round(distance),
      });
    }
  });
  const rank = (r: GeocodeResult) => [QUALITIES.indexOf(r.match.quality), KINDS[r.kind].rank, r.distanceM ?? Infinity] as const;
  results.sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || a.name.localeCompare(b.name, 'zh');
  });
  const top = results.slice(0, req.limit);
  await addContext(top, layers, principal, run, signal);
  return top;
}

/** Fill in each result's community, street and district, from the admin layers the caller may see. */
async function addContext(results: GeocodeResult[], layers: FeatureLayers, principal: Principal, run: QueryRunner, signal?: AbortSignal): Promise<void> {
  const visible = new Map(layers.list(principal).map((t) => [t.id, t]));
  const levels = CONTEXT_LEVELS.flatMap((l) => {
    const table = visible.get(l.layer);
    return table && table.propertyNames.includes(l.code) && table.propertyNames.includes(l.name) ? [{ ...l, table }] : [];
  });
  if (results.length === 0 || levels.length === 0) return;
  const sql = contextSql(levels);
  const rows = await run.prepared(statementName('geocode:context', sql), sql, [results.map((r) => r.point[0]), results.map((r) => r.point[1])], signal);
  // A place is placed only in areas larger than itself: a street is in a district, not in a community.
  const order = ['community', 'street', 'district'];
  rows.forEach((row, i) => {
    const r = results[i]!;
    const own = order.indexOf(r.kind);
    levels.forEach((l, j) => {
      const [code, name] = [row[1 + 2 * j], row[2 + 2 * j]] as [string | null, string | null];
      if (code === null || name === null || (own >= 0 && order.indexOf(l.as) <= own) || r.kind === 'city') return;
      r.context[l.as] = { code, name };
    });
  });
}

/**
 * An address as a caller or an Open311 client gives it, placed only when a place of the gazetteer matches it
 * exactly (a community, road, POI or grid code): a fuzzy guess is offered to a person to confirm (the desk's
 * 12345 form), never taken by a machine. Returns the point, or null with the best candidates to name.
 */
export async function locateAddress(
  address: string,
  layers: FeatureLayers,
  principal: Principal,
  run: QueryRunner,
): Promise<{ point: [number, number]; name: string } | { point: null; candidates: string[] }> {
  const q = [...address.trim()].slice(0, MAX_QUERY_CHARS).join('');
  if (!q) return { point: null, candidates: [] };
  const results = await geocode({ q, near: null, limit: 5 }, layers, principal, run);
  const exact = results.find((r) => r.match.quality === 'exact');
  if (exact) return { point: exact.point, name: exact.name };
  return { point: null, candidates: results.slice(0, 3).map((r) => r.name) };
}
