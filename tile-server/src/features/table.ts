import pg from 'pg';
import type { PostgisTableSource } from '../sources/postgis-table.ts';
import type { LayerMeta } from '../sources/source.ts';
import { scopeCondition } from '../sources/scope-sql.ts';
import type { TableColumn, TableInfo } from '../sources/table-info.ts';
import type { FilterTarget, Queryable, ValueType } from './cql2/compile.ts';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;

/** The value type of a column, or null when filters cannot use it (json, arrays, uuid, …). */
export function valueTypeOf(c: Pick<TableColumn, 'type' | 'category'>): ValueType | null {
  if (['int2', 'int4', 'int8'].includes(c.type)) return 'integer';
  if (c.category === 'N') return 'number';
  if (c.type === 'bool') return 'boolean';
  if (c.type === 'date') return 'date';
  if (c.type === 'timestamp' || c.type === 'timestamptz') return 'timestamp';
  if (c.category === 'S') return 'string';
  return null;
}

/**
 * A table layer as the features API sees it: its queryables and the SQL pieces every features query is made
 * of, derived once from what the registry resolved (TableInfo). The table alias is always `t`; identifiers come
 * from TableInfo only and are quoted here.
 */
export class FeatureTable implements FilterTarget {
  readonly id: string;
  readonly meta: LayerMeta;
  readonly info: TableInfo;
  /** `schema.table`, quoted. */
  readonly from: string;
  /** The feature geometry in WGS84 (tagged first when the column declares no SRID). */
  readonly geometry: string;
  /** The id column, quoted with the alias, or null. */
  readonly idSql: string | null;
  private readonly queryables = new Map<string, Queryable & { title: string; column: string }>();
  /**
   * The scopes this view of the layer is limited to (FeatureLayers makes one per principal of a scoped layer),
   * or null. Every features query adds `scopeSql` with them as a parameter.
   */
  readonly scopes: readonly string[] | null = null;

  constructor(readonly source: PostgisTableSource) {
    const info = source.info;
    this.id = source.meta.id;
    this.meta = source.meta;
    this.info = info;
    this.from = `${ident(info.schema)}.${ident(info.table)}`;
    const geom = `t.${ident(info.geometryColumn)}`;
    const tagged = info.sridZero ? `(CASE WHEN ST_SRID(${geom}) = 0 THEN ST_SetSRID(${geom}, ${info.srid}) ELSE ${geom} END)` : geom;
    this.geometry = info.srid === 4326 && !info.sridZero ? geom : `ST_Transform(${tagged}, 4326)`;
    this.idSql = info.idColumn ? `t.${ident(info.idColumn)}` : null;
    for (const c of info.columns) {
      const type = valueTypeOf(c);
      if (type) this.queryables.set(c.name, { sql: `t.${ident(c.name)}`, type, pgType: c.type, title: this.meta.properties[c.name]?.label.zh ?? c.name, column: c.name });
    }
    // The id is worth filtering on (id IN (…)) even where it is not an exposed property.
    if (info.idColumn && !this.queryables.has(info.idColumn))
      this.queryables.set(info.idColumn, { sql: this.idSql!, type: 'integer', pgType: 'int8', title: 'id', column: info.idColumn });
  }

  /** This layer limited to a principal's scopes: the same table with `scopes` set (no copy of its state). */
  limitedTo(scopes: readonly string[] | null): FeatureTable {
    if (!scopes || !this.meta.scope) return this;
    return Object.create(this, { scopes: { value: scopes, enumerable: true } }) as FeatureTable;
  }

  /** The scope condition over alias t with `ref` as the text[] parameter, or null when not limited. */
  scopeSql(ref: string): string | null {
    if (!this.scopes || !this.meta.scope) return null;
    return scopeCondition(this.meta.scope, ref, { column: this.info.geometryColumn, srid: this.info.srid, sridZero: this.info.sridZero });
  }

  queryable(name: string): Queryable | undefined {
    return this.queryables.get(name);
  }

  isGeometry(name: string): boolean {
    return name === 'geometry' || name === this.info.geometryColumn;
  }

  /** Queryables with their types, for /queryables (JSON Schema). */
  listQueryables(): Array<{ name: string; type: ValueType; title: string }> {
    return [...this.queryables.entries()].map(([name, q]) => ({ name, type: q.type, title: q.title }));
  }

  /** Names of the exposed properties, in display order. */
  get propertyNames(): string[] {
    return this.info.columns.map((c) => c.name);
  }

  /** WGS84 data in a typed column: exact predicates on `geometry` use the GiST index by themselves. */
  get exactIsIndexed(): boolean {
    return this.info.srid === 4326 && !this.info.sridZero;
  }

