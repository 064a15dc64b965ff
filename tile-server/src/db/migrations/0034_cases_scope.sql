-- Cases limited to a principal's scope (行政区划 codes) everywhere they are shown: the API's lists and sheets
-- (tile-server/src/cases/actor.ts), the open-cases tile function and the closed-cases view. One rule, here:
-- a case belongs to the most detailed division found for its point (社区, else 街道, else 区县), and a scope
-- covers the codes that start with it (320812 the district, 320812001 one of its streets).

CREATE FUNCTION cases.scope_code(community_code text, street_code text, district_code text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(community_code, street_code, district_code, '')
$$;

-- NULL scopes: not limited (a city-wide principal).
CREATE FUNCTION cases.in_scope(code text, scopes text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT scopes IS NULL OR EXISTS (SELECT 1 FROM unnest(scopes) s WHERE code LIKE s || '%')
$$;

-- The map views carry the case's scope code (appended: the views' earlier columns stay as they were).
CREATE OR REPLACE VIEW cases.cases_map AS
SELECT c.id, c.code, c.category_code, k.name AS category_name, k.kind, k.major_name, c.state, s.name_zh AS state_name,
       s.closed, c.source, c.urgency, c.district_code, c.street_code, c.department_id, c.parked, c.supervised,
       c.rework_count, o.step, o.due_at, coalesce(o.overdue, false) AS overdue, coalesce(o.warning, false) AS warning,
       c.reported_at, c.closed_at, c.geom,
       cases.scope_code(c.community_code, c.street_code, c.district_code) AS scope_code
FROM cases.cases c
JOIN cases.categories k ON k.code = c.category_code
JOIN cases.states s ON s.code = c.state
LEFT JOIN cases.open_steps o ON o.case_id = c.id;

-- cases_closed is a table layer scoped by this column (layers/cases_closed.json, "scope": {"column": "scope_code"}).
CREATE OR REPLACE VIEW cases.closed_cases_map AS
SELECT id, code, category_code, category_name, kind, state, state_name, district_code, department_id, rework_count,
       reported_at, closed_at, geom, scope_code
FROM cases.cases_map WHERE closed AND state NOT IN ('merged');

-- cases_open is a function layer that is never cached (its clock moves with time alone); declared scoped, it
-- takes the caller's scopes as a fourth argument and keeps the cases inside them.
DROP FUNCTION cases.open_cases_tile(integer, integer, integer);
CREATE FUNCTION cases.open_cases_tile(z integer, x integer, y integer, scopes text[]) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT ST_AsMVT(t, 'cases_open', 4096, 'geom', 'id')
  FROM (
    SELECT m.id, m.code, m.category_code, m.category_name, m.kind, m.state, m.state_name, m.urgency, m.district_code,
           m.department_id, m.parked, m.supervised, m.overdue, m.warning,
           to_char(m.due_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS due_local,
           ST_AsMVTGeom(ST_Transform(m.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64) AS geom
    FROM cases.cases_map m
    WHERE NOT m.closed AND m.geom && ST_Transform(ST_TileEnvelope(z, x, y, margin => 64.0 / 4096), 4326)
      AND cases.in_scope(m.scope_code, scopes)
    ORDER BY m.id
  ) AS t
$$;
