-- Admin divisions inside the imported districts: the land (district minus the lakes), an urban area around each
-- seat, townships (街道 in the urban area, 镇 outside it), communities (社区 / 村) and their label points.
-- Partitions are Voronoi diagrams of seeded random points, clipped to their parent, so children tile parents.

-- Voronoi partition of a region (WGS84) into about n parts, numbered north to south, then west to east.
CREATE FUNCTION pg_temp.partition(region geometry, n integer, seed integer)
RETURNS TABLE (ord bigint, geom geometry)
LANGUAGE sql STABLE AS $$
  WITH pts AS (
    SELECT ST_GeneratePoints(pg_temp.gk(region), greatest(n, 2), seed) AS mp
  ), cells AS (
    SELECT (ST_Dump(ST_VoronoiPolygons(mp, 0, ST_Expand(ST_Envelope(pg_temp.gk(region)), 5000)))).geom AS cell FROM pts
  ), parts AS (
    SELECT CASE WHEN n <= 1 THEN pg_temp.polys(region)
                ELSE pg_temp.polys(ST_Intersection(ST_Transform(cell, 4326), region)) END AS geom
    FROM cells
    LIMIT CASE WHEN n <= 1 THEN 1 END
  )
  SELECT row_number() OVER (ORDER BY round(ST_Y(ST_PointOnSurface(geom))::numeric, 4) DESC, ST_X(ST_PointOnSurface(geom))),
         geom
  FROM parts WHERE NOT ST_IsEmpty(geom) AND ST_Area(geom) > 0
$$;

CREATE TEMP TABLE g_district ON COMMIT DROP AS
WITH lakes AS (SELECT ST_Union(geom) AS g FROM basemap.water WHERE kind = 'lake')
SELECT c.adcode, c.short, c.abbr, c.population, d.name, d.id AS did,
       pg_temp.polys(ST_Difference(d.geom, coalesce((SELECT g FROM lakes), 'SRID=4326;POLYGON EMPTY'::geometry))) AS land,
       ST_SetSRID(ST_Point(c.seat_lon, c.seat_lat), 4326) AS seat,
       c.urban_radius_km * 1000 * sqrt(pg_temp.scale()) AS radius
FROM g_config c JOIN basemap.districts d USING (adcode);

-- A seat that falls in the water (coarse lake outlines) moves to the nearest land.
UPDATE g_district SET seat = ST_ClosestPoint(land, seat) WHERE NOT ST_Intersects(land, seat);

-- The urban area: a blob of overlapping discs around the seat, on land, inside the district.
CREATE TEMP TABLE g_urban ON COMMIT DROP AS
SELECT d.adcode, pg_temp.polys(ST_Intersection(ST_Transform(b.blob, 4326), d.land)) AS geom
FROM g_district d,
LATERAL (
  SELECT ST_Union(ST_Buffer(
           ST_Translate(pg_temp.gk(d.seat), dist * cos(angle), dist * sin(angle)), r, 24)) AS blob
  FROM (
    SELECT CASE WHEN i = 0 THEN 0 ELSE d.radius * pg_temp.span(pg_temp.rnd(11, d.did * 100 + i), 0.3, 0.65) END AS dist,
           2 * pi() * pg_temp.rnd(12, d.did * 100 + i) AS angle,
           d.radius * CASE WHEN i = 0 THEN 0.75 ELSE pg_temp.span(pg_temp.rnd(13, d.did * 100 + i), 0.3, 0.55) END AS r
    FROM generate_series(0, 6) AS i
  ) discs
) b;

CREATE TEMP TABLE g_rural ON COMMIT DROP AS
SELECT d.adcode, pg_temp.polys(ST_Difference(d.land, u.geom)) AS geom
FROM g_district d JOIN g_urban u USING (adcode);

-- Townships: 街道 (codes 001–099) partition the urban area, about one per 10 km²; 镇 (100–199) the rest,
-- about one per 110 km² at full scale.
CREATE TEMP TABLE g_street ON COMMIT DROP AS
SELECT d.adcode || lpad(p.ord::text, 3, '0') AS code, '街道' AS kind, d.adcode, p.ord::integer AS n, p.geom
FROM g_district d JOIN g_urban u USING (adcode),
LATERAL pg_temp.partition(u.geom, greatest(1, round(ST_Area(pg_temp.gk(u.geom)) / 10e6))::integer,
                          pg_temp.iseed(21, d.did)) p
