-- 环保: more air stations (provincial ones at the county seats, township ones), surface-water sections along the
-- Huai River and on the lake shores with a year of monthly samples, noise function zones over the urban areas,
-- and water-intake monitoring points. The hourly air readings are made afterwards (generate/air-readings.ts).

INSERT INTO environment.air_stations (code, name, kind, district_code, geom)
SELECT 'SK' || d.adcode || '01', d.name || '监测站', '省控', d.adcode,
       coalesce(ST_GeometryN(ST_GeneratePoints(ST_Intersection(u.geom, ST_Buffer(d.seat, 0.01)), 1, pg_temp.iseed(131, d.did)), 1), d.seat)
FROM g_district d JOIN g_urban u USING (adcode)
WHERE NOT EXISTS (SELECT 1 FROM environment.air_stations s WHERE s.district_code = d.adcode)
ORDER BY d.adcode;

INSERT INTO environment.air_stations (code, name, kind, district_code, geom)
SELECT 'XZ' || s.code, s.name || '空气站', '市控', s.district_code, ST_PointOnSurface(s.geom)
FROM basemap.streets s JOIN g_district d ON d.adcode = s.district_code
WHERE s.kind <> '街道'
ORDER BY pg_temp.rnd(132, s.id)
LIMIT greatest(2, round(24 * pg_temp.scale()));

-- Water sections: along the Huai River where it runs on land (about one per 5 km), and on the lake shores
-- (about one per 20 km of shore, set 150 m inland).
CREATE TEMP TABLE g_section (water_body text, water_type text, k integer, geom geometry) ON COMMIT DROP;

INSERT INTO g_section
SELECT r.name_zh, 'river', row_number() OVER (PARTITION BY r.name_zh ORDER BY part.path[1], f)::integer,
       ST_LineInterpolatePoint(part.geom, f)
FROM basemap.rivers r
CROSS JOIN LATERAL ST_Dump(ST_LineMerge(pg_temp.lines(ST_Intersection(r.geom, (SELECT geom FROM g_land))))) AS part
CROSS JOIN LATERAL (SELECT greatest(1, floor(ST_Length(part.geom::geography) / 5000))::integer AS n) n
CROSS JOIN LATERAL (SELECT (i + 0.5) / n.n AS f FROM generate_series(0, n.n - 1) AS i) fr
WHERE r.kind = '河流' AND ST_Length(part.geom::geography) > 1000;

INSERT INTO g_section
SELECT w.name_zh, 'lake', row_number() OVER (PARTITION BY w.name_zh ORDER BY part.path[1], f)::integer,
       ST_ClosestPoint(inland.geom, ST_LineInterpolatePoint(part.geom, f))
FROM basemap.water w
CROSS JOIN LATERAL (
  SELECT pg_temp.polys(ST_Difference((SELECT geom FROM g_land), ST_Transform(ST_Buffer(pg_temp.gk(w.geom), 150), 4326))) AS geom
) inland
CROSS JOIN LATERAL ST_Dump(ST_LineMerge(pg_temp.lines(ST_Intersection(ST_Boundary(w.geom), ST_Buffer((SELECT geom FROM g_land), 0.0005))))) AS part
CROSS JOIN LATERAL (SELECT greatest(1, floor(ST_Length(part.geom::geography) / 20000))::integer AS n) n
CROSS JOIN LATERAL (SELECT (i + 0.5) / n.n AS f FROM generate_series(0, n.n - 1) AS i) fr
WHERE ST_Length(part.geom::geography) > 3000;

INSERT INTO environment.water_sections (id, code, name, water_body, water_type, target_class, district_code, geom)
SELECT row_number() OVER (ORDER BY s.water_type DESC, s.water_body, s.k),
       'SZ' || d.adcode || lpad(row_number() OVER (PARTITION BY d.adcode ORDER BY s.water_type DESC, s.water_body, s.k)::text, 2, '0'),
       s.water_body || s.k || CASE s.water_type WHEN 'river' THEN '号断面' ELSE '号点位' END,
       s.water_body, s.water_type, 3, d.adcode, s.geom
