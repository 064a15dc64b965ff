-- Main roads: trunk roads between the district seats (gently bent), a grid of urban arterials in each urban area,
-- and one railway; all cut to the land of the generated districts (none in the lakes).

CREATE TEMP TABLE g_land ON COMMIT DROP AS SELECT ST_Union(land) AS geom FROM g_district;

CREATE TEMP TABLE g_road (name text, kind text, geom geometry) ON COMMIT DROP;

INSERT INTO g_road
SELECT r.name, r.kind, pg_temp.lines(ST_Intersection(ST_Transform(ST_MakeLine(ARRAY[
         a.p,
         ST_Translate(ST_LineInterpolatePoint(ST_MakeLine(a.p, b.p), 1 / 3.0), -dy * j1, dx * j1),
         ST_Translate(ST_LineInterpolatePoint(ST_MakeLine(a.p, b.p), 2 / 3.0), -dy * j2, dx * j2),
         b.p]), 4326), (SELECT geom FROM g_land)))
FROM g_roads r
JOIN LATERAL (SELECT pg_temp.gk(seat) AS p FROM g_district WHERE adcode = r.from_code) a ON true
JOIN LATERAL (SELECT pg_temp.gk(seat) AS p FROM g_district WHERE adcode = r.to_code) b ON true
CROSS JOIN LATERAL (
  SELECT ST_X(b.p) - ST_X(a.p) AS dx, ST_Y(b.p) - ST_Y(a.p) AS dy,
         pg_temp.span(pg_temp.rnd(61, r.seq), -0.08, 0.08) AS j1, pg_temp.span(pg_temp.rnd(62, r.seq), -0.08, 0.08) AS j2
) v;

-- Arterials every 1 km each way across the urban area, alternately 主干路 and 次干路.
INSERT INTO g_road
SELECT d.short || n || CASE WHEN vertical THEN '号纵路' ELSE '号横路' END,
       CASE WHEN n % 2 = 1 THEN '城市主干路' ELSE '城市次干路' END,
       pg_temp.lines(ST_Intersection(ST_Transform(line, 4326), u.geom))
FROM g_district d
JOIN g_urban u USING (adcode)
CROSS JOIN LATERAL (SELECT ST_Envelope(pg_temp.gk(u.geom)) AS box) b
CROSS JOIN LATERAL (
  SELECT true AS vertical, row_number() OVER (ORDER BY x) AS n,
         ST_SetSRID(ST_MakeLine(ST_Point(x, ST_YMin(b.box)), ST_Point(x, ST_YMax(b.box))), 4549) AS line
  FROM generate_series(ceil(ST_XMin(b.box) / 1000)::integer * 1000, floor(ST_XMax(b.box) / 1000)::integer * 1000, 1000) AS x
  UNION ALL
  SELECT false, row_number() OVER (ORDER BY y DESC),
         ST_SetSRID(ST_MakeLine(ST_Point(ST_XMin(b.box), y), ST_Point(ST_XMax(b.box), y)), 4549)
  FROM generate_series(ceil(ST_YMin(b.box) / 1000)::integer * 1000, floor(ST_YMax(b.box) / 1000)::integer * 1000, 1000) AS y
) l;

INSERT INTO g_road
SELECT name, '铁路', pg_temp.lines(ST_Intersection(geom, (SELECT geom FROM g_land))) FROM g_railway;

INSERT INTO basemap.roads (id, name, kind, geom)
SELECT row_number() OVER (ORDER BY kind, name), name, kind, geom
FROM g_road WHERE NOT ST_IsEmpty(geom);
