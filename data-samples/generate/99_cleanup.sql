-- The helpers go with the generation (the working tables go at commit).
DROP FUNCTION pg_temp.partition(geometry, integer, integer);
DROP FUNCTION pg_temp.combo(integer, text[], text[]);
DROP FUNCTION pg_temp.m2(geometry);
DROP FUNCTION pg_temp.lines(geometry);
DROP FUNCTION pg_temp.polys(geometry);
DROP FUNCTION pg_temp.gk(geometry);
DROP FUNCTION pg_temp.scale();
DROP FUNCTION pg_temp.pick(float8, text[], float8[]);
DROP FUNCTION pg_temp.span(float8, float8, float8);
DROP FUNCTION pg_temp.iseed(integer, bigint);
DROP FUNCTION pg_temp.rnd(integer, bigint);
