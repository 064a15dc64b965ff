import pg from 'pg';
import type { QueryRunner } from '../db/query.ts';
import type { LayerDefinition } from '../registry/definition.ts';
import * as catalog from '../registry/catalog.ts';
import type { LonLatBox, TileCoord } from '../tiles/coords.ts';
import { layerMeta, type Dependency, type FeatureFilter, type FieldType, type LayerMeta, type TileSource } from './source.ts';
import { statementName } from './statements.ts';
import { TEMPORAL_TYPES, proj4Of, validAreaOf, type TableInfo } from './table-info.ts';
import { buildBoundsSql, buildTableTileSql, type TableSqlSpec } from './table-sql.ts';
import { scopeParam } from './scope-sql.ts';

export class SourceResolveError extends Error {}

export interface TileOptions {
  extent: number;
  buffer: number;
}

/**
 * A table, view or materialized view. Resolved once against the catalog: columns checked, SRID settled, tile
 * SQL built; afterwards every tile is one execution of the same prepared statement.
 */
export class PostgisTableSource implements TileSource {
  private constructor(
    readonly meta: LayerMeta,
    readonly dependencies: readonly Dependency[],
    readonly cacheable: boolean,
    /** The SRID was assumed because an untyped column held no value yet: resolve again once data arrives. */
    readonly provisional: boolean,
    private readonly statement: string,
    private readonly tileSql: string,
    private readonly boundsSql: { estimated: string; exact: string; useEstimate: boolean },
    /** What the features API reads and filters (routes/ogc.ts, features/). */
    readonly info: TableInfo,
    private readonly spec: TableSqlSpec,
  ) {}

  static async resolve(
    def: LayerDefinition,
    run: QueryRunner,
    opts: TileOptions,
    origin: LayerMeta['origin'] = 'registry',
  ): Promise<PostgisTableSource> {
    if (def.source.type !== 'table') throw new SourceResolveError(`${def.id}: not a table source`);
    const { schema, table } = def.source;
    const where = `${def.id}: ${schema}.${table}`;
    const rel = await catalog.describeRelation(run, schema, table);
    if (!rel) throw new SourceResolveError(`${where} does not exist`);
    const byName = new Map(rel.columns.map((c) => [c.name, c]));
    const geomCol = byName.get(def.geometryColumn);
    if (!geomCol || geomCol.type !== 'geometry')
      throw new SourceResolveError(`${where}: geometry column "${def.geometryColumn}" not found`);

    const declared = await catalog.geometryColumn(run, schema, table, def.geometryColumn);
    let srid = def.srid ?? declared?.srid ?? 0;
    let geometryType = declared?.type ?? 'GEOMETRY';
    let sridZero = false;
    let provisional = false;
    if (srid === 0 || geometryType === 'GEOMETRY') {
      const sample = await catalog.sampleGeometry(run, schema, table, def.geometryColumn);
      if (geometryType === 'GEOMETRY') geometryType = sample.type;
      if (srid === 0) {
        // The pg_tileserv complaint: an untyped column. Use the SRID the values carry, else assume WGS84.
        srid = sample.srid && sample.srid > 0 ? sample.srid : 4326;
        sridZero = true;
        provisional = sample.srid === null;
      }
    }
    const geographic = await catalog.isGeographic(run, srid);

    let idColumn = def.idColumn;
    if (idColumn) {
      const c = byName.get(idColumn);
      if (!c || !['int2', 'int4', 'int8'].includes(c.type))
        throw new SourceResolveError(`${where}: id column "${idColumn}" must be an integer column`);
    }

    const timeColumn = def.timeColumn ?? null;
    if (timeColumn && !TEMPORAL_TYPES.includes(byName.get(timeColumn)?.type ?? ''))
      throw new SourceResolveError(`${where}: time column "${timeColumn}" must be a date or timestamp column`);

    const fields: Record<string, FieldType> = {};
    const properties: Array<{ name: string; cast: string }> = [];
    const columns: catalog.ColumnInfo[] = [];
    const exposed = Object.keys(def.properties).length ? Object.keys(def.properties) : defaultProperties(rel.columns, def);
    for (const name of exposed) {
      const c = byName.get(name);
      if (!c) throw new SourceResolveError(`${where}: property "${name}" is not a column`);
      const f = catalog.fieldOf(c);
      fields[name] = f.type;
      properties.push({ name, cast: f.cast });
      columns.push(c);
    }

    const self = (await catalog.qualifiedName(run, `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`))!;
    const dependencies: Dependency[] =
      rel.kind === 'table'
        ? [{ table: self, precision: 'bbox', geometryColumn: def.geometryColumn, srid }]
        : rel.kind === 'view'
          ? (await catalog.baseTables(run, schema, table)).map((t) => ({ table: t, precision: 'all' as const }))
          : // A materialized view changes only on REFRESH, which the event trigger reports as the view itself.
            [{ table: self, precision: 'all' as const }];
    const cacheable = rel.kind !== 'foreign table' && dependencies.length > 0;

    const spec: TableSqlSpec = {
      layerId: def.id,
      schema,
      table,
      geometryColumn: def.geometryColumn,
      srid,
      sridZero,
      geographic,
      idColumn,
      orderBy: rel.kind === 'table' ? 't.ctid' : exposedOrder(properties.length),
      properties,
      simplify: def.simplify,
      isPoint: /POINT$/.test(geometryType),
      extent: opts.extent,
      buffer: opts.buffer,
      maxFeatures: def.maxFeatures,
      scope: def.scope,
    };
    if (def.scope && def.scope !== 'area') {
      const c = byName.get(def.scope.column);
      if (!c) throw new SourceResolveError(`${where}: scope column "${def.scope.column}" is not a column`);
    }
    const meta = layerMeta(def, geometryType, fields, origin);
    const bounds = buildBoundsSql(spec);
    // Statement names are per connection; the id keeps them apart, the fingerprint of the text makes a changed
    // definition (a contrib table altered) a new statement rather than a clash with the old one.
    const tileSql = buildTableTileSql(spec);
    const statement = `tile:${def.id.slice(0, 40)}:${hash(tileSql)}`;
    const info: TableInfo = {
      schema,
      table,
      kind: rel.kind,
      geometryColumn: def.geometryColumn,
      srid,
      sridZero,
      geographic,
      geometryType,
      // Features need an id for /items/{id} and keyset paging; auto-published tables have their primary key.
      idColumn: idColumn ?? (rel.kind === 'table' ? await catalog.integerPrimaryKey(run, schema, table) : null),
      columns: columns.map(({ name, type, category }) => ({ name, type, category })),
      timeColumn,
      validArea: validAreaOf(await proj4Of(run, srid), geographic),
    };
    return new PostgisTableSource(
      meta,
      dependencies,
      cacheable,
      provisional,
      statement,
      tileSql,
      { ...bounds, useEstimate: rel.kind === 'table' || rel.kind === 'materialized view' },
      info,
      spec,
    );
  }

