-- The public view's point typed geometry(Point, 4326). Its expression (a cell's point on surface, else the case's
-- point snapped) gave an untyped column, so a server started while the view had no rows could not read its SRID
-- and published the layer `cases_public` as provisional: every later change notification of cases.cases (every
-- report and transition) then made each server refresh its layer registry (catalog queries in the database),
-- a third of the database time of the transitions in bench:cases. The rows are unchanged.
DROP VIEW cases.public_map;
DROP VIEW cases.public_cases;

CREATE VIEW cases.public_cases AS
SELECT c.id, k.name AS category_name, k.kind, s.name_zh AS state_name, s.open311 AS status,
       to_char(c.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS reported_on,
       coalesce((SELECT ST_PointOnSurface(g.geom) FROM urban.grid_cells g WHERE g.code = c.grid_code),
                ST_SnapToGrid(c.geom, 0.002))::geometry(Point, 4326) AS geom
FROM cases.cases c
JOIN cases.categories k ON k.code = c.category_code
JOIN cases.states s ON s.code = c.state
WHERE c.state NOT IN ('merged', 'cancelled');

CREATE VIEW cases.public_map AS
SELECT p.id, p.category_name, p.kind, p.state_name, p.status, p.reported_on, p.geom
FROM cases.public_cases p
JOIN cases.cases c ON c.id = p.id
JOIN cases.categories k ON k.code = c.category_code
WHERE k.published AND c.state NOT IN ('reported', 'verifying', 'rejected');