  /**
   * `t.geom && …` covering a WGS84 geometry, in the layer's SRID so the GiST index is used: the geometry is
   * clipped to where the SRID is valid, densified (edges straight in degrees bend in a projection), transformed,
   * and its box widened by a metre.
   */
  boxCondition(wgs84: string): string {
    const { srid, sridZero, validArea, geographic, geometryColumn } = this.info;
    if (srid === 4326 && !sridZero) return `t.${ident(geometryColumn)} && ${wgs84}`;
    const [w, s, e, n] = validArea;
    const clipped = `ST_ClipByBox2D(ST_Envelope(${wgs84}), ST_MakeEnvelope(${w}, ${s}, ${e}, ${n}, 4326)::box2d)`;
    const inSrid = srid === 4326 ? clipped : `ST_Transform(ST_Segmentize(${clipped}, 0.1), ${srid})`;
    return `t.${ident(geometryColumn)} && ST_Expand(ST_Envelope(${inSrid}), ${geographic ? 1e-5 : 1})`;
  }

  /** Features intersecting a WGS84 geometry: the index condition, then the exact test in WGS84. */
  intersects(wgs84: string): string {
    const exact = `ST_Intersects(${this.geometry}, ${wgs84})`;
    return this.exactIsIndexed ? exact : `${this.boxCondition(wgs84)} AND ${exact}`;
  }

  /** Features within a distance in metres (a bind parameter) of a WGS84 geometry, on the spheroid. */
  withinMetres(wgs84: string, metres: string): string {
    return `${this.boxCondition(widenByMetres(wgs84, metres))} AND ST_DWithin(${this.geometry}::geography, ${wgs84}::geography, ${metres})`;
  }

  /**
   * One GeoJSON Feature as JSON text, made in SQL by one concat() of literal pieces and values (measured cheaper
   * than json_build_object or ST_AsGeoJSON(record)): integers and booleans are their text, other values
   * to_json's. Keys are JSON-encoded here and SQL-quoted, so any column name is safe. `,{"type":"Feature",` can
   * only occur between features (inside a JSON string its quotes would be escaped): items.ts relies on it.
   */
  featureJson(properties: readonly string[], geometry = this.geometry, digits = 9): string {
    const types = new Map(this.info.columns.map((c) => [c.name, c.type]));
    const pieces: string[] = [
      this.idSql ? `'{"type":"Feature","id":'` : `'{"type":"Feature"'`,
      ...(this.idSql ? [this.idSql] : []),
      // Options 0: no "crs" member (RFC 7946); WGS84 unless Part 2's crs= asked for another (Content-Crs says which).
      `',"geometry":'`,
      `coalesce(ST_AsGeoJSON(${geometry}, ${digits}, 0), 'null')`,
    ];
    properties.forEach((name, i) => {
      const column = `t.${ident(name)}`;
      const plain = ['int2', 'int4', 'int8', 'bool'].includes(types.get(name) ?? '');
      pieces.push(literal(`${i ? ',' : ',"properties":{'}${JSON.stringify(name)}:`));
      pieces.push(`coalesce(${plain ? `${column}::text` : `to_json(${column})::text`}, 'null')`);
    });
    pieces.push(properties.length ? `'}}'` : `',"properties":{}}'`);
    return concat(pieces);
  }

  /** A stable order for paging: the id, else the row's place in a table, else every exposed column. */
  get orderKeys(): string[] {
    if (this.idSql) return [this.idSql];
    if (this.info.kind === 'table') return ['t.ctid'];
    const columns = this.info.columns.map((c) => `t.${ident(c.name)}`);
    return columns.length ? columns : [`ST_AsBinary(t.${ident(this.info.geometryColumn)})`];
  }
}

/** A WGS84 geometry's box widened by a distance in metres (generously: a degree of latitude is ≥ 110.5 km). */
export function widenByMetres(wgs84: string, metres: string): string {
  const dLat = `(${metres} / 110000.0)`;
  const dLon = `(${metres} / (111000.0 * cos(radians(least(89.0, greatest(abs(ST_YMin(${wgs84})), abs(ST_YMax(${wgs84}))) + ${dLat})))))`;
  return `ST_Expand(${wgs84}, ${dLon}, ${dLat})`;
}

/** concat() of any number of pieces (a function takes at most 100 arguments). */
function concat(pieces: readonly string[]): string {
  if (pieces.length <= 100) return `concat(${pieces.join(', ')})`;
  const groups: string[] = [];
  for (let i = 0; i < pieces.length; i += 100) groups.push(concat(pieces.slice(i, i + 100)));
  return concat(groups);
}
