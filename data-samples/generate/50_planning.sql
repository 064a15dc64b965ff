-- Land use (2023 国土空间 classes) and 控规 parcels. Urban land: 400 m blocks of the GK plane, their class drawn
-- by the distance from the seat (commerce and offices in the centre, housing around it, industry and logistics
-- at the edge). Villages: a built-up patch (0703 农村宅基地) in each 村. Countryside: about 5 km² parcels per
-- township, mostly 耕地.

CREATE TEMP TABLE g_parcel (adcode text, kind text, seq bigint, class_code text, geom geometry) ON COMMIT DROP;

INSERT INTO g_parcel
SELECT d.adcode, 'urban', row_number() OVER (PARTITION BY d.adcode ORDER BY sq.j DESC, sq.i), NULL,
       pg_temp.polys(ST_Intersection(ST_Transform(sq.geom, 4326), u.geom))
FROM g_district d
JOIN g_urban u USING (adcode)
CROSS JOIN LATERAL (SELECT pg_temp.gk(u.geom) AS g) gk
CROSS JOIN LATERAL ST_SquareGrid(400, gk.g) AS sq
WHERE ST_Intersects(sq.geom, gk.g);

UPDATE g_parcel p SET class_code = CASE
    WHEN t < 0.35 THEN pg_temp.pick(r,
      ARRAY['0901', '0902', '0801', '0803', '070102', '0804', '0806', '1401', '1403'], ARRAY[30, 10, 8, 4, 30, 5, 4, 6, 3]::float8[])
    WHEN t < 0.8 THEN pg_temp.pick(r,
      ARRAY['070102', '070101', '0702', '0804', '0806', '0805', '0901', '1401', '1207', '1301', '1309', '0807'],
      ARRAY[45, 5, 4, 8, 3, 2, 8, 8, 5, 1, 2, 2]::float8[])
    ELSE pg_temp.pick(r,
      ARRAY['100101', '100102', '1101', '070102', '1402', '1303', '1208', '0804', '1506', '16'],
      ARRAY[18, 12, 10, 20, 10, 5, 3, 3, 1, 5]::float8[])
  END
FROM (
  SELECT p2.adcode, p2.seq, ST_Distance(pg_temp.gk(ST_PointOnSurface(p2.geom)), pg_temp.gk(d.seat)) / d.radius AS t,
         pg_temp.rnd(71, d.did::bigint * 100000 + p2.seq) AS r
  FROM g_parcel p2 JOIN g_district d USING (adcode)
) x
WHERE p.adcode = x.adcode AND p.seq = x.seq AND p.kind = 'urban';

-- Villages: an irregular patch of about 10–30 ha around each village centre.
INSERT INTO g_parcel
SELECT left(c.code, 6), 'village', c.id, '0703',
       pg_temp.polys(ST_Intersection(ST_Transform(ST_Union(ARRAY[
         ST_Buffer(pg_temp.gk(p.p), pg_temp.span(pg_temp.rnd(72, c.id), 180, 300), 8),
         ST_Buffer(ST_Translate(pg_temp.gk(p.p), pg_temp.span(pg_temp.rnd(73, c.id), -250, 250), pg_temp.span(pg_temp.rnd(74, c.id), -250, 250)),
                   pg_temp.span(pg_temp.rnd(75, c.id), 100, 200), 8)]), 4326), c.geom))
FROM basemap.communities c
JOIN g_district d ON d.adcode = left(c.code, 6)
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(c.geom) AS p) p
WHERE c.kind = '村';

-- The countryside of each township, villages cut out.
INSERT INTO g_parcel
SELECT s.district_code, 'rural', s.id::bigint * 1000 + p.ord,
       pg_temp.pick(pg_temp.rnd(76, s.id::bigint * 1000 + p.ord),
         ARRAY['01', '02', '03', '04', '05', '06', '1704', '1705', '23'],
         ARRAY[62, 4, 8, 2, 4, 4, 8, 3, 5]::float8[]),
       pg_temp.polys(ST_Difference(p.geom, coalesce(v.geom, 'SRID=4326;POLYGON EMPTY'::geometry)))
