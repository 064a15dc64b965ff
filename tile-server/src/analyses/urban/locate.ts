import type { QueryRunner } from '../../db/query.ts';

export interface Location extends Record<string, unknown> {
  grid_code: string | null;
  community_code: string | null;
  community_name: string | null;
  street_code: string | null;
  street_name: string | null;
  district_code: string | null;
  district_name: string | null;
  responsibility_area: string | null;
  unit_name: string | null;
  department_id: string | null;
  department_name: string | null;
}

/** Point → 单元网格 → 社区 → 街道 → 区县 → 责任单位 and department: the SQL function urban.locate (migration 0003). */
export async function locate(run: QueryRunner, lon: number, lat: number): Promise<Location> {
  const rows = await run.query<Location>(`SELECT * FROM urban.locate(ST_SetSRID(ST_Point($1, $2), 4326))`, [lon, lat]);
  return rows[0]!;
}
