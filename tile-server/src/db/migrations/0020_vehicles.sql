-- The vehicle monitoring desk (issue 12): registered vehicles and their JT/T 808 terminals, positions partitioned
-- by day (retention drops whole days, never DELETEs), the latest position of each vehicle, rejected fixes with
-- their reason. Imported track files (import/vehicles) land in the same tables.

ALTER TABLE vehicles.vehicles
  ADD COLUMN plate        text CHECK (plate ~ '^[^[:space:][:cntrl:]]{1,16}$'),
  -- JT/T 415 plate colour: 0 unplated, 1 blue, 2 yellow, 3 black, 4 white, 5 green, 9 other.
  ADD COLUMN plate_color  smallint CHECK (plate_color BETWEEN 0 AND 255),
  ADD COLUMN vehicle_type text NOT NULL DEFAULT 'other'
    CHECK (vehicle_type IN ('muck_truck', 'dangerous_goods', 'school_bus', 'bus', 'taxi', 'other')),
  ADD COLUMN company      text;
CREATE UNIQUE INDEX vehicles_plate ON vehicles.vehicles (plate, plate_color) WHERE plate IS NOT NULL;

-- One terminal per vehicle, known by its phone (the BCD phone without its leading zeros, so a terminal is the
-- same under 2013's BCD[6] and 2019's BCD[10]). Registration (0x0100) fills terminal_id and issues an auth code,
-- kept only as a SHA-256 hash.
CREATE TABLE vehicles.terminals (
  phone          text PRIMARY KEY CHECK (phone ~ '^[1-9][0-9]{0,19}$'),
  vehicle_id     text NOT NULL UNIQUE REFERENCES vehicles.vehicles (id) ON DELETE CASCADE,
  terminal_id    text,
  maker          text,
  model          text,
  auth_hash      text,
  registered_at  timestamptz,
  last_seen_at   timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- Positions by day instead of by month: a day is the unit of retention. Rows of the old monthly table move over.
ALTER TABLE vehicles.positions RENAME TO positions_by_month;
ALTER INDEX IF EXISTS vehicles.positions_pkey RENAME TO positions_by_month_pkey;

CREATE TABLE vehicles.positions (
  vehicle_id  text NOT NULL REFERENCES vehicles.vehicles (id),
  fix_time    timestamptz NOT NULL,
  geom        geometry(Point, 4326) NOT NULL,
  speed_kmh   real,
  course      real CHECK (course >= 0 AND course < 360),
  altitude_m  real,
  source      text NOT NULL,
  -- JT/T 808 extras (null for imported logs): alarm and status words, mileage, satellites, decoded and raw
  -- additional items, when the platform received the fix, and whether it came as blind-area backfill.
  alarm       bigint,
  status      bigint,
  mileage_km  double precision,
  satellites  smallint,
  extras      jsonb,
  received_at timestamptz,
  backfill    boolean NOT NULL DEFAULT false,
  PRIMARY KEY (vehicle_id, fix_time)
) PARTITION BY RANGE (fix_time);
CREATE INDEX ON vehicles.positions USING gist (geom);

-- Fixes the filters refused, with the reason (same day partitions, same retention).
CREATE TABLE vehicles.rejected_fixes (
  vehicle_id  text NOT NULL,
  fix_time    timestamptz,
  received_at timestamptz NOT NULL,
  lon         double precision,
  lat         double precision,
  reason      text NOT NULL
) PARTITION BY RANGE (received_at);
CREATE INDEX ON vehicles.rejected_fixes (vehicle_id, received_at);

-- The partition keeper: day partitions [00:00Z, 24:00Z) named <table>_YYYYMMDD, made on demand by the writer
-- and ahead of time by the platform; retention detaches nothing and deletes nothing, it drops whole days.
CREATE FUNCTION vehicles.ensure_day(parent text, t timestamptz) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  first date := (t AT TIME ZONE 'UTC')::date;
  name  text := format('%s_%s', parent, to_char(first, 'YYYYMMDD'));
BEGIN
  IF parent NOT IN ('positions', 'rejected_fixes') THEN
    RAISE EXCEPTION 'no day partitions for vehicles.%', parent;
  END IF;
  IF to_regclass(format('vehicles.%I', name)) IS NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext('citybase.vehicle-partitions'));
    IF to_regclass(format('vehicles.%I', name)) IS NULL THEN
      EXECUTE format('CREATE TABLE vehicles.%I PARTITION OF vehicles.%I FOR VALUES FROM (%L) TO (%L)',
                     name, parent, first::timestamp AT TIME ZONE 'UTC', (first + 1)::timestamp AT TIME ZONE 'UTC');
    END IF;
  END IF;
END
$fn$;

-- The importer asks for a month: make its days.
CREATE OR REPLACE FUNCTION vehicles.ensure_month(t timestamptz) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  first date := date_trunc('month', t AT TIME ZONE 'UTC')::date;
  d date;
BEGIN
  FOR d IN SELECT generate_series(first, (first + interval '1 month' - interval '1 day')::date, interval '1 day')::date LOOP
    PERFORM vehicles.ensure_day('positions', d::timestamp AT TIME ZONE 'UTC');
  END LOOP;
END
$fn$;

-- Drop the day partitions that end on or before the cutoff; returns the names dropped.
CREATE FUNCTION vehicles.drop_days_before(cutoff timestamptz) RETURNS SETOF text
LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT c.relname
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    JOIN pg_namespace n ON n.oid = p.relnamespace
    WHERE n.nspname = 'vehicles' AND p.relname IN ('positions', 'rejected_fixes')
      AND c.relname ~ '_[0-9]{8}$'
      AND (to_date(right(c.relname, 8), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= cutoff
    ORDER BY c.relname
  LOOP
    EXECUTE format('DROP TABLE vehicles.%I', r.relname);
    RETURN NEXT r.relname;
  END LOOP;
END
$fn$;

DO $$
DECLARE
  d date;
BEGIN
  FOR d IN SELECT DISTINCT (fix_time AT TIME ZONE 'UTC')::date FROM vehicles.positions_by_month LOOP
    PERFORM vehicles.ensure_day('positions', d::timestamp AT TIME ZONE 'UTC');
  END LOOP;
END
$$;
INSERT INTO vehicles.positions (vehicle_id, fix_time, geom, speed_kmh, course, altitude_m, source)
SELECT vehicle_id, fix_time, geom, speed_kmh, course, altitude_m, source FROM vehicles.positions_by_month;
DROP TABLE vehicles.positions_by_month;

-- The live state: one row per vehicle, the newest fix (backfill never moves it back in time).
CREATE TABLE vehicles.latest (
  vehicle_id  text PRIMARY KEY REFERENCES vehicles.vehicles (id) ON DELETE CASCADE,
  fix_time    timestamptz NOT NULL,
  geom        geometry(Point, 4326) NOT NULL,
  speed_kmh   real,
  course      real,
  alarm       bigint,
  status      bigint,
  received_at timestamptz NOT NULL
);
