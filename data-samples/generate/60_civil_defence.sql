-- 人防: population per district, shelters under urban housing, offices and shops (and a few in township
-- centres), sirens on a 1.2 km lattice over each urban area and one per township, dispersal and concealment
-- areas 8–25 km out in the countryside with a route from the seat, and key economic targets.

INSERT INTO civil_defence.population (district_code, population, basis, year, source)
SELECT adcode, population, '常住人口', 2023, 'CityBase sample (order of magnitude of the 2023 yearbook, not official)' FROM g_config;

CREATE TEMP TABLE g_shelter ON COMMIT DROP AS
SELECT p.adcode, p.id AS key, coalesce(ST_GeometryN(ST_GeneratePoints(p.geom, 1, pg_temp.iseed(91, p.id)), 1), ST_PointOnSurface(p.geom)) AS geom
FROM g_parcel_numbered p
WHERE p.kind = 'urban' AND left(p.class_code, 2) IN ('07', '08', '09') AND pg_temp.rnd(90, p.id) < 0.25
UNION ALL
SELECT s.district_code, 1000000 + s.id, ST_PointOnSurface(s.geom)
FROM basemap.streets s JOIN g_district d ON d.adcode = s.district_code
WHERE s.kind <> '街道' AND pg_temp.rnd(92, s.id) < 0.35;

INSERT INTO civil_defence.shelters (id, code, name, kind, protection_level, chemical_level, floor_area_m2, usable_area_m2,
                                    capacity, status, completed_year, district_code, geom)
SELECT row_number() OVER (ORDER BY code), code,
       coalesce(c.name, '') || '人防工程' || right(code, 4) || '号', kind, protection, chemical, floor_area, usable,
       CASE kind WHEN '人员掩蔽工程' THEN floor(usable / 1.0) WHEN '医疗救护工程' THEN floor(usable / 8)
                 WHEN '防空专业队工程' THEN floor(usable / 3) ELSE 0 END,
       status, CASE WHEN status <> '在建' THEN 1995 + floor(30 * pg_temp.rnd(99, key))::integer END, adcode, x.geom
FROM (
  SELECT g.*, 'RF' || g.adcode || lpad(row_number() OVER (PARTITION BY g.adcode ORDER BY g.key)::text, 4, '0') AS code,
         pg_temp.pick(pg_temp.rnd(93, key), ARRAY['人员掩蔽工程', '配套工程', '医疗救护工程', '防空专业队工程'], ARRAY[70, 15, 8, 7]::float8[]) AS kind,
         pg_temp.pick(pg_temp.rnd(94, key), ARRAY['核6级/常6级', '核6B级/常6级', '核5级/常5级'], ARRAY[60, 30, 10]::float8[]) AS protection,
         pg_temp.pick(pg_temp.rnd(95, key), ARRAY['乙级', '丙级', '甲级'], ARRAY[60, 30, 10]::float8[]) AS chemical,
         round((800 + 11200 * pg_temp.rnd(96, key) ^ 2)::numeric, 1) AS floor_area,
         pg_temp.pick(pg_temp.rnd(98, key), ARRAY['完好', '需维修', '在建', '停用'], ARRAY[80, 10, 7, 3]::float8[]) AS status
  FROM g_shelter g
) x
CROSS JOIN LATERAL (SELECT round(floor_area * pg_temp.span(pg_temp.rnd(97, key), 0.72, 0.85)::numeric, 1) AS usable) u
LEFT JOIN LATERAL (SELECT name FROM basemap.communities c WHERE ST_Intersects(c.geom, x.geom) ORDER BY code LIMIT 1) c ON true;

-- Sirens: each device carries its own audible radius, by type and power.
CREATE TEMP TABLE g_siren ON COMMIT DROP AS
SELECT d.adcode, d.did::bigint * 10000 + row_number() OVER (PARTITION BY d.adcode ORDER BY sq.j DESC, sq.i) AS key, true AS urban,
       ST_Transform(ST_Translate(ST_Centroid(sq.geom),
         pg_temp.span(pg_temp.rnd(101, d.did::bigint * 100000 + sq.i * 300 + sq.j), -300, 300),
         pg_temp.span(pg_temp.rnd(102, d.did::bigint * 100000 + sq.i * 300 + sq.j), -300, 300)), 4326) AS geom
