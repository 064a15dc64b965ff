-- The case pipeline's lookups, in SQL so the API, Open311 and scripts share them: the responsible department
-- (routing table, else the 责任网格's department), the next case code, and the duplicates of a report.

INSERT INTO cases.settings (key, value) VALUES ('default_department', 'cgj');

-- category + 责任网格 → department: the most specific routing row (小类 over 大类 over kind, a named 责任网格 over
-- any), else the department of the 责任网格 itself, else the default.
CREATE FUNCTION cases.route(p_category text, p_area text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    (SELECT r.department_id FROM cases.routing r JOIN cases.categories c ON c.code = p_category
     WHERE (r.kind IS NULL OR r.kind = c.kind)
       AND (r.major IS NULL OR p_category LIKE r.major || '%')
       AND (r.category_code IS NULL OR r.category_code = p_category)
       AND (r.responsibility_area IS NULL OR r.responsibility_area = p_area)
     ORDER BY (r.responsibility_area IS NOT NULL) DESC, (r.category_code IS NOT NULL) DESC, (r.major IS NOT NULL) DESC,
              (r.kind IS NOT NULL) DESC, r.id
     LIMIT 1),
    (SELECT department_id FROM urban.responsibility_areas WHERE code = p_area),
    (SELECT value FROM cases.settings WHERE key = 'default_department'))
$$;

-- 320800 + local yyyymmdd + a sequence of the day (4 digits, more when a day has more than 9,999 cases).
CREATE FUNCTION cases.next_code(at timestamptz) RETURNS text LANGUAGE sql AS $$
  INSERT INTO cases.code_counters AS k (day, last) VALUES ((at AT TIME ZONE cases.time_zone())::date, 1)
  ON CONFLICT (day) DO UPDATE SET last = k.last + 1
  RETURNING '320800' || to_char(day, 'YYYYMMDD') || lpad(last::text, 4, '0')
$$;

-- Open cases of the same 小类 within the category's radius and time window of a place and instant, nearest first.
CREATE FUNCTION cases.duplicates_of(p_category text, p_geom geometry, at timestamptz, p_exclude bigint)
RETURNS TABLE (id bigint, code text, state text, distance_m double precision, reported_at timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT c.id, c.code, c.state, ST_Distance(c.geom::geography, p_geom::geography), c.reported_at
  FROM cases.cases c
  JOIN cases.categories k ON k.code = c.category_code
  JOIN cases.states s ON s.code = c.state
  WHERE c.category_code = p_category AND NOT s.closed AND c.id IS DISTINCT FROM p_exclude
    AND c.reported_at BETWEEN at - k.duplicate_window_h * interval '1 hour' AND at + interval '1 minute'
    AND ST_DWithin(c.geom::geography, p_geom::geography, k.duplicate_radius_m)
  ORDER BY 4, c.id
  LIMIT 20
$$;
