import type { QueryRunner } from '../db/query.ts';
import { HttpError, badRequest } from '../errors.ts';
import { statementName } from '../sources/statements.ts';
import { DEFAULT_CRS, parseCrs, type OutputCrs } from './crs.ts';
import { filterFromQuery } from './filter.ts';
import { countQuery, itemQuery, itemsQuery, type Page, type Query, type Selection } from './items-sql.ts';
import * as param from './params.ts';
import type { FeatureTable } from './table.ts';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;
const MAX_OFFSET = 1_000_000_000;

/** The query parameters /items defines (Part 1 core, Part 3 filtering, sortby, plus key= and numberMatched=). */
export const ITEMS_PARAMETERS = [
  'bbox',
  'bbox-crs',
  'crs',
  'limit',
  'offset',
  'cursor',
  'properties',
  'sortby',
  'datetime',
  'filter',
  'filter-lang',
  'filter-crs',
  'numberMatched',
  'f',
  'key',
];

export interface ItemsRequest {
  selection: Selection;
  page: Page;
  limit: number;
  /** Part 2: the CRS of the answer's coordinates (Content-Crs). */
  crs: OutputCrs;
  /** Count the matches (numberMatched=true); otherwise numberMatched is given only when it is known for free. */
  count: boolean;
}

/** Read and check every parameter of an items request against the layer; nothing touches the database. */
export function parseItemsRequest(table: FeatureTable, query: Record<string, unknown>): ItemsRequest {
  param.onlyKnown(query, ITEMS_PARAMETERS);
  const get = (name: string) => param.single(query, name);
  const f = get('f');
  if (f !== undefined && f !== 'json' && f !== 'geojson') throw badRequest('invalid_parameter', 'f: only json (GeoJSON) is offered');
  const crs = parseCrs('crs', get('crs'));
  const limitText = get('limit');
  // OGC: a limit above the maximum is not an error; the maximum is used.
  const limit = limitText === undefined ? DEFAULT_LIMIT : Math.min(MAX_LIMIT, param.integer('limit', limitText, 1, 2 ** 31));
  const offset = get('offset') === undefined ? 0 : param.integer('offset', get('offset')!, 0, MAX_OFFSET);
  const sortby = sortOrder(table, get('sortby'));
  const cursor = get('cursor');
  if (cursor !== undefined && (offset > 0 || sortby.length || !table.idSql))
    throw badRequest('invalid_parameter', 'cursor: only for pages in id order, without offset or sortby');
  const count = get('numberMatched');
  if (count !== undefined && count !== 'true' && count !== 'false') throw badRequest('invalid_parameter', 'numberMatched must be true or false');

  return {
    selection: parseSelection(table, query),
    page: { properties: parseProperties(table, query), sortby, after: cursor === undefined ? null : param.decodeCursor(cursor), offset, fetch: limit + 1, crs },
    limit,
    crs,
    count: count === 'true',
  };
}

/** `properties=a,b`: the exposed properties to return, in the given order; all by default. */
export function parseProperties(table: FeatureTable, query: Record<string, unknown>): string[] {
  const text = param.single(query, 'properties');
  return text === undefined ? table.propertyNames : param.names('properties', text, (n) => table.propertyNames.includes(n), 200);
}

/** What narrows the layer: bbox (in bbox-crs), datetime, filter. Shared by items and downloads. */
export function parseSelection(table: FeatureTable, query: Record<string, unknown>): Selection {
  const get = (name: string) => param.single(query, name);
  const datetimeText = get('datetime');
  if (datetimeText !== undefined && !table.info.timeColumn)
    throw badRequest('invalid_parameter', `datetime: layer "${table.id}" has no time column to filter on`);
  const bboxText = get('bbox');
  const bboxCrs = parseCrs('bbox-crs', get('bbox-crs'));
  return {
    bbox: bboxText === undefined ? null : bboxIn(bboxText, bboxCrs),
    bboxCrs: bboxCrs.uri === DEFAULT_CRS.uri ? null : bboxCrs,
    datetime: datetimeText === undefined ? null : param.datetime(datetimeText),
    filter: filterFromQuery(query)?.ast ?? null,
  };
}

/**
 * A bbox in its CRS's axis order (Part 2): CRS84 is lon,lat; EPSG:4326 and 4490 lat,lon; EPSG:4549 northing,
 * easting. Returned as west, south, east, north (or the projected equivalent).
 */
