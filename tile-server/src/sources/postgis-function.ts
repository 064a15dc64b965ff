import pg from 'pg';
import type { QueryRunner } from '../db/query.ts';
import type { LayerDefinition } from '../registry/definition.ts';
import type { LonLatBox, TileCoord } from '../tiles/coords.ts';
import { qualifiedName } from '../registry/catalog.ts';
import { SourceResolveError } from './postgis-table.ts';
import { scopeParam } from './scope-sql.ts';
import { layerMeta, type Dependency, type FeatureFilter, type FieldType, type LayerMeta, type TileSource } from './source.ts';

/**
 * A SQL function `fn(z integer, x integer, y integer) RETURNS bytea` that makes the whole MVT itself (clusters,
 * aggregates, joins); a scoped layer's function is `fn(z, x, y, scopes text[])` and applies the scopes itself. It is cached only when its definition names the tables it reads (`dependsOn`); otherwise
 * the server cannot know when its output changes, and freshness wins over speed.
 */
export class PostgisFunctionSource implements TileSource {
  private constructor(
    readonly meta: LayerMeta,
    readonly dependencies: readonly Dependency[],
    private readonly statement: string,
    private readonly tileSql: string,
  ) {}

  get cacheable(): boolean {
    return this.dependencies.length > 0;
  }

  static async resolve(def: LayerDefinition, run: QueryRunner): Promise<PostgisFunctionSource> {
    if (def.source.type !== 'function') throw new SourceResolveError(`${def.id}: not a function source`);
    const qualified = `${pg.escapeIdentifier(def.source.schema)}.${pg.escapeIdentifier(def.source.function)}`;
    const args = def.scope ? '(integer, integer, integer, text[])' : '(integer, integer, integer)';
    const rows = await run.query<{ ok: boolean | null }>(
      `SELECT (SELECT prorettype = 'bytea'::regtype FROM pg_proc WHERE oid = to_regprocedure($1)) AS ok`,
      [`${qualified}${args}`],
    );
    if (!rows[0]?.ok) throw new SourceResolveError(`${def.id}: function ${qualified}${args} returning bytea not found`);
    const dependencies: Dependency[] = [];
    for (const t of def.source.dependsOn) {
      const [schema, table] = t.split('.') as [string, string];
      const name = await qualifiedName(run, `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`);
      if (!name) throw new SourceResolveError(`${def.id}: dependsOn table ${t} does not exist`);
      dependencies.push({ table: name, precision: 'all' });
    }
    const fields: Record<string, FieldType> = Object.fromEntries(Object.keys(def.properties).map((k) => [k, 'String' as const]));
    const meta = layerMeta(def, 'GEOMETRY', fields, 'registry');
    const sql = def.scope ? `SELECT ${qualified}($1::int, $2::int, $3::int, $4::text[])` : `SELECT ${qualified}($1::int, $2::int, $3::int)`;
    return new PostgisFunctionSource(meta, dependencies, `tile:${def.id.slice(0, 40)}`, sql);
  }

  async getTile({ z, x, y }: TileCoord, run: QueryRunner, signal?: AbortSignal, _filter?: FeatureFilter, scopes?: readonly string[] | null): Promise<Buffer> {
    const rows = await run.prepared(this.statement, this.tileSql, this.meta.scope ? [z, x, y, scopeParam(scopes)] : [z, x, y], signal);
    return (rows[0]?.[0] as Buffer | null) ?? Buffer.alloc(0);
  }

  /** A function has no extent of its own: TileJSON then advertises the whole world. */
  async bounds(): Promise<LonLatBox | null> {
    return null;
  }
}
