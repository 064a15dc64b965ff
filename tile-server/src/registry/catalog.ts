import type { QueryRunner } from '../db/query.ts';
import type { FieldType } from '../sources/source.ts';

/** The catalog queries of the registry, in one place. Every name arrives as a bind parameter. */

export interface ColumnInfo {
  name: string;
  type: string; // pg_type.typname
  category: string; // pg_type.typcategory: N numeric, B boolean, S string, ...
}

export interface RelationInfo {
  kind: 'table' | 'view' | 'materialized view' | 'foreign table';
  columns: ColumnInfo[];
}

const RELATION_SQL = `
SELECT c.relkind AS kind, a.attname AS name, t.typname AS type, t.typcategory AS category
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY a.attnum`;

const kinds: Record<string, RelationInfo['kind']> = { r: 'table', p: 'table', v: 'view', m: 'materialized view', f: 'foreign table' };

export async function describeRelation(run: QueryRunner, schema: string, table: string): Promise<RelationInfo | null> {
  const rows = await run.query<{ kind: string; name: string; type: string; category: string }>(RELATION_SQL, [schema, table]);
  if (rows.length === 0) return null;
  return { kind: kinds[rows[0]!.kind]!, columns: rows.map(({ name, type, category }) => ({ name, type, category })) };
}

/** Declared SRID and type of a geometry column (0 and GEOMETRY when the column has no type modifier). */
export async function geometryColumn(
  run: QueryRunner,
  schema: string,
  table: string,
  column: string,
): Promise<{ srid: number; type: string } | null> {
  const rows = await run.query<{ srid: number; type: string }>(
    `SELECT srid, type FROM geometry_columns WHERE f_table_schema = $1 AND f_table_name = $2 AND f_geometry_column = $3`,
    [schema, table, column],
  );
  return rows[0] ?? null;
}

/**
 * What the data says when the column does not: the SRID of a stored value, and the geometry type when all
 * sampled values share one. Names are quoted with format('%I'), never concatenated in JavaScript.
 */
export async function sampleGeometry(
  run: QueryRunner,
  schema: string,
  table: string,
  column: string,
): Promise<{ srid: number | null; type: string }> {
  const rows = await run.query<{ srid: number | null; types: string[] | null }>(
    `SELECT (citybase.sample_geometry($1, $2, $3)).*`,
    [schema, table, column],
  );
  const r = rows[0];
  const types = r?.types ?? [];
  return { srid: r?.srid ?? null, type: types.length === 1 ? types[0]! : 'GEOMETRY' };
}

export async function isGeographic(run: QueryRunner, srid: number): Promise<boolean> {
  const rows = await run.query<{ geographic: boolean }>(
    `SELECT proj4text LIKE '%+proj=longlat%' OR srtext LIKE 'GEOGCS%' AS geographic FROM spatial_ref_sys WHERE srid = $1`,
    [srid],
  );
  return rows[0]?.geographic ?? false;
}

/** Tables a view or materialized view reads, through any depth of nested views. */
export async function baseTables(run: QueryRunner, schema: string, table: string): Promise<string[]> {
  const rows = await run.query<{ name: string }>(
    `WITH RECURSIVE deps(oid) AS (
       SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2
       UNION
       SELECT d.refobjid
       FROM deps
       JOIN pg_rewrite r ON r.ev_class = deps.oid
       JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                       AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> deps.oid
     )
     SELECT format('%I.%I', n.nspname, c.relname) AS name
     FROM deps JOIN pg_class c ON c.oid = deps.oid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p')
     ORDER BY 1`,
    [schema, table],
  );
  return rows.map((r) => r.name);
}

/** The single-column integer primary key of a table, if it has one. */
export async function integerPrimaryKey(run: QueryRunner, schema: string, table: string): Promise<string | null> {
  const rows = await run.query<{ name: string }>(
    `SELECT a.attname AS name
     FROM pg_index i
     JOIN pg_class c ON c.oid = i.indrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
     WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary AND i.indnatts = 1
       AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)`,
    [schema, table],
  );
  return rows[0]?.name ?? null;
}

/** Relations with a geometry column in schema contrib, and a fingerprint of each that changes with its shape. */
export async function contribRelations(run: QueryRunner): Promise<Array<{ table: string; geometryColumn: string; fingerprint: string }>> {
  return run.query(
    `SELECT g.f_table_name AS "table",
            min(g.f_geometry_column) AS "geometryColumn",
            md5(string_agg(g.f_geometry_column || ':' || g.srid || ':' || g.type, ',' ORDER BY g.f_geometry_column)
                || (SELECT string_agg(a.attname || ':' || a.atttypid, ',' ORDER BY a.attnum)
                    FROM pg_attribute a WHERE a.attrelid = format('%I.%I', 'contrib', g.f_table_name)::regclass
                      AND a.attnum > 0 AND NOT a.attisdropped)) AS fingerprint
     FROM geometry_columns g
     WHERE g.f_table_schema = 'contrib'
     GROUP BY g.f_table_name
     ORDER BY g.f_table_name`,
  );
}

/** MVT value type for a column, and the cast that makes its value encodable (numeric → float, others → text). */
export function fieldOf(c: ColumnInfo): { type: FieldType; cast: string } {
  if (['int2', 'int4', 'int8', 'float4', 'float8'].includes(c.type)) return { type: 'Number', cast: '' };
  if (c.category === 'N') return { type: 'Number', cast: '::float8' };
  if (c.type === 'bool') return { type: 'Boolean', cast: '' };
  if (c.type === 'text' || c.type === 'varchar') return { type: 'String', cast: '' };
  return { type: 'String', cast: '::text' };
}

/**
 * A relation's name exactly as the change triggers and event triggers write it (format('%I.%I')), so
 * notifications can be matched to layers by plain string comparison. Null when it does not exist.
 */
export async function qualifiedName(run: QueryRunner, name: string): Promise<string | null> {
  const rows = await run.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
    [name],
  );
  return rows[0]?.name ?? null;
}