function bboxIn(text: string, crs: OutputCrs): [number, number, number, number] {
  if (crs.uri === DEFAULT_CRS.uri) return param.bbox(text);
  const parts = text.split(',');
  if (parts.length !== 4) throw badRequest('invalid_parameter', `bbox must be 4 numbers in ${crs.label}`);
  const n = parts.map((v, i) => param.number(`bbox value ${i + 1}`, v, -1e8, 1e8)) as [number, number, number, number];
  const [w, s, e, north] = crs.northFirst ? [n[1], n[0], n[3], n[2]] : n;
  if (s > north || w > e) throw badRequest('invalid_parameter', `bbox: the lower corner comes first, in the axis order of ${crs.label}${crs.northFirst ? ' (north, east)' : ''}`);
  if (crs.srid === 4549 && (w < 0 || e > 1_000_000 || s < 0 || north > 10_000_000))
    throw badRequest('invalid_parameter', `bbox: eastings of ${crs.label} lie between 0 and 1,000,000 m; give northing, easting, northing, easting`);
  if (crs.srid !== 4549 && (w < -180 || e > 180 || s < -90 || north > 90)) throw badRequest('invalid_parameter', 'bbox is outside -90,-180,90,180');
  return [w, s, e, north];
}

/** `sortby=name,-value` (OGC API - Features Part 8): queryable properties, + ascending (default), - descending. */
function sortOrder(table: FeatureTable, text: string | undefined): Page['sortby'] {
  if (text === undefined || text.trim() === '') return [];
  const keys = text.split(',').map((k) => k.trim());
  if (keys.length > 8) throw badRequest('invalid_parameter', 'sortby: at most 8 keys');
  return keys.map((k) => {
    const descending = k.startsWith('-');
    const name = k.replace(/^[+-]/, '');
    if (!table.queryable(name)) throw badRequest('invalid_parameter', `sortby: unknown property "${name.slice(0, 64)}"`);
    return { name, descending };
  });
}

export interface ItemsPage {
  /** The page's GeoJSON Features as JSON texts joined by commas, in order. */
  features: string;
  numberReturned: number;
  numberMatched: number | null;
  /** What the next link needs: the last id (keyset) or the next offset; null on the last page. */
  next: { cursor: string } | { offset: number } | null;
}

/** Run an items request: one query for the page, and a COUNT beside it when numberMatched was asked for. */
export async function fetchItems(table: FeatureTable, r: ItemsRequest, run: QueryRunner, signal?: AbortSignal): Promise<ItemsPage> {
  const page = itemsQuery(table, r.selection, r.page);
  const [rows, matched] = await Promise.all([
    execute(table, 'items', page, run, signal),
    r.count ? execute(table, 'count', countQuery(table, r.selection), run, signal).then((x) => Number(x[0]![0])) : null,
  ]);
  let features = (rows[0]![0] as string | null) ?? '';
  const fetched = rows[0]![1] as number;
  // One row more than the page was fetched to learn whether a next page exists; it is the last feature.
  const more = fetched > r.limit;
  if (more) features = features.slice(0, features.lastIndexOf(FEATURE_START));
  const numberReturned = Math.min(fetched, r.limit);
  let next: ItemsPage['next'] = null;
  if (more) {
    const keyset = r.page.sortby.length === 0 && table.idSql !== null;
    next = keyset ? { cursor: lastId(features) } : { offset: r.page.offset + r.limit };
  }
  // The first page holding everything tells the count for free.
  const free = !more && r.page.offset === 0 && r.page.after === null ? numberReturned : null;
  return { features, numberReturned, numberMatched: matched ?? free, next };
}

/** Where a feature begins in the joined text (featureJson: unescaped, it occurs nowhere else). */
const FEATURE_START = ',{"type":"Feature",';
const ID_START = '{"type":"Feature","id":';

/** The id of the last feature of a joined page (its cursor). */
function lastId(features: string): string {
  const at = features.lastIndexOf(ID_START) + ID_START.length;
  return /^-?\d+/.exec(features.slice(at, at + 24))![0];
}

/** One feature's GeoJSON text, or null. */
export async function fetchItem(table: FeatureTable, id: string, run: QueryRunner, signal?: AbortSignal, crs: OutputCrs = DEFAULT_CRS): Promise<string | null> {
  const rows = await execute(table, 'item', itemQuery(table, id, crs), run, signal);
  return (rows[0]?.[0] as string | undefined) ?? null;
}

async function execute(table: FeatureTable, kind: string, q: Query, run: QueryRunner, signal?: AbortSignal): Promise<unknown[][]> {
  try {
    return await run.prepared(statementName(`${kind}:${table.id}`, q.sql), q.sql, q.params, signal);
  } catch (err) {
    if ((err as { code?: string }).code === '57014' && !signal?.aborted)
      throw new HttpError(503, 'query_timeout', `the query on ${table.id} took too long: narrow it with bbox, filter or a smaller limit`).expose();
    throw err;
  }
}
