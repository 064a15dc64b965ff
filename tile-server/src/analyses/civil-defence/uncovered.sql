-- Residential parcels (07xx) farther than $1 metres from every shelter in use, optionally in one district ($2),
-- with the distance to the nearest shelter in use (null when there is none; the 8 nearest by box distance are
-- measured on the spheroid), as GeoJSON geometries.
SELECT p.id, p.code, p.class_code, p.district_code, p.area_m2::float8 AS area_m2,
       round(near.m::numeric, 1)::float8 AS nearest_shelter_m,
       ST_AsGeoJSON(p.geom, 6)::json AS geometry
FROM planning.land_use p
LEFT JOIN LATERAL (
  SELECT min(ST_Distance(s.geom::geography, p.geom::geography)) AS m FROM (
    SELECT s.geom FROM civil_defence.shelters s WHERE s.status IN ('完好', '需维修')
    ORDER BY s.geom <-> p.geom LIMIT 8
  ) s
) near ON true
WHERE p.class_code LIKE '07%'
  AND ($2::text IS NULL OR p.district_code = $2)
  AND NOT EXISTS (
    SELECT 1 FROM civil_defence.shelters s
    WHERE s.status IN ('完好', '需维修') AND ST_DWithin(s.geom::geography, p.geom::geography, $1::float8))
ORDER BY p.id
