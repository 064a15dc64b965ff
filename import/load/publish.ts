import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { ident } from '../db.ts';
import { ImportError } from '../errors.ts';
import { familyOf, type Family, type GeometryType } from '../geometry/types.ts';
import type { ResolvedOptions } from '../options.ts';
import { checkLayerId, composeDefinition, saveDefinition, storedDefinition } from './definition.ts';
import type { StageResult } from './stage.ts';
import * as sql from './sql.ts';

/**
 * Staging table → layer table(s), inside the import's transaction:
 *  1. invalid geometries are repaired once, into a small side table (ST_MakeValid after the transform);
 *  2. replace: a new table is built beside the old one (INSERT … SELECT with ST_Transform and the casts),
 *     indexed, and swapped in (DROP old, RENAME new) — readers see the old layer until COMMIT, then the new one;
 *     append: the rows go into the existing table, new columns are added;
 *  3. the definition is stored, the change triggers attached, and the tile caches and registry notified.
 */
export interface PartResult {
  layer: string;
  table: string;
  imported: number;
  geometryType: string;
  bbox: [number, number, number, number] | null;
  inside: number;
  outside: number;
}

export interface PublishResult {
  parts: PartResult[];
  repaired: number;
  /** Rows whose geometry became empty when repaired. */
  emptied: number[];
}

const MULTI: Record<Family, string> = { point: 'MultiPoint', line: 'MultiLineString', polygon: 'MultiPolygon', collection: 'GeometryCollection' };
const SINGLE: Record<Family, string> = { point: 'Point', line: 'LineString', polygon: 'Polygon', collection: 'GeometryCollection' };
const TYPE_NAMES: Record<Family, string[]> = {
  point: ['POINT', 'MULTIPOINT'],
  line: ['LINESTRING', 'MULTILINESTRING'],
  polygon: ['POLYGON', 'MULTIPOLYGON'],
  collection: ['GEOMETRYCOLLECTION'],
};
const SUFFIX: Record<Family, string> = { point: 'points', line: 'lines', polygon: 'polygons', collection: 'collections' };

export async function publish(client: pg.PoolClient, staged: StageResult, opts: ResolvedOptions & { layer: string }, fileName: string): Promise<PublishResult> {
  const wgs = sql.wgs84(staged.srs.srid, staged.srs.offset !== null);
  const types = new Set<string>([...staged.types].map((t) => t.toUpperCase()));
  let repaired = 0;
  let emptied: number[] = [];
  const needsRepair = [...staged.types].some((t) => familyOf(t) !== 'point');
  if (needsRepair) {
    await client.query(sql.repairSql(wgs));
    const { rows } = await client.query<{ repaired: number; emptied: number[]; types: string[] }>(sql.REPAIRED_STATS_SQL);
    repaired = rows[0]!.repaired;
    emptied = rows[0]!.emptied;
    for (const t of rows[0]!.types) types.add(t);
  }
  const families = new Set([...types].map((t) => familyOf(geometryTypeOf(t))));
  const groups: Array<{ id: string; families: Family[]; suffix?: string }> =
    (opts.geometry ?? (opts.mode === 'replace' ? 'split' : 'mixed')) === 'split' && families.size > 1
      ? [...families].map((f) => ({ id: `${opts.layer}_${SUFFIX[f]}`.slice(0, 63), families: [f], suffix: ` (${SUFFIX[f]})` }))
      : [{ id: opts.layer, families: [...families] }];

  const parts: PartResult[] = [];
  for (const g of groups) {
    const ofGroup = [...types].filter((t) => g.families.includes(familyOf(geometryTypeOf(t))));
    const where = groups.length > 1 ? `GeometryType(${needsRepair ? 'coalesce(r.geom, s.geom)' : 's.geom'}) IN (${g.families.flatMap((f) => TYPE_NAMES[f]).map((t) => `'${t}'`).join(', ')})` : undefined;
    parts.push(await publishPart(client, staged, opts, { id: g.id, typeNames: ofGroup, where, repaired: needsRepair, wgs, fileName, titleSuffix: g.suffix }));
  }
  return { parts, repaired, emptied };
}

interface PartPlan {
  id: string;
  typeNames: string[];
  where: string | undefined;
  repaired: boolean;
  wgs: string;
  fileName: string;
  titleSuffix?: string | undefined;
}

