-- The platform's own schema: departments, API keys, state, and the change notifications that keep tile caches fresh.

CREATE SCHEMA IF NOT EXISTS citybase;
-- Tables and views created here by anyone are published as layers without code or restart.
CREATE SCHEMA IF NOT EXISTS contrib;
-- The base map's tables (data-samples/ fills them on first start).
CREATE SCHEMA IF NOT EXISTS basemap;

CREATE TABLE citybase.departments (
  id      text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_]*$'),
  name_zh text NOT NULL,
  name_en text NOT NULL
);

-- Keys are shown once when created; only their SHA-256 is kept (they are random 256-bit secrets, so a slow
-- password hash adds nothing).
CREATE TABLE citybase.api_keys (
  id            serial PRIMARY KEY,
  department_id text NOT NULL REFERENCES citybase.departments (id),
  key_hash      text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  label         text NOT NULL DEFAULT '',
  rights        text[] NOT NULL DEFAULT '{read}',
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz
);

CREATE TABLE citybase.state (
  key        text PRIMARY KEY,
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Statement-level trigger: one notification per statement, carrying the WGS84 boxes of every changed row
-- (old and new versions), so the server evicts exactly the cached tiles that cover them. Beyond 64 rows the
-- boxes are merged into their extent to stay far below NOTIFY's 8000-byte payload limit.
-- TG_ARGV[0]: geometry column ('' = report the whole table), TG_ARGV[1]: SRID to assume for SRID-0 data.
CREATE FUNCTION citybase.notify_tile_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  rel   text := format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME);
  col   text := TG_ARGV[0];
  srid  integer := TG_ARGV[1]::integer;
  rows  text;
  boxes jsonb;
BEGIN
  IF TG_OP = 'TRUNCATE' OR col = '' THEN
    PERFORM pg_notify('citybase_tiles', jsonb_build_object('table', rel, 'all', true)::text);
    RETURN NULL;
  END IF;
  rows := CASE TG_OP
    WHEN 'INSERT' THEN format('SELECT %I AS g FROM new_rows', col)
    WHEN 'DELETE' THEN format('SELECT %I AS g FROM old_rows', col)
    ELSE format('SELECT %1$I AS g FROM old_rows UNION ALL SELECT %1$I AS g FROM new_rows', col)
  END;
  EXECUTE format($q$
    WITH changed AS (
      SELECT DISTINCT ST_Transform(
               CASE WHEN ST_SRID(g) = 0 THEN ST_SetSRID(ST_Envelope(g), $1) ELSE ST_Envelope(g) END, 4326) AS e
      FROM (%s) AS r
      WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)
    ), merged AS (
      SELECT CASE WHEN count(*) <= 64 THEN array_agg(e) ELSE ARRAY[ST_SetSRID(ST_Extent(e)::geometry, 4326)] END AS es
      FROM changed
    )
    SELECT jsonb_agg(jsonb_build_array(
             floor(ST_XMin(e) * 1e6) / 1e6, floor(ST_YMin(e) * 1e6) / 1e6,
             ceil(ST_XMax(e) * 1e6) / 1e6, ceil(ST_YMax(e) * 1e6) / 1e6))
    FROM merged, unnest(merged.es) AS e
  $q$, rows) INTO boxes USING srid;
  IF boxes IS NOT NULL THEN
    PERFORM pg_notify('citybase_tiles', jsonb_build_object('table', rel, 'boxes', boxes)::text);
  END IF;
  RETURN NULL;
END
$fn$;

