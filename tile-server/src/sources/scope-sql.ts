import pg from 'pg';

const { escapeIdentifier: ident } = pg;

/**
 * How a layer is limited to a principal's scopes (行政区划 codes), as its definition declares it:
 * - `{ column }`: the features whose code column starts with one of the scopes (a 区县 is 6 digits, a 乡镇/街道 9;
 *   grid, community and township codes all begin with their district's);
 * - `'area'`: the features intersecting the union of the scopes' boundaries (citybase.admin_areas).
 */
export type LayerScope = { readonly column: string } | 'area';

/**
 * The condition over alias `t`, with the scopes as one `text[]` parameter (`ref`, e.g. `$4`): NULL means not
 * limited. It is part of the prepared statement, so the scope is in the query, never a filter after it; the
 * boundary is computed once per statement (an InitPlan) and PostGIS reuses it prepared for every row.
 */
export function scopeCondition(scope: LayerScope, ref: string, geometry: { column: string; srid: number; sridZero: boolean }): string {
  if (scope !== 'area') {
    const code = `t.${ident(scope.column)}::text`;
    return `(${ref}::text[] IS NULL OR left(${code}, 6) = ANY (${ref}::text[]) OR left(${code}, 9) = ANY (${ref}::text[]))`;
  }
  const geom = `t.${ident(geometry.column)}`;
  const tagged = geometry.sridZero ? `(CASE WHEN ST_SRID(${geom}) = 0 THEN ST_SetSRID(${geom}, ${geometry.srid}) ELSE ${geom} END)` : geom;
  return `(${ref}::text[] IS NULL OR ST_Intersects(${tagged}, (SELECT citybase.scope_area(${ref}::text[], ${geometry.srid}))))`;
}

/** The scopes as the statement's parameter: null when the principal is not limited. */
export const scopeParam = (scopes: readonly string[] | null | undefined): string[] | null => (scopes ? [...scopes] : null);