async function publishPart(client: pg.PoolClient, staged: StageResult, opts: ResolvedOptions, p: PartPlan): Promise<PartResult> {
  const existing = await storedDefinition(client, p.id);
  // The layer's own id was checked before reading; the parts of a split get ids of their own.
  if (p.id !== opts.layer) await checkLayerId(client, p.id, opts, existing);
  const target = opts.mode === 'append' ? await sql.describeTable(client, p.id) : null;
  const fams = new Set(p.typeNames.map((t) => familyOf(geometryTypeOf(t))));
  const single = fams.size === 1 ? [...fams][0]! : null;
  let geometryType = single ? (p.typeNames.some((t) => t.startsWith('MULTI')) ? MULTI[single] : SINGLE[single]) : 'Geometry';
  let z = staged.hasZ;
  if (target) {
    // Append: the layer's column type rules; Multi* takes singles, GEOMETRY takes anything.
    const have = target.geometryType.toUpperCase();
    const fits = have === 'GEOMETRY' || (single !== null && TYPE_NAMES[single].includes(have) && (have.startsWith('MULTI') || !geometryType.toUpperCase().startsWith('MULTI')));
    if (!fits) throw new ImportError(`layer "${p.id}" holds ${have} geometries; this file has ${p.typeNames.join(', ')}: use --mode replace`, 'conflict');
    geometryType = have === 'GEOMETRY' ? 'Geometry' : target.geometryType;
    z = target.z;
  }
  const multi = /^MULTI/i.test(geometryType);
  const params: unknown[] = [];
  const columns = staged.columns.map((c, i) => {
    const type: string = target?.columns.get(c.name) ?? c.type;
    return { name: c.name, type, source: c.source, expr: sql.valueExpr(c, i, staged.jsonMode, type, params), added: target ? !target.columns.has(c.name) : false };
  });
  const geometry = sql.storedGeometry(p.wgs, { repaired: p.repaired, multi, z });
  const typmod = `${geometryType}${z ? 'Z' : ''}`;

  let table: string;
  let fidOffset = 0;
  let imported: number;
  if (!target) {
    let tmp: string;
    if (staged.direct) {
      // The rows went straight into the new table while reading (stage.ts): only the indexes and the swap remain.
      tmp = staged.direct;
      imported = staged.staged;
    } else {
      tmp = `_new_${randomBytes(6).toString('hex')}`;
      await client.query(sql.createTableSql(sql.qualified(tmp), typmod, columns));
      imported = (await client.query(sql.insertSql({ table: sql.qualified(tmp), columns, geometry, fidOffset: 0, repaired: p.repaired, where: p.where }), params)).rowCount ?? 0;
    }
    for (const statement of sql.indexSql(tmp)) await client.query(statement);
    for (const statement of sql.swapSql(tmp, p.id)) await client.query(statement);
    table = sql.qualified(p.id);
  } else {
    table = sql.qualified(p.id);
    for (const c of columns.filter((c) => c.added)) await client.query(`ALTER TABLE ${table} ADD COLUMN ${ident(c.name)} ${c.type}`);
    fidOffset = (await client.query<{ max: number }>(`SELECT coalesce(max(fid), 0)::int AS max FROM ${table}`)).rows[0]!.max;
    try {
      imported = (await client.query(sql.insertSql({ table, columns, geometry, fidOffset, repaired: p.repaired, where: p.where }), params)).rowCount ?? 0;
    } catch (err) {
      const e = err as { code?: string; message: string };
      if (e.code?.startsWith('22')) throw new ImportError(`the file's values do not fit layer "${p.id}"'s columns (${e.message}); use --mode replace`, 'conflict');
      throw err;
    }
  }
  await client.query(sql.WATCH_SQL, [`${ident(sql.IMPORT_SCHEMA)}.${ident(p.id)}`]);
  const stats = await partStats(client, staged, p, table, fidOffset, imported);
  const def = composeDefinition(p.id, existing, opts, {
    geometryType: typmod,
    fileName: p.fileName,
    titleSuffix: p.titleSuffix,
    columns: new Set(['fid', ...(target ? target.columns.keys() : []), ...columns.map((c) => c.name)]),
  });
  await saveDefinition(client, def);
  await client.query(sql.NOTIFY_TILES_SQL, [sql.IMPORT_SCHEMA, p.id]);
  await client.query(sql.NOTIFY_CATALOG_SQL, [p.id]);
  return {
    layer: p.id,
    table: `${sql.IMPORT_SCHEMA}.${p.id}`,
    imported,
    geometryType: typmod.toUpperCase(),
    bbox: stats.bbox,
    inside: stats.inside,
    outside: stats.outside,
  };
}

/**
 * Extent and Huai'an counts of the rows just written. When PostGIS changed no geometry (WGS84 in, nothing
 * repaired or fixed), the figures gathered while staging are exact and a scan of the new rows is saved.
 */
async function partStats(client: pg.PoolClient, staged: StageResult, p: PartPlan, table: string, fidOffset: number, imported: number) {
  const families = p.typeNames.map((t) => familyOf(geometryTypeOf(t)));
  const extents = [...new Set(families)].map((f) => staged.extents.get(f)).filter((e) => e !== undefined);
  if (p.wgs === 's.geom' && !p.repaired && staged.fixed === 0 && extents.reduce((n, e) => n + e.count, 0) === imported) {
    const bbox = extents.reduce<[number, number, number, number]>(
      (b, e) => [Math.min(b[0], e.bbox[0]), Math.min(b[1], e.bbox[1]), Math.max(b[2], e.bbox[2]), Math.max(b[3], e.bbox[3])],
      [Infinity, Infinity, -Infinity, -Infinity],
    );
    return { bbox: imported ? bbox : null, inside: extents.reduce((n, e) => n + e.inside, 0), outside: extents.reduce((n, e) => n + e.outside, 0) };
  }
  type Stats = { inside: number; outside: number; xmin: number | null; ymin: number; xmax: number; ymax: number };
  const s = (await client.query<Stats>(sql.layerStatsSql(table), [fidOffset])).rows[0]!;
  return { bbox: s.xmin === null ? null : ([s.xmin, s.ymin, s.xmax, s.ymax] as [number, number, number, number]), inside: s.inside, outside: s.outside };
}

function geometryTypeOf(name: string): GeometryType {
  const t: Record<string, GeometryType> = {
    POINT: 'Point',
    MULTIPOINT: 'MultiPoint',
    LINESTRING: 'LineString',
    MULTILINESTRING: 'MultiLineString',
    POLYGON: 'Polygon',
    MULTIPOLYGON: 'MultiPolygon',
    GEOMETRYCOLLECTION: 'GeometryCollection',
  };
  return t[name.toUpperCase()] ?? 'GeometryCollection';
}
