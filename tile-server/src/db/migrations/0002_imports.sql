-- The import pipeline (import/): imported layers and their definitions, import jobs and history, and the
-- vehicle positions store with its derived trips and stops.

-- Imported layers live here, one table per layer, named after the layer id: EPSG:4326, column geom (GiST),
-- integer id fid (the feature's number in the file).
CREATE SCHEMA IF NOT EXISTS imports;

-- Registry layers that are not files in layers/: written by the importer in the transaction that swaps the
-- layer's table, read by the registry at start and on NOTIFY citybase_catalog. Same JSON as layers/*.json.
CREATE TABLE citybase.layer_definitions (
  id         text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_]{0,62}$'),
  definition jsonb NOT NULL CHECK (definition->>'id' = id),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every committed import: what, how, and a fingerprint of the file (an append of the same file is done once).
CREATE TABLE citybase.import_log (
  id          bigserial PRIMARY KEY,
  layer       text NOT NULL,
  mode        text NOT NULL CHECK (mode IN ('replace', 'append', 'vehicle')),
  sha256      text NOT NULL,
  file_name   text NOT NULL,
  summary     jsonb NOT NULL,
  imported_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON citybase.import_log (layer, imported_at);

-- Jobs of the HTTP API (POST /api/imports): run in the server process, one at a time per layer.
CREATE TABLE citybase.import_jobs (
  id            bigserial PRIMARY KEY,
  department_id text NOT NULL REFERENCES citybase.departments (id),
  key_id        integer REFERENCES citybase.api_keys (id),
  target        text NOT NULL, -- layer id, or vehicle:<id>
  file_name     text NOT NULL,
  options       jsonb NOT NULL,
  status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  progress      jsonb,
  summary       jsonb,
  error         text,
  rejected      jsonb, -- the first rejected rows [{row, reason}]
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz
);

-- ---- vehicles ----
CREATE SCHEMA IF NOT EXISTS vehicles;

CREATE TABLE vehicles.vehicles (
  id            text PRIMARY KEY CHECK (id ~ '^[^[:space:][:cntrl:]]{1,64}$'),
  department_id text NOT NULL REFERENCES citybase.departments (id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per accepted fix. Partitioned by month (partitions are made by the importer as data arrives:
-- vehicles.ensure_month), so old months can be detached or dropped whole. Re-importing a file adds nothing:
-- a vehicle has one fix per instant.
CREATE TABLE vehicles.positions (
  vehicle_id text NOT NULL REFERENCES vehicles.vehicles (id),
  fix_time   timestamptz NOT NULL,
  geom       geometry(Point, 4326) NOT NULL,
  speed_kmh  real,
  course     real CHECK (course >= 0 AND course < 360),
  altitude_m real,
  source     text NOT NULL,
  PRIMARY KEY (vehicle_id, fix_time)
) PARTITION BY RANGE (fix_time);
CREATE INDEX ON vehicles.positions USING gist (geom);

CREATE FUNCTION vehicles.ensure_month(t timestamptz) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  first date := date_trunc('month', t AT TIME ZONE 'UTC')::date;
  name  text := format('positions_%s', to_char(first, 'YYYY_MM'));
BEGIN
  IF to_regclass(format('vehicles.%I', name)) IS NULL THEN
    EXECUTE format('CREATE TABLE vehicles.%I PARTITION OF vehicles.positions FOR VALUES FROM (%L) TO (%L)',
                   name, first::timestamp AT TIME ZONE 'UTC', (first + interval '1 month')::timestamp AT TIME ZONE 'UTC');
  END IF;
END
$fn$;

-- Derived from the positions by stay-point detection (import/vehicles/staypoints.ts); recomputed for the
-- stretch of time an import touches.
CREATE TABLE vehicles.stops (
  id          bigserial PRIMARY KEY,
  vehicle_id  text NOT NULL REFERENCES vehicles.vehicles (id),
  arrive      timestamptz NOT NULL,
  leave       timestamptz NOT NULL,
  duration_s  integer NOT NULL,
  fixes       integer NOT NULL,
  geom        geometry(Point, 4326) NOT NULL,
  CHECK (leave >= arrive)
);
CREATE INDEX ON vehicles.stops (vehicle_id, arrive);
CREATE INDEX ON vehicles.stops USING gist (geom);

CREATE TABLE vehicles.trips (
  id            bigserial PRIMARY KEY,
  vehicle_id    text NOT NULL REFERENCES vehicles.vehicles (id),
  start_time    timestamptz NOT NULL,
  end_time      timestamptz NOT NULL,
  duration_s    integer NOT NULL,
  distance_m    double precision NOT NULL,
  avg_speed_kmh real NOT NULL,
  max_speed_kmh real,
  fixes         integer NOT NULL,
  geom          geometry(LineString, 4326) NOT NULL,
  CHECK (end_time >= start_time)
);
CREATE INDEX ON vehicles.trips (vehicle_id, start_time);
CREATE INDEX ON vehicles.trips USING gist (geom);
