-- Helpers of the sample generator. They live in pg_temp for the loading session only (dropped at the end by
-- 99_cleanup.sql); the working tables are ON COMMIT DROP. Inputs: the GUCs citybase_samples.seed (integer) and
-- citybase_samples.scale (density factor, 1 = full), set by generate/index.ts with bind parameters.

-- A uniform number in [0, 1) that depends only on the seed, a stream number (one per use) and a row key:
-- the same seed gives the same data whatever order PostgreSQL evaluates rows in. hashint8extended is the
-- hash of hash partitioning, so it is stable across PostgreSQL versions.
CREATE FUNCTION pg_temp.rnd(stream integer, n bigint) RETURNS float8
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT ((hashint8extended(n, current_setting('citybase_samples.seed')::bigint * 1000 + stream) >> 11)
          & 9007199254740991)::float8 / 9007199254740992.0
$$;

-- A positive integer seed for ST_GeneratePoints.
CREATE FUNCTION pg_temp.iseed(stream integer, n bigint) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT 1 + floor(pg_temp.rnd(stream, n) * 2147483646)::integer $$;

CREATE FUNCTION pg_temp.span(r float8, lo float8, hi float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT lo + r * (hi - lo) $$;

-- Weighted choice: r in [0, 1) picks among choices in proportion to their weights (a loop: called per row, it is
-- several times faster than a window query over unnest).
CREATE FUNCTION pg_temp.pick(r float8, choices text[], weights float8[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  total float8 := 0;
  acc float8 := 0;
  w float8;
BEGIN
  FOREACH w IN ARRAY weights LOOP total := total + w; END LOOP;
  FOR i IN 1 .. cardinality(choices) LOOP
    acc := acc + weights[i];
    IF acc > r * total THEN RETURN choices[i]; END IF;
  END LOOP;
  RETURN choices[cardinality(choices)];
END
$$;

CREATE FUNCTION pg_temp.scale() RETURNS float8
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT current_setting('citybase_samples.scale')::float8 $$;

-- Metric work happens in CGCS2000 / GK CM 120E (EPSG:4549); results are stored in WGS84.
CREATE FUNCTION pg_temp.gk(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ST_Transform(g, 4549) $$;

-- The polygonal part of a geometry as a valid MultiPolygon (empty when there is none).
CREATE FUNCTION pg_temp.polys(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3)) $$;

CREATE FUNCTION pg_temp.lines(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ST_Multi(ST_CollectionExtract(g, 2)) $$;

-- Area in m² (on the GK plane: exact enough for a city this size).
CREATE FUNCTION pg_temp.m2(g geometry) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT round(ST_Area(ST_Transform(g, 4549))::numeric, 1) $$;

-- Names: the i-th of the |a|·|b| combinations of a prefix and a suffix, visited in a scrambled order (i·7 mod
-- |a|·|b|: 7 must be coprime with that product), so that i < |a|·|b| gives distinct names.
CREATE FUNCTION pg_temp.combo(i integer, a text[], b text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT a[1 + (j % cardinality(a))] || b[1 + (j / cardinality(a))]
  FROM (SELECT (i * 7) % (cardinality(a) * cardinality(b)) AS j) x
$$;