FROM g_section s JOIN g_district d ON ST_Intersects(d.land, s.geom);

-- Monthly samples (the 15th, April 2025 – March 2026): a bias per section, a summer peak of nutrients, and the
-- odd bad month; lakes carry more phosphorus and nitrogen, as Hongze Lake does.
INSERT INTO environment.water_samples (section_id, sampled_on, ph, "do", codmn, cod, bod5, nh3n, tp, tn)
SELECT s.id, m.day,
       round(pg_temp.span(pg_temp.rnd(141, k), 7.2, 8.5)::numeric, 2),
       round((pg_temp.span(pg_temp.rnd(142, k), 5.0, 9.5) - 1.5 * summer)::numeric, 2),
       round((pg_temp.span(pg_temp.rnd(143, k), 3.0, 6.0) * bias)::numeric, 2),
       round((pg_temp.span(pg_temp.rnd(144, k), 12, 22) * bias)::numeric, 1),
       round((pg_temp.span(pg_temp.rnd(145, k), 2.0, 4.5) * bias)::numeric, 2),
       round((pg_temp.span(pg_temp.rnd(146, k), 0.15, 1.0) * bias * (1 + spike))::numeric, 3),
       round((CASE s.water_type WHEN 'river' THEN pg_temp.span(pg_temp.rnd(147, k), 0.05, 0.2)
                                ELSE pg_temp.span(pg_temp.rnd(147, k), 0.02, 0.07) END * bias * (1 + summer + spike))::numeric, 3),
       round((pg_temp.span(pg_temp.rnd(148, k), 0.6, 1.6) * bias)::numeric, 2)
FROM environment.water_sections s
JOIN g_district d ON d.adcode = s.district_code
CROSS JOIN generate_series(0, 11) AS i
CROSS JOIN LATERAL (SELECT (DATE '2025-04-15' + make_interval(months => i))::date AS day) m
CROSS JOIN LATERAL (
  SELECT s.id::bigint * 100 + i AS k,
         pg_temp.span(pg_temp.rnd(149, s.id), 0.8, 1.3) AS bias,
         greatest(0, cos(2 * pi() * (extract(month FROM m.day) - 7) / 12)) * 0.5 AS summer,
         CASE WHEN pg_temp.rnd(150, s.id::bigint * 100 + i) < 0.05 THEN 1.5 ELSE 0 END AS spike
) v;

-- Noise function zones over the urban areas: the class follows the land use (housing and schools 1, care homes 0,
-- commerce and mixed 2, industry and logistics 3); 40 m either side of main roads is 4a, 60 m of the railway 4b.
CREATE TEMP TABLE g_noise (adcode text, zone_class text, geom geometry) ON COMMIT DROP;

INSERT INTO g_noise
SELECT adcode, zone_class, pg_temp.polys(ST_Union(geom))
FROM (
  SELECT adcode, geom, CASE
      WHEN class_code LIKE '0807%' THEN '0'
      WHEN class_code LIKE '07%' OR class_code LIKE '0801%' OR class_code LIKE '0802%' OR class_code LIKE '0804%' OR class_code LIKE '0806%' THEN '1'
      WHEN class_code LIKE '10%' OR class_code LIKE '11%' OR class_code LIKE '1506%' THEN '3'
      ELSE '2' END AS zone_class
  FROM g_parcel_numbered WHERE kind = 'urban'
) p
GROUP BY adcode, zone_class;

CREATE TEMP TABLE g_noise_corridor ON COMMIT DROP AS
SELECT u.adcode, z.zone_class,
       pg_temp.polys(ST_Intersection(ST_Transform(ST_Union(ST_Buffer(pg_temp.gk(r.geom), z.width)), 4326), u.geom)) AS geom
FROM g_urban u
CROSS JOIN (VALUES ('4a', 40.0), ('4b', 60.0)) AS z (zone_class, width)
JOIN basemap.roads r ON ST_Intersects(r.geom, u.geom) AND (r.kind = '铁路') = (z.zone_class = '4b')
GROUP BY u.adcode, z.zone_class, u.geom;

