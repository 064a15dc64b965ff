import type pg from 'pg';

/**
 * Quality of the sample data, per table: how many rows have an invalid geometry, lie outside their district
 * (beyond 1e-6°, the rounding of cut geometries), touch a lake's interior, or leave their parent (a community its
 * township, a grid cell its community, a component or event its grid cell). All four should be 0.
 */
export interface TableCheck {
  table: string;
  rows: number;
  invalid: number;
  outside: number;
  in_lake: number;
  orphan: number;
}

// Rows go district by district, so PostGIS reuses the prepared district polygon from one row to the next.
const CHECK_SQL = `
WITH lakes AS MATERIALIZED (SELECT coalesce(ST_Buffer(ST_Union(geom), -1e-6, 'join=mitre'), 'SRID=4326;POLYGON EMPTY'::geometry) AS g FROM basemap.water),
d AS MATERIALIZED (SELECT adcode, ST_Buffer(geom, 1e-6, 'join=mitre') AS g FROM basemap.districts),
rows AS MATERIALIZED (
  SELECT 'basemap.streets' AS t, district_code AS d, geom, NULL::geometry AS parent FROM basemap.streets
  UNION ALL SELECT 'basemap.communities', left(c.code, 6), c.geom, s.geom FROM basemap.communities c JOIN basemap.streets s ON s.code = c.street_code
  UNION ALL SELECT 'basemap.roads', NULL, geom, NULL FROM basemap.roads
  UNION ALL SELECT 'basemap.labels', left(code, 6), geom, NULL FROM basemap.labels
  UNION ALL SELECT 'urban.grid_cells', g.district_code, g.geom, c.geom FROM urban.grid_cells g JOIN basemap.communities c ON c.code = g.community_code
  UNION ALL SELECT 'urban.responsibility_areas', left(street_code, 6), geom, NULL FROM urban.responsibility_areas
  UNION ALL SELECT 'urban.components', left(bjbsm, 6), c.geom, g.geom FROM urban.components c JOIN urban.grid_cells g ON g.code = c.grid_code
  UNION ALL SELECT 'urban.events', left(e.grid_code, 6), e.geom, g.geom FROM urban.events e JOIN urban.grid_cells g ON g.code = e.grid_code
  UNION ALL SELECT 'planning.land_use', district_code, geom, NULL FROM planning.land_use
  UNION ALL SELECT 'planning.regulatory_parcels', district_code, geom, NULL FROM planning.regulatory_parcels
  UNION ALL SELECT 'civil_defence.shelters', district_code, geom, NULL FROM civil_defence.shelters
  UNION ALL SELECT 'civil_defence.sirens', district_code, geom, NULL FROM civil_defence.sirens
  UNION ALL SELECT 'civil_defence.evacuation_areas', district_code, geom, NULL FROM civil_defence.evacuation_areas
  UNION ALL SELECT 'civil_defence.evacuation_routes', district_code, geom, NULL FROM civil_defence.evacuation_routes
  UNION ALL SELECT 'civil_defence.key_targets', district_code, geom, NULL FROM civil_defence.key_targets
  UNION ALL SELECT 'environment.air_stations', district_code, geom, NULL FROM environment.air_stations
  UNION ALL SELECT 'environment.water_sections', district_code, geom, NULL FROM environment.water_sections
  UNION ALL SELECT 'environment.noise_zones', district_code, geom, NULL FROM environment.noise_zones
  UNION ALL SELECT 'environment.water_intakes', district_code, geom, NULL FROM environment.water_intakes
  ORDER BY 2, 1
),
-- The predicates are evaluated in that order, before grouping (a sort would carry the district polygons along).
flags AS MATERIALIZED (
  SELECT r.t,
         NOT ST_IsValid(r.geom) AS invalid,
         r.d IS NOT NULL AND NOT ST_Covers(d.g, r.geom) AS outside,
         ST_Intersects(lakes.g, r.geom) AS in_lake,
         r.parent IS NOT NULL AND NOT ST_Covers(r.parent, r.geom) AND NOT ST_Covers(ST_Buffer(r.parent, 1e-6, 'join=mitre'), r.geom) AS orphan
  FROM rows r LEFT JOIN d ON d.adcode = r.d CROSS JOIN lakes
)
SELECT t AS table, count(*)::int AS rows, count(*) FILTER (WHERE invalid)::int AS invalid, count(*) FILTER (WHERE outside)::int AS outside,
       count(*) FILTER (WHERE in_lake)::int AS in_lake, count(*) FILTER (WHERE orphan)::int AS orphan
FROM flags GROUP BY t ORDER BY t`;

export async function checkSamples(client: pg.ClientBase | pg.Pool): Promise<TableCheck[]> {
  return (await client.query<TableCheck>(CHECK_SQL)).rows;
}
