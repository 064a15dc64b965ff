-- Fences and alarms of the vehicle desk (issue 12). Alarm states move only through vehicles/alarms/lifecycle.ts
-- (a transition table and one function, applied in a transaction that locks the row and writes the audit).

CREATE TABLE vehicles.fences (
  id              serial PRIMARY KEY,
  department_id   text NOT NULL REFERENCES citybase.departments (id),
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- 禁行区 no_entry, 限速区 speed_limit, 停车场/工地/消纳场 expected_stop, 线路 route
  kind            text NOT NULL CHECK (kind IN ('no_entry', 'speed_limit', 'expected_stop', 'route')),
  -- a Polygon; a Point with radius_m (circle); a LineString with width_m (corridor)
  geom            geometry(Geometry, 4326) NOT NULL CHECK (GeometryType(geom) IN ('POLYGON', 'POINT', 'LINESTRING')),
  radius_m        real CHECK (radius_m > 0),
  width_m         real CHECK (width_m > 0),
  speed_limit_kmh real CHECK (speed_limit_kmh > 0),
  vehicle_types   text[],          -- null = every type
  schedule        jsonb,           -- [{ "days": [1..7], "from": "07:00", "to": "22:00" }] in the city's time; null = always
  dwell_s         integer NOT NULL DEFAULT 30 CHECK (dwell_s >= 0),
  created_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (GeometryType(geom) <> 'POINT' OR radius_m IS NOT NULL),
  CHECK (GeometryType(geom) <> 'LINESTRING' OR width_m IS NOT NULL)
);
CREATE INDEX ON vehicles.fences USING gist (geom);

CREATE TABLE vehicles.alarms (
  id              bigserial PRIMARY KEY,
  vehicle_id      text NOT NULL REFERENCES vehicles.vehicles (id) ON DELETE CASCADE,
  department_id   text NOT NULL,
  type            text NOT NULL,
  fence_id        integer REFERENCES vehicles.fences (id) ON DELETE SET NULL,
  state           text NOT NULL DEFAULT 'raised' CHECK (state IN ('raised', 'acknowledged', 'closed')),
  first_at        timestamptz NOT NULL,
  last_at         timestamptz NOT NULL,
  repeats         integer NOT NULL DEFAULT 1,
  lon             double precision,
  lat             double precision,
  detail          jsonb,
  acknowledged_by text,
  acknowledged_at timestamptz,
  note            text,
  closed_at       timestamptz
);
-- Repeats collapse into the one open alarm of a vehicle, type and fence.
CREATE UNIQUE INDEX alarms_one_open ON vehicles.alarms (vehicle_id, type, coalesce(fence_id, 0)) WHERE state <> 'closed';
CREATE INDEX ON vehicles.alarms (department_id, first_at DESC);

CREATE TABLE vehicles.alarm_audit (
  id       bigserial PRIMARY KEY,
  alarm_id bigint NOT NULL REFERENCES vehicles.alarms (id) ON DELETE CASCADE,
  action   text NOT NULL,
  from_state text NOT NULL,
  to_state text NOT NULL,
  actor    text NOT NULL,
  note     text,
  at       timestamptz NOT NULL DEFAULT now()
);
