-- The cases as layers (layers/cases_*.json).
--
-- Open cases carry their SLA clock, which changes with time alone (a case becomes 超期 at its deadline with no
-- write to any table), so their tiles are made by a function the registry never caches: every tile is as of
-- the request. Closed cases and the public view change only by writes, so they are views the triggers keep fresh.

CREATE FUNCTION cases.open_cases_tile(z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT ST_AsMVT(t, 'cases_open', 4096, 'geom', 'id')
  FROM (
    SELECT m.id, m.code, m.category_code, m.category_name, m.kind, m.state, m.state_name, m.urgency, m.district_code,
           m.department_id, m.parked, m.supervised, m.overdue, m.warning,
           to_char(m.due_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS due_local,
           ST_AsMVTGeom(ST_Transform(m.geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64) AS geom
    FROM cases.cases_map m
    WHERE NOT m.closed AND m.geom && ST_Transform(ST_TileEnvelope(z, x, y, margin => 64.0 / 4096), 4326)
    ORDER BY m.id
  ) AS t
$$;

CREATE VIEW cases.closed_cases_map AS
SELECT id, code, category_code, category_name, kind, state, state_name, district_code, department_id, rework_count,
       reported_at, closed_at, geom
FROM cases.cases_map WHERE closed AND state NOT IN ('merged');

-- 政务公开: what the centre publishes once a case is filed (立案): category, state, the grid cell's centre.
CREATE VIEW cases.public_map AS
SELECT p.id, p.category_name, p.kind, p.state_name, p.status, p.reported_on, p.geom
FROM cases.public_cases p
JOIN cases.cases c ON c.id = p.id
JOIN cases.categories k ON k.code = c.category_code
WHERE k.published AND c.state NOT IN ('reported', 'verifying', 'rejected');
