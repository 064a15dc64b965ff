-- 人防 coverage per district. $1: shelter service distance in metres.
-- Shelters in use are those 完好 or 需维修 (not 在建, not 停用); sirens count when 正常. Built-up land is the
-- land-use classes flagged built_up (planning.land_use_classes); its covered part is what lies within the
-- coverage circle of a working siren. Areas are taken on the CGCS2000 GK CM 120E plane (EPSG:4549).
WITH params AS (
  SELECT $1::float8 AS distance,
         (SELECT value FROM civil_defence.parameters WHERE key = 'shelter_area_per_person_m2')::float8 AS per_person
), shelter AS (
  SELECT district_code,
         count(*) AS shelters,
         count(*) FILTER (WHERE status IN ('完好', '需维修')) AS in_use,
         coalesce(sum(capacity) FILTER (WHERE status IN ('完好', '需维修')), 0) AS capacity,
         coalesce(sum(usable_area_m2) FILTER (WHERE status IN ('完好', '需维修')), 0) AS usable_m2
  FROM civil_defence.shelters GROUP BY district_code
), siren AS (
  SELECT district_code, count(*) AS sirens, count(*) FILTER (WHERE status = '正常') AS working
  FROM civil_defence.sirens GROUP BY district_code
), built AS (
  SELECT p.district_code,
         sum(p.area_m2) AS built_m2,
         sum(CASE WHEN cov.g IS NULL THEN 0
                  WHEN ST_CoveredBy(p.geom, cov.g) THEN p.area_m2
                  ELSE ST_Area(ST_Transform(ST_Intersection(p.geom, cov.g), 4549)) END) AS covered_m2
  FROM planning.land_use p
  JOIN planning.land_use_classes c ON c.code = p.class_code AND c.built_up
  LEFT JOIN LATERAL (
    SELECT ST_Union(s.coverage) AS g FROM civil_defence.sirens s
    WHERE s.status = '正常' AND ST_Intersects(s.coverage, p.geom)
  ) cov ON true
  GROUP BY p.district_code
), residential AS (
  SELECT p.district_code,
         count(*) AS parcels,
         count(*) FILTER (WHERE u.uncovered) AS uncovered,
         coalesce(sum(p.area_m2) FILTER (WHERE u.uncovered), 0) AS uncovered_m2
  FROM planning.land_use p, params
  CROSS JOIN LATERAL (
    SELECT NOT EXISTS (
      SELECT 1 FROM civil_defence.shelters s
      WHERE s.status IN ('完好', '需维修') AND ST_DWithin(s.geom::geography, p.geom::geography, params.distance)) AS uncovered
  ) u
  WHERE p.class_code LIKE '07%'
  GROUP BY p.district_code
)
SELECT d.adcode, d.name, pop.population,
       coalesce(sh.shelters, 0)::int AS shelters, coalesce(sh.in_use, 0)::int AS shelters_in_use,
       coalesce(sh.capacity, 0)::int AS capacity, coalesce(sh.usable_m2, 0)::float8 AS usable_area_m2,
       coalesce(si.sirens, 0)::int AS sirens, coalesce(si.working, 0)::int AS working_sirens,
       coalesce(b.built_m2, 0)::float8 AS built_up_m2, coalesce(b.covered_m2, 0)::float8 AS covered_m2,
       coalesce(r.parcels, 0)::int AS residential_parcels, coalesce(r.uncovered, 0)::int AS uncovered_parcels,
       coalesce(r.uncovered_m2, 0)::float8 AS uncovered_m2,
       params.per_person::float8 AS per_person, params.distance AS distance
FROM basemap.districts d
CROSS JOIN params
LEFT JOIN civil_defence.population pop ON pop.district_code = d.adcode
LEFT JOIN shelter sh ON sh.district_code = d.adcode
LEFT JOIN siren si ON si.district_code = d.adcode
LEFT JOIN built b ON b.district_code = d.adcode
LEFT JOIN residential r ON r.district_code = d.adcode
ORDER BY d.adcode