FROM g_district d JOIN g_urban u USING (adcode)
CROSS JOIN LATERAL (SELECT pg_temp.gk(u.geom) AS g) gk
CROSS JOIN LATERAL ST_SquareGrid(1200, gk.g) AS sq
WHERE ST_Intersects(ST_Centroid(sq.geom), gk.g);
DELETE FROM g_siren s USING g_urban u WHERE u.adcode = s.adcode AND NOT ST_Intersects(u.geom, s.geom);
INSERT INTO g_siren
SELECT s.district_code, 5000000 + s.id, false, ST_PointOnSurface(s.geom)
FROM basemap.streets s JOIN g_district d ON d.adcode = s.district_code WHERE s.kind <> '街道';

INSERT INTO civil_defence.sirens (id, code, name, kind, model, power_kw, height_m, radius_m, control, status, installed_on, district_code, geom)
SELECT row_number() OVER (ORDER BY code), code, coalesce(c.name, '') || '警报点', kind,
       CASE kind WHEN '电动' THEN 'JDB-' || (power_kw * 10)::integer WHEN '电声' THEN 'DSJ-' || (power_kw * 1000)::integer ELSE 'DMT-600' END,
       power_kw, round(pg_temp.span(pg_temp.rnd(105, key), 15, 45)::numeric, 1),
       round(pg_temp.span(pg_temp.rnd(106, key), lo, hi)::numeric, -1),
       pg_temp.pick(pg_temp.rnd(107, key), ARRAY['有线+无线', '无线', '有线'], ARRAY[50, 35, 15]::float8[]),
       pg_temp.pick(pg_temp.rnd(108, key), ARRAY['正常', '故障', '维修中'], ARRAY[88, 7, 5]::float8[]),
       DATE '2000-01-01' + floor(9000 * pg_temp.rnd(109, key))::integer, adcode, x.geom
FROM (
  SELECT g.*, 'JB' || g.adcode || lpad(row_number() OVER (PARTITION BY g.adcode ORDER BY g.key)::text, 3, '0') AS code, t.*
  FROM g_siren g
  CROSS JOIN LATERAL (SELECT CASE WHEN g.urban THEN pg_temp.pick(pg_temp.rnd(103, g.key), ARRAY['电动', '电声', '多媒体'], ARRAY[50, 35, 15]::float8[]) ELSE '电动' END AS kind) k
  CROSS JOIN LATERAL (SELECT pg_temp.rnd(104, g.key) AS r) r
  CROSS JOIN LATERAL (
    SELECT k.kind, p.power_kw, p.lo, p.hi FROM (VALUES
      ('电动', 0.0, 2.2, 500, 700), ('电动', 0.4, 4.0, 700, 900), ('电动', 0.7, 7.5, 900, 1200),
      ('电声', 0.0, 0.6, 400, 550), ('电声', 0.4, 1.2, 550, 750), ('电声', 0.7, 2.0, 750, 950),
      ('多媒体', 0.0, 0.6, 400, 600)
    ) AS p (kind, from_r, power_kw, lo, hi)
    WHERE p.kind = k.kind AND p.from_r <= r.r ORDER BY p.from_r DESC LIMIT 1
  ) t
) x
LEFT JOIN LATERAL (SELECT name FROM basemap.communities c WHERE ST_Intersects(c.geom, x.geom) ORDER BY code LIMIT 1) c ON true;

-- Dispersal and concealment areas: candidate points 8–25 km from the seat whose straight way there stays on the
-- district's land; the first four (by a seeded order) become areas of 1–3 km².
CREATE TEMP TABLE g_evac ON COMMIT DROP AS
SELECT adcode, did, n, seat, p, area_no FROM (
  SELECT d.adcode, d.did, c.path[1] AS n, d.seat, c.geom AS p,
         row_number() OVER (PARTITION BY d.adcode ORDER BY pg_temp.rnd(111, d.did::bigint * 1000 + c.path[1])) AS area_no
  FROM g_district d JOIN g_rural r USING (adcode)
  CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(r.geom, 60, pg_temp.iseed(110, d.did))) AS c
  WHERE ST_Distance(pg_temp.gk(c.geom), pg_temp.gk(d.seat)) BETWEEN 8000 AND 25000
    AND ST_CoveredBy(ST_MakeLine(d.seat, c.geom), d.land)
) x WHERE area_no <= greatest(1, round(4 * pg_temp.scale()));

