-- 单元网格 and 责任网格. Grid cells cover the urban communities: 200 m squares of the GK plane cut by the community
-- boundary, numbered from west to east and north to south within their community (so squares next to each
-- other share their edges exactly, and a cut square's parts in two communities are two cells).

CREATE TEMP TABLE g_cell ON COMMIT DROP AS
SELECT c.code AS community_code, c.street_code, left(c.code, 6) AS district_code, sq.i, sq.j,
       pg_temp.polys(ST_Intersection(ST_Transform(sq.geom, 4326), c.geom)) AS geom
FROM basemap.communities c
JOIN g_district d ON d.adcode = left(c.code, 6)
CROSS JOIN LATERAL (SELECT pg_temp.gk(c.geom) AS g) gk
CROSS JOIN LATERAL ST_SquareGrid(200, gk.g) AS sq
WHERE c.kind = '社区' AND ST_Intersects(sq.geom, gk.g);

DELETE FROM g_cell WHERE ST_IsEmpty(geom) OR pg_temp.m2(geom) < 1;

INSERT INTO urban.grid_cells (id, code, community_code, street_code, district_code, area_m2, geom)
SELECT row_number() OVER (ORDER BY code), code, community_code, street_code, district_code, pg_temp.m2(geom), geom
FROM (
  SELECT community_code || lpad(row_number() OVER (PARTITION BY community_code ORDER BY j DESC, i)::text, 3, '0') AS code,
         community_code, street_code, district_code, geom
  FROM g_cell
) numbered;

-- Responsibility areas: an urban 街道 is split into groups of about four communities (each joins the nearest of
-- evenly spread seed communities); a 镇 is one area. Each area answers to a unit of the city management bureau.
CREATE TEMP TABLE g_area_member ON COMMIT DROP AS
WITH urban_comm AS (
  SELECT c.code, c.street_code, ST_PointOnSurface(c.geom) AS p,
         row_number() OVER (PARTITION BY c.street_code ORDER BY c.code) AS ord,
         count(*) OVER (PARTITION BY c.street_code) AS n
  FROM basemap.communities c JOIN basemap.streets s ON s.code = c.street_code
  JOIN g_district d ON d.adcode = s.district_code
  WHERE s.kind = '街道'
), seeds AS (
  SELECT street_code, code, p, row_number() OVER (PARTITION BY street_code ORDER BY ord) AS area_no
  FROM urban_comm
  WHERE (ord - 1) % greatest(1, n / greatest(1, ceil(n / 4.0)::integer)) = 0
)
SELECT u.street_code, u.code AS community_code,
       (SELECT s.area_no FROM seeds s WHERE s.street_code = u.street_code ORDER BY ST_Distance(s.p, u.p), s.area_no LIMIT 1) AS area_no
FROM urban_comm u
UNION ALL
SELECT c.street_code, c.code, 1
FROM basemap.communities c JOIN basemap.streets s ON s.code = c.street_code
JOIN g_district d ON d.adcode = s.district_code
WHERE s.kind <> '街道';

INSERT INTO urban.responsibility_areas (id, code, name, unit_name, department_id, street_code, community_codes, geom)
SELECT row_number() OVER (ORDER BY a.street_code, a.area_no),
       a.street_code || lpad(a.area_no::text, 2, '0'),
       s.name || CASE WHEN s.kind = '街道' THEN '第' || a.area_no || '责任区' ELSE '责任区' END,
       s.name || CASE WHEN s.kind = '街道' THEN '城管执法中队' ELSE '人民政府城管办' END,
       'cgj', a.street_code, a.members,
       pg_temp.polys(ST_Union(ARRAY(SELECT c.geom FROM basemap.communities c WHERE c.code = ANY (a.members))))
FROM (
  SELECT street_code, area_no, array_agg(community_code ORDER BY community_code) AS members
  FROM g_area_member GROUP BY street_code, area_no
) a
JOIN basemap.streets s ON s.code = a.street_code;