-- Attach (or re-attach) the change triggers to a table. Idempotent; called by the registry for every table a
-- layer reads. geom_col '' means "any change invalidates the whole layer" (tables behind views).
CREATE FUNCTION citybase.watch_table(rel regclass, geom_col text, srid integer) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  args text := format('%L, %L', geom_col, srid);
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS citybase_tiles_insert ON %s', rel);
  EXECUTE format('DROP TRIGGER IF EXISTS citybase_tiles_update ON %s', rel);
  EXECUTE format('DROP TRIGGER IF EXISTS citybase_tiles_delete ON %s', rel);
  EXECUTE format('DROP TRIGGER IF EXISTS citybase_tiles_truncate ON %s', rel);
  EXECUTE format('CREATE TRIGGER citybase_tiles_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows
                  FOR EACH STATEMENT EXECUTE FUNCTION citybase.notify_tile_change(%s)', rel, args);
  EXECUTE format('CREATE TRIGGER citybase_tiles_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                  FOR EACH STATEMENT EXECUTE FUNCTION citybase.notify_tile_change(%s)', rel, args);
  EXECUTE format('CREATE TRIGGER citybase_tiles_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows
                  FOR EACH STATEMENT EXECUTE FUNCTION citybase.notify_tile_change(%s)', rel, args);
  EXECUTE format('CREATE TRIGGER citybase_tiles_truncate AFTER TRUNCATE ON %s
                  FOR EACH STATEMENT EXECUTE FUNCTION citybase.notify_tile_change(%s)', rel, args);
END
$fn$;

-- DDL in schema contrib and REFRESH MATERIALIZED VIEW wake the registry at once instead of at its next poll.
-- Event triggers need a superuser; without one the poll (CONTRIB_POLL_MS) still publishes new tables.
CREATE FUNCTION citybase.notify_catalog_change() RETURNS event_trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  cmd record;
BEGIN
  FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
    IF cmd.command_tag = 'REFRESH MATERIALIZED VIEW' THEN
      PERFORM pg_notify('citybase_tiles', jsonb_build_object('table', cmd.object_identity, 'all', true)::text);
    ELSIF cmd.schema_name = 'contrib' THEN
      PERFORM pg_notify('citybase_catalog', cmd.object_identity);
    END IF;
  END LOOP;
END
$fn$;

CREATE FUNCTION citybase.notify_catalog_drop() RETURNS event_trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() WHERE schema_name = 'contrib') THEN
    PERFORM pg_notify('citybase_catalog', 'drop');
  END IF;
END
$fn$;

DO $do$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    CREATE EVENT TRIGGER citybase_catalog_change ON ddl_command_end EXECUTE FUNCTION citybase.notify_catalog_change();
    CREATE EVENT TRIGGER citybase_catalog_drop ON sql_drop EXECUTE FUNCTION citybase.notify_catalog_drop();
  END IF;
END
$do$;

-- Base map tables (the themes add their own schemas in later migrations).
CREATE TABLE basemap.prefecture (
  id      integer PRIMARY KEY,
  name    text NOT NULL,
  adcode  text NOT NULL,
  geom    geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX ON basemap.prefecture USING gist (geom);

CREATE TABLE basemap.places (
  id       integer PRIMARY KEY,
  name     text NOT NULL,
  name_zh  text,
  kind     text NOT NULL,
  rank     integer NOT NULL,
  pop_max  integer,
  geom     geometry(Point, 4326) NOT NULL
);
CREATE INDEX ON basemap.places USING gist (geom);

INSERT INTO citybase.departments (id, name_zh, name_en) VALUES
  ('zrzy', '淮安市自然资源和规划局', 'Huai''an Natural Resources and Planning Bureau'),
  ('cgj', '淮安市城市管理局', 'Huai''an City Administration Bureau'),
  ('rfb', '淮安市人民防空办公室', 'Huai''an Civil Air Defence Office'),
  ('sthj', '淮安市生态环境局', 'Huai''an Ecology and Environment Bureau'),
  ('jtj', '淮安市交通运输局', 'Huai''an Transport Bureau'),
  ('dsj', '淮安市大数据管理局', 'Huai''an Big Data Administration');

-- The registry's look at an untyped or SRID-0 geometry column: the SRID of a stored value and the distinct
-- geometry types among the first 1000 (pg_tileserv refuses such columns; we publish them).
CREATE FUNCTION citybase.sample_geometry(sch text, tbl text, col text, OUT srid integer, OUT types text[])
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  EXECUTE format(
    'SELECT max(ST_SRID(g)), array_agg(DISTINCT upper(GeometryType(g)))
     FROM (SELECT %1$I AS g FROM %2$I.%3$I WHERE %1$I IS NOT NULL LIMIT 1000) AS s', col, sch, tbl)
  INTO srid, types;
END
$fn$;