INSERT INTO civil_defence.evacuation_areas (id, code, name, kind, capacity, area_m2, district_code, geom)
SELECT row_number() OVER (ORDER BY code), code, coalesce(s.name, '') || '第' || area_no || kind, kind,
       floor(pg_temp.m2(geom) / pg_temp.span(pg_temp.rnd(115, key), 15, 30))::integer, pg_temp.m2(geom), adcode, geom
FROM (
  SELECT e.adcode, e.area_no, e.did::bigint * 10 + e.area_no AS key, 'SS' || e.adcode || lpad(e.area_no::text, 2, '0') AS code,
         pg_temp.pick(pg_temp.rnd(112, e.did::bigint * 10 + e.area_no), ARRAY['疏散地域', '隐蔽地域'], ARRAY[70, 30]::float8[]) AS kind,
         pg_temp.polys(ST_Intersection(ST_Transform(ST_Union(ARRAY[
           ST_Buffer(pg_temp.gk(e.p), pg_temp.span(pg_temp.rnd(113, e.did::bigint * 10 + e.area_no), 500, 800), 12),
           ST_Buffer(ST_Translate(pg_temp.gk(e.p), 500, pg_temp.span(pg_temp.rnd(114, e.did::bigint * 10 + e.area_no), -400, 400)), 450, 12)]), 4326),
           r.geom)) AS geom, e.p
  FROM g_evac e JOIN g_rural r USING (adcode)
) a
LEFT JOIN LATERAL (SELECT name FROM basemap.streets s WHERE ST_Intersects(s.geom, a.p) ORDER BY code LIMIT 1) s ON true
WHERE NOT ST_IsEmpty(a.geom);

INSERT INTO civil_defence.evacuation_routes (id, code, name, area_id, length_m, district_code, geom)
SELECT a.id, 'SL' || substr(a.code, 3), d.short || '城区至' || a.name || '疏散路线', a.id,
       round(ST_Length(r.geom::geography)::numeric, 1), a.district_code, r.geom
FROM civil_defence.evacuation_areas a
JOIN g_district d ON d.adcode = a.district_code
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(a.geom) AS target) t
CROSS JOIN LATERAL (
  SELECT pg_temp.lines(ST_Intersection(ST_MakeLine(ARRAY[
           d.seat,
           ST_Translate(ST_LineInterpolatePoint(ST_MakeLine(d.seat, t.target), 0.4), 0.01 * pg_temp.span(pg_temp.rnd(116, a.id), -1, 1), 0.01 * pg_temp.span(pg_temp.rnd(117, a.id), -1, 1)),
           t.target]), d.land)) AS geom
) r
WHERE NOT ST_IsEmpty(r.geom);

-- Key economic targets on industrial, storage, utility and transport land.
INSERT INTO civil_defence.key_targets (id, code, name, nature, protection, district_code, geom)
SELECT row_number() OVER (ORDER BY code), code, short || nature || '目标' || right(code, 2) || '号', nature, protection, adcode, geom
FROM (
  SELECT p.adcode, d.short, 'ZJ' || p.adcode || lpad(row_number() OVER (PARTITION BY p.adcode ORDER BY pg_temp.rnd(121, p.id))::text, 2, '0') AS code,
         pg_temp.pick(pg_temp.rnd(122, p.id), ARRAY['电力', '供水', '燃气', '通信', '交通枢纽', '石油化工', '粮食储备', '广播电视'],
                      ARRAY[20, 15, 10, 10, 15, 10, 12, 8]::float8[]) AS nature,
         pg_temp.pick(pg_temp.rnd(123, p.id), ARRAY['一级', '二级', '三级'], ARRAY[20, 40, 40]::float8[]) AS protection,
         ST_PointOnSurface(p.geom) AS geom,
         row_number() OVER (PARTITION BY p.adcode ORDER BY pg_temp.rnd(121, p.id)) AS k
  FROM g_parcel_numbered p JOIN g_district d USING (adcode)
  WHERE p.kind = 'urban' AND (left(p.class_code, 2) IN ('10', '11', '13') OR p.class_code = '1208')
) t
WHERE k <= greatest(1, round(6 * pg_temp.scale()));