UNION ALL
SELECT d.adcode || (99 + p.ord)::text, '镇', d.adcode, (99 + p.ord)::integer, p.geom
FROM g_district d JOIN g_rural r USING (adcode),
LATERAL pg_temp.partition(r.geom, greatest(1, round(ST_Area(pg_temp.gk(r.geom)) / 110e6 * pg_temp.scale()))::integer,
                          pg_temp.iseed(22, d.did)) p;

INSERT INTO basemap.streets (id, code, name, kind, district_code, geom)
SELECT code::integer - 320800000, code,
       CASE WHEN kind = '街道'
         THEN pg_temp.combo(n + adcode::integer % 5,
                ARRAY['城东', '城西', '城南', '城北', '府前', '淮海', '清河', '运河', '柳湾', '长征', '钵池', '新城', '文昌', '和平', '人民', '东湖', '西湖'],
                ARRAY['', '路', '新村', '园']) || '街道'
         ELSE pg_temp.combo(n - 100 + adcode::integer % 11,
                ARRAY['三', '五', '马', '黄', '南', '北', '东', '西', '高', '新', '老', '龙', '凤', '金', '朱', '徐', '仁', '永', '丰', '太', '白', '顺'],
                ARRAY['集', '河', '桥', '庄', '圩', '坝', '港', '口', '塘', '店', '沟', '墩', '楼']) || '镇'
       END,
       kind, adcode, geom
FROM g_street;

-- Communities: urban 社区 of about 1.2 km², rural 村 of about 8 km² (at full scale).
CREATE TEMP TABLE g_community ON COMMIT DROP AS
SELECT s.code || lpad(p.ord::text, 3, '0') AS code, s.code AS street_code, s.kind AS street_kind, s.adcode, p.ord::integer AS n,
       -- Names are numbered per district, so they do not repeat inside one.
       (row_number() OVER (PARTITION BY s.adcode, s.kind ORDER BY s.code, p.ord))::integer AS k, p.geom
FROM g_street s,
LATERAL pg_temp.partition(s.geom,
  greatest(1, round(ST_Area(pg_temp.gk(s.geom)) / CASE WHEN s.kind = '街道' THEN 1.2e6 ELSE 8e6 / pg_temp.scale() END))::integer,
  pg_temp.iseed(31, s.code::bigint)) p;

INSERT INTO basemap.communities (id, code, name, kind, street_code, geom)
SELECT row_number() OVER (ORDER BY code), code,
       CASE WHEN street_kind = '街道'
         THEN pg_temp.combo(k,
                ARRAY['幸福', '和平', '花园', '翠苑', '锦绣', '阳光', '金港', '丽景', '康居', '华庭', '书香', '建设', '友谊', '团结', '光明', '繁荣', '振兴', '前进', '清河', '大治', '健康', '富春', '东方', '明远'],
                ARRAY['', '新村', '里', '苑', '园']) || '社区'
         ELSE pg_temp.combo(k,
                ARRAY['王', '李', '张', '刘', '陈', '杨', '赵', '周', '吴', '孙', '胡', '朱', '高', '林', '何', '郭', '马', '罗', '梁', '宋', '许', '韩', '冯'],
                ARRAY['庄', '集', '圩', '湾', '河', '桥', '营', '洼', '岗', '滩', '楼']) || '村'
       END,
       CASE WHEN street_kind = '街道' THEN '社区' ELSE '村' END, street_code, geom
FROM g_community;

-- Label points: districts at their seat, townships and communities inside themselves.
INSERT INTO basemap.labels (id, name, kind, rank, code, geom)
SELECT row_number() OVER (ORDER BY rank, code), name, kind, rank, code, geom FROM (
  SELECT d.name, '区县' AS kind, 1 AS rank, d.adcode AS code, d.seat AS geom FROM g_district d
  UNION ALL
  SELECT s.name, s.kind, 2, s.code, ST_PointOnSurface(s.geom) FROM basemap.streets s JOIN g_district d ON d.adcode = s.district_code
  UNION ALL
  SELECT c.name, c.kind, 3, c.code, ST_PointOnSurface(c.geom)
  FROM basemap.communities c JOIN basemap.streets s ON s.code = c.street_code JOIN g_district d ON d.adcode = s.district_code
) l;
