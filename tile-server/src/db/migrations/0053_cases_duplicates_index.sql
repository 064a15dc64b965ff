-- Possible duplicates of a new report: the same as 0032, plus a bounding box on the planar geometry so the
-- spatial index answers first. `ST_DWithin(geom::geography, …)` alone cannot use the geometry's GiST index, so
-- every open case of the category within the window was measured (a busy category in a big city: thousands, for
-- each report). The box is the radius in degrees with margin: a degree of longitude is at least 60 km up to
-- latitude 57° (all of China south of the Amur), and a degree of latitude about 111 km; the exact test stays
-- on the spheroid.
CREATE OR REPLACE FUNCTION cases.duplicates_of(p_category text, p_geom geometry, at timestamptz, p_exclude bigint)
RETURNS TABLE (id bigint, code text, state text, distance_m double precision, reported_at timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT c.id, c.code, c.state, ST_Distance(c.geom::geography, p_geom::geography), c.reported_at
  FROM cases.cases c
  JOIN cases.categories k ON k.code = c.category_code
  JOIN cases.states s ON s.code = c.state
  WHERE c.category_code = p_category AND NOT s.closed AND c.id IS DISTINCT FROM p_exclude
    AND c.reported_at BETWEEN at - k.duplicate_window_h * interval '1 hour' AND at + interval '1 minute'
    AND c.geom && ST_Expand(p_geom, (SELECT duplicate_radius_m FROM cases.categories WHERE code = p_category) / 60000.0)
    AND ST_DWithin(c.geom::geography, p_geom::geography, k.duplicate_radius_m)
  ORDER BY 4, c.id
  LIMIT 20
$$;