FROM basemap.streets s
JOIN g_district d ON d.adcode = s.district_code
CROSS JOIN LATERAL pg_temp.partition(s.geom, greatest(1, round(ST_Area(pg_temp.gk(s.geom)) / 5e6 * pg_temp.scale()))::integer,
                                     pg_temp.iseed(77, s.id)) p
LEFT JOIN LATERAL (
  SELECT ST_Union(g.geom) AS geom FROM g_parcel g JOIN basemap.communities c ON c.id = g.seq
  WHERE g.kind = 'village' AND c.street_code = s.code
) v ON true
WHERE s.kind <> '街道';

DELETE FROM g_parcel WHERE geom IS NULL OR ST_IsEmpty(geom) OR pg_temp.m2(geom) < 500;

CREATE TEMP TABLE g_parcel_numbered ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY adcode, kind DESC, seq) AS id,
       adcode || '-YD-' || lpad(row_number() OVER (PARTITION BY adcode ORDER BY kind DESC, seq)::text, 5, '0') AS code,
       adcode, kind, class_code, pg_temp.m2(geom) AS area_m2, geom
FROM g_parcel;

INSERT INTO planning.land_use (id, code, class_code, district_code, area_m2, geom)
SELECT id, code, class_code, adcode, area_m2, geom FROM g_parcel_numbered;

-- 控规 for the urban blocks: indicators drawn within ranges typical of each class.
CREATE TEMP TABLE g_kg_profile (prefix text, rjl numrange, jzmd numrange, ldl numrange, jzxg numrange) ON COMMIT DROP;
INSERT INTO g_kg_profile VALUES
  ('0701', '[1.8,3.2]', '[18,30]', '[30,40]', '[45,100]'),
  ('07', '[1.0,2.0]', '[30,40]', '[25,35]', '[24,36]'),
  ('08', '[0.8,2.5]', '[25,40]', '[30,40]', '[24,60]'),
  ('09', '[2.5,6.0]', '[35,55]', '[15,25]', '[60,150]'),
  ('10', '[1.0,2.0]', '[40,60]', '[10,20]', '[24,40]'),
  ('11', '[0.8,1.5]', '[40,60]', '[10,20]', '[15,30]'),
  ('12', '[0.3,1.2]', '[20,40]', '[20,35]', '[15,24]'),
  ('13', '[0.3,1.2]', '[20,40]', '[20,35]', '[15,24]'),
  ('14', '[0.0,0.1]', '[0,5]', '[65,85]', '[6,12]'),
  ('15', '[0.5,1.5]', '[20,35]', '[30,40]', '[18,24]'),
  ('16', '[0.5,1.5]', '[20,35]', '[30,40]', '[18,24]');

CREATE FUNCTION pg_temp.within(r float8, range numrange, digits integer) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$ SELECT round((lower(range) + r::numeric * (upper(range) - lower(range))), digits) $$;

INSERT INTO planning.regulatory_parcels (id, code, class_code, rjl, jzmd, ldl, jzxg, district_code, area_m2, geom)
SELECT row_number() OVER (ORDER BY l.id),
       d.abbr || '-KG-' || lpad(row_number() OVER (PARTITION BY l.district_code ORDER BY l.id)::text, 4, '0'),
       l.class_code,
       pg_temp.within(pg_temp.rnd(81, l.id), k.rjl, 2), pg_temp.within(pg_temp.rnd(82, l.id), k.jzmd, 1),
       pg_temp.within(pg_temp.rnd(83, l.id), k.ldl, 1), round(pg_temp.within(pg_temp.rnd(84, l.id), k.jzxg, 0) / 3) * 3,
       l.district_code, l.area_m2, l.geom
FROM (SELECT id, class_code, adcode AS district_code, area_m2, geom FROM g_parcel_numbered WHERE kind = 'urban') l
JOIN g_district d ON d.adcode = l.district_code
CROSS JOIN LATERAL (SELECT * FROM g_kg_profile k WHERE l.class_code LIKE k.prefix || '%' ORDER BY length(k.prefix) DESC LIMIT 1) k;

DROP FUNCTION pg_temp.within(float8, numrange, integer);