-- The railway corridor wins over the road corridor, corridors win over the land-use zones.
UPDATE g_noise_corridor a SET geom = pg_temp.polys(ST_Difference(a.geom, b.geom))
FROM g_noise_corridor b WHERE a.adcode = b.adcode AND a.zone_class = '4a' AND b.zone_class = '4b';
UPDATE g_noise n SET geom = pg_temp.polys(ST_Difference(n.geom, c.geom))
FROM (SELECT adcode, ST_Union(geom) AS geom FROM g_noise_corridor GROUP BY adcode) c WHERE c.adcode = n.adcode;
INSERT INTO g_noise SELECT adcode, zone_class, geom FROM g_noise_corridor;

INSERT INTO environment.noise_zones (id, code, zone_class, district_code, geom)
SELECT row_number() OVER (ORDER BY adcode, zone_class), 'ZS' || adcode || '-' || zone_class, zone_class, adcode, geom
FROM g_noise WHERE NOT ST_IsEmpty(geom);

-- Water intakes: surface-water intakes within 2 km of the lakes and the river, groundwater wells in townships.
CREATE TEMP TABLE g_intake ON COMMIT DROP AS
SELECT d.adcode, '地表水' AS source_kind, d.did::bigint * 100 + p.path[1] AS key, p.geom
FROM g_district d
CROSS JOIN LATERAL (
  SELECT pg_temp.polys(ST_Intersection(d.land, ST_Transform(ST_Buffer(ST_Collect(pg_temp.gk(w.geom)), 2000), 4326))) AS near_water
  FROM (SELECT geom FROM basemap.water UNION ALL SELECT geom FROM basemap.rivers WHERE kind = '河流') w
  WHERE ST_DWithin(w.geom, d.land, 0.05)
) nw
CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(nw.near_water, greatest(1, round(4 * pg_temp.scale()))::integer, pg_temp.iseed(161, d.did))) AS p
WHERE NOT ST_IsEmpty(nw.near_water)
UNION ALL
SELECT s.district_code, '地下水', 1000000 + s.id, ST_PointOnSurface(s.geom)
FROM basemap.streets s JOIN g_district d ON d.adcode = s.district_code
WHERE s.kind <> '街道' AND pg_temp.rnd(162, s.id) < 0.3;

INSERT INTO environment.water_intakes (id, permit_no, name, source_kind, use_kind, year, permitted_10k_m3, measured_10k_m3, district_code, geom)
SELECT row_number() OVER (ORDER BY adcode, key),
       '取水(苏淮)字[2025]第' || lpad(row_number() OVER (ORDER BY adcode, key)::text, 4, '0') || '号',
       coalesce(s.name, '') || CASE use_kind WHEN '生活' THEN '自来水厂取水口' WHEN '工业' THEN '工业取水口' ELSE '灌溉取水口' END
         || right(key::text, 2),
       source_kind, use_kind, 2025, permitted, round(permitted * pg_temp.span(pg_temp.rnd(165, key), 0.4, 1.15)::numeric, 2), adcode, x.geom
FROM (
  SELECT g.*, u.use_kind,
         round((CASE u.use_kind WHEN '生活' THEN pg_temp.span(pg_temp.rnd(164, g.key), 200, 3000)
                                WHEN '工业' THEN pg_temp.span(pg_temp.rnd(164, g.key), 20, 500)
                                ELSE pg_temp.span(pg_temp.rnd(164, g.key), 100, 2000) END
                * CASE g.source_kind WHEN '地下水' THEN 0.1 ELSE 1 END)::numeric, 2) AS permitted
  FROM g_intake g
  CROSS JOIN LATERAL (SELECT pg_temp.pick(pg_temp.rnd(163, g.key), ARRAY['生活', '工业', '农业灌溉'], ARRAY[40, 35, 25]::float8[]) AS use_kind) u
) x
LEFT JOIN LATERAL (SELECT name FROM basemap.streets s WHERE ST_Intersects(s.geom, x.geom) ORDER BY code LIMIT 1) s ON true;