  /**
   * The tile, optionally with only the features a filter keeps: its condition is appended to the layer's WHERE
   * with parameters from $4 on. Filtered texts are prepared under a name derived from the text (bounded, see
   * statements.ts), so a filter used by a map is parsed once per connection like the plain tile query.
   */
  async getTile({ z, x, y }: TileCoord, run: QueryRunner, signal?: AbortSignal, filter?: FeatureFilter, scopes?: readonly string[] | null): Promise<Buffer> {
    let rows: unknown[][];
    const head: unknown[] = this.spec.scope ? [z, x, y, scopeParam(scopes)] : [z, x, y];
    if (!filter) rows = await run.prepared(this.statement, this.tileSql, head, signal);
    else {
      const sql = buildTableTileSql(this.spec, filter.sql);
      rows = await run.prepared(statementName(`tilef:${this.meta.id}`, sql), sql, [...head, ...filter.params], signal);
    }
    return (rows[0]?.[0] as Buffer | null) ?? Buffer.alloc(0);
  }

  async bounds(run: QueryRunner): Promise<LonLatBox | null> {
    type Row = { w: number | null; s: number | null; e: number | null; n: number | null };
    let row: Row | undefined;
    if (this.boundsSql.useEstimate) {
      // Without statistics ST_EstimatedExtent answers NULL (or raises on old PostGIS): fall back to the exact one.
      row = (await run.query<Row>(this.boundsSql.estimated).catch(() => []))[0];
    }
    if (!row || row.w === null) row = (await run.query<Row>(this.boundsSql.exact))[0];
    if (!row || row.w === null || row.s === null || row.e === null || row.n === null) return null;
    return [row.w, row.s, row.e, row.n];
  }

  /** The first parameter number a tile filter may use: after z, x, y and (scoped layers) the scopes. */
  get firstFilterParam(): number {
    return this.spec.scope ? 5 : 4;
  }

  /** The prepared SQL, for tests and the benchmark's raw-SQL reference. */
  get sql(): string {
    return this.tileSql;
  }
}

/** With no properties listed (auto-published tables), every column but the geometry columns is exposed. */
function defaultProperties(columns: catalog.ColumnInfo[], def: LayerDefinition): string[] {
  return columns.filter((c) => c.name !== def.geometryColumn && c.type !== 'geometry' && c.type !== 'geography').map((c) => c.name);
}

/** Views have no ctid: order by every output column (positions), which is total for distinct rows. */
function exposedOrder(propertyCount: number): string {
  const positions = Array.from({ length: propertyCount + 1 }, (_, i) => String(i + 1));
  return positions.join(', ');
}

function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(36);
}
