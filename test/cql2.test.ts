// CQL2-text: the parser, the canonical text, the compiler's SQL and bind parameters, and the limits. No database
// here: what the compiled SQL selects is checked against PostGIS in cql2-filters.test.ts.
import test from 'ava';
import { toText } from '../tile-server/src/features/cql2/ast.ts';
import { compileFilter, type FilterTarget, type Queryable } from '../tile-server/src/features/cql2/compile.ts';
import { Cql2Error } from '../tile-server/src/features/cql2/errors.ts';
import { parseCql2 } from '../tile-server/src/features/cql2/parser.ts';
import { GeometryError, checkGeometry } from '../tile-server/src/features/geometry.ts';

/** A layer like fx_buildings: what the registry would resolve, as the compiler sees it. */
const columns: Record<string, Queryable> = {
  floors: { sql: 't."floors"', type: 'integer', pgType: 'int4' },
  taxes: { sql: 't."taxes"', type: 'number', pgType: 'numeric' },
  height: { sql: 't."height"', type: 'number', pgType: 'float8' },
  owner: { sql: 't."owner"', type: 'string', pgType: 'text' },
  swimming_pool: { sql: 't."swimming_pool"', type: 'boolean', pgType: 'bool' },
  built: { sql: 't."built"', type: 'date', pgType: 'date' },
  updated: { sql: 't."updated"', type: 'timestamp', pgType: 'timestamptz' },
};
const target: FilterTarget = {
  queryable: (name) => columns[name],
  isGeometry: (name) => name === 'geometry' || name === 'geom',
  geometry: 'ST_Transform(t."geom", 4326)',
  exactIsIndexed: false,
  intersects: (g) => `ST_Intersects(ST_Transform(t."geom", 4326), ${g})`,
  boxCondition: (g) => `t."geom" && BOX(${g})`,
  withinMetres: (g, m) => `t."geom" && BOX(${g}) AND ST_DWithin(ST_Transform(t."geom", 4326)::geography, ${g}::geography, ${m})`,
};
const compile = (text: string, first = 1) => compileFilter(parseCql2(text), target, first);

// ---------------------------------------------------------------------------------------------------------------
// Parsing: precedence, keywords in any case, quoted names, literals; the canonical text shows the tree
// ---------------------------------------------------------------------------------------------------------------

const reads = test.macro({
  exec(t, input: string, canonical: string) {
    t.is(toText(parseCql2(input)), canonical);
  },
  title: (_, input) => `parses ${input}`,
});

test(reads, 'floors>5', '"floors" > 5');
test(reads, 'floors > 5 AND swimming_pool = true OR taxes <= 500', '(("floors" > 5 AND "swimming_pool" = TRUE) OR "taxes" <= 500)');
test(reads, 'floors > 5 and (swimming_pool = TRUE or taxes <= 500)', '("floors" > 5 AND ("swimming_pool" = TRUE OR "taxes" <= 500))');
test(reads, 'NOT (floors<5) OR swimming_pool=true', '(NOT "floors" < 5 OR "swimming_pool" = TRUE)');
test(reads, 'not not floors <> 3', 'NOT NOT "floors" <> 3');
test(reads, "owner LIKE '%Jones%'", `"owner" LIKE '%Jones%'`);
test(reads, "owner not like 'Mike%'", `"owner" NOT LIKE 'Mike%'`);
test(reads, 'taxes BETWEEN 100.0 and 150.0', '"taxes" BETWEEN 100.0 AND 150.0');
test(reads, 'floors NOT BETWEEN 1 AND 3', '"floors" NOT BETWEEN 1 AND 3');
test(reads, "owner IN ('a','b', 'c')", `"owner" IN ('a', 'b', 'c')`);
test(reads, 'floors not in (1,2,3,4)', '"floors" NOT IN (1, 2, 3, 4)');
test(reads, 'owner IS NULL', '"owner" IS NULL');
test(reads, 'owner is not null', '"owner" IS NOT NULL');
test(reads, '"owner" = \'O\'\'Brien\'', `"owner" = 'O''Brien'`);
test(reads, "owner = 'O\\'Brien'", `"owner" = 'O''Brien'`);
test(reads, "built > DATE('2012-06-05')", `"built" > DATE('2012-06-05')`);
test(reads, "updated >= TIMESTAMP('2017-09-01T08:00:00Z')", `"updated" >= TIMESTAMP('2017-09-01T08:00:00Z')`);
test(reads, 'true', 'TRUE');
test(reads, 'FALSE AND floors = -3', '(FALSE AND "floors" = -3)');
test(reads, 'taxes >= +1.5e2', '"taxes" >= 1.5e2');
test(reads, 'eo:cloud_cover < 0.1', '"eo:cloud_cover" < 0.1');
test(reads, '名称 = \'淮安\'', `"名称" = '淮安'`);
test(reads, 'S_INTERSECTS(geometry, POINT(119.05 33.6))', 'S_INTERSECTS("geometry", {"type":"Point","coordinates":[119.05,33.6]})');
test(reads, 's_within(geom, BBOX(119, 33.5, 119.1, 33.6))', 'S_WITHIN("geom", {"type":"Polygon","coordinates":[[[119,33.5],[119.1,33.5],[119.1,33.6],[119,33.6],[119,33.5]]]})');
test(reads, 'S_DWITHIN(geometry, POINT(119 33), 250)', 'S_DWITHIN("geometry", {"type":"Point","coordinates":[119,33]}, 250)');
test(reads, 'S_INTERSECTS(geometry, MULTIPOINT(7.02 49.92, 90 80))', 'S_INTERSECTS("geometry", {"type":"MultiPoint","coordinates":[[7.02,49.92],[90,80]]})');
test(reads, 'S_INTERSECTS(geometry, MULTIPOINT((1 2), (3 4)))', 'S_INTERSECTS("geometry", {"type":"MultiPoint","coordinates":[[1,2],[3,4]]})');
test(
  reads,
  'S_INTERSECTS(geometry,GEOMETRYCOLLECTION(POINT(7.02 49.92), POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))))',
  'S_INTERSECTS("geometry", {"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[7.02,49.92]},{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]]]}]})',
);
test(reads, 'S_INTERSECTS(geometry, POINT Z (1 2 3))', 'S_INTERSECTS("geometry", {"type":"Point","coordinates":[1,2,3]})');

test('the same filter written differently has the same canonical text (one cache key)', (t) => {
  const a = toText(parseCql2("floors>5 and owner like 'M%'"));
  const b = toText(parseCql2("  FLOORS > 5   AND\n\towner LIKE 'M%'"));
  t.not(a, b, 'property names are case-sensitive');
  t.is(toText(parseCql2("floors > 5 AND owner LIKE 'M%'")), toText(parseCql2("floors>5 and owner like 'M%'")));
  t.is(toText(parseCql2('"floors">5')), toText(parseCql2('floors > 5')));
  t.not(toText(parseCql2('taxes = 0.1')), toText(parseCql2('taxes = 0.10000000000000001')), 'numbers keep their digits');
});

// ---------------------------------------------------------------------------------------------------------------
// Errors: the problem and its position (1-based character)
// ---------------------------------------------------------------------------------------------------------------

const fails = test.macro({
  exec(t, input: string, message: RegExp, position: number) {
    const err = t.throws(() => compile(input), { instanceOf: Cql2Error });
    t.regex(err!.problem, message);
    t.is(err!.position, position);
    t.true(err!.message.endsWith(`at character ${position}`));
  },
  title: (_, input, message) => `refuses ${JSON.stringify(input).slice(0, 70)} (${String(message)})`,
});

test(fails, 'floors >', /expected a property or value, got the end/, 9);
test(fails, 'floors = 1 AND', /expected a property or value, got the end/, 15);
test(fails, '(floors = 1', /expected a closing parenthesis, got the end/, 12);
test(fails, 'floors = 1)', /unexpected "\)" after the end/, 11);
test(fails, "owner = 'abc", /unterminated string/, 9);
test(fails, 'owner = "abc', /unterminated "quoted" property name/, 9);
test(fails, 'floors = 1; DROP TABLE x', /unexpected ";"/, 11);
test(fails, 'floors = 1 -- comment', /unexpected "-"/, 12);
test(fails, 'floors = 1 /* x */', /unexpected "\/"/, 12);
test(fails, 'floors = $1', /unexpected "\$"/, 10);
test(fails, 'storeys > 5', /unknown property "storeys"/, 1);
test(fails, 'floors > storeys', /unknown property "storeys"/, 10);
test(fails, 'floors = \'5\'', /property "floors" is a integer and cannot be compared \(=\) with the string literal/, 10);
test(fails, 'swimming_pool = 1', /is a boolean and cannot be compared/, 17);
test(fails, "built > '2012-01-01'", /is a date .* \(write DATE\('YYYY-MM-DD'\)/, 9);
test(fails, "built > DATE('2012-13-01')", /DATE\('YYYY-MM-DD'\) expected/, 9);
test(fails, "updated > TIMESTAMP('2012-01-01 10:00')", /TIMESTAMP\('YYYY-MM-DDTHH:MM:SSZ'\) expected/, 11);
test(fails, 'floors LIKE 5', /LIKE compares strings, and property "floors" is a integer/, 1);
test(fails, 'owner IS 5', /expected NULL after IS/, 10);
test(fails, 'owner NOT = 5', /expected LIKE, BETWEEN or IN after NOT/, 11);
test(fails, 'floors BETWEEN 1 OR 3', /expected AND in BETWEEN/, 18);
test(fails, 'floors', /expected a comparison after property "floors"/, 7);
test(fails, 'AND = 1', /unexpected AND where a property or value belongs/, 1);
test(fails, 'pg_sleep(5) = 1', /unsupported function pg_sleep/, 1);
test(fails, "CASEI(owner) = 'x'", /unsupported function CASEI/, 1);
test(fails, 'floors = 1e999', /number 1e999 is out of range/, 10);
test(fails, 'S_INTERSECTS(floors, POINT(1 2))', /"floors" is not the geometry/, 14);
test(fails, 'S_INTERSECTS(geometry, POINT(1 2)', /expected S_INTERSECTS\(geometry, geometry\), got the end/, 34);
test(fails, 'S_INTERSECTS(geometry, POINT(1))', /expected a coordinate, got "\)"/, 31);
test(fails, 'S_INTERSECTS(geometry, POINT(1 2, 3 4))', /expected "\)" in a geometry, got ","/, 33);
test(fails, 'S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 1)))', /ring is not closed/, 24);
test(fails, 'S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 0 0)))', /ring needs at least 4 positions/, 24);
test(fails, 'S_INTERSECTS(geometry, LINESTRING(0 0))', /a line needs at least 2 positions/, 24);
test(fails, 'S_INTERSECTS(geometry, POINT(90 180))', /latitude 180 is outside -90..90/, 24);
test(fails, 'S_INTERSECTS(geometry, BBOX(10, 0, 5, 1))', /BBOX must be west, south, east, north/, 28);
test(fails, "S_INTERSECTS(geometry, 'POINT(1 2)')", /expected the geometry property or a geometry/, 24);
test(fails, 'S_DWITHIN(geometry, POINT(1 2), -5)', /the distance must be a number of metres/, 33);
test(fails, 'floors = geometry', /"geometry" is the geometry/, 10);
test(fails, "owner = 'a\u0000b'", /control character U\+0000/, 11);
test(fails, 'floors = 1 \u0007', /unexpected control character U\+0007/, 12);
test(fails, '   ', /the filter is empty/, 1);

// ---------------------------------------------------------------------------------------------------------------
// Limits: hostile sizes are refused by counting, quickly, never by a stack overflow
// ---------------------------------------------------------------------------------------------------------------

const terms = (n: number, sep: string) => Array.from({ length: n }, (_, i) => `floors = ${i}`).join(sep);

test('10,000-term expressions are refused by the term limit, not by recursion', (t) => {
  for (const [name, text] of [
    ['OR chain', terms(10_000, ' OR ')],
    ['AND chain', terms(10_000, ' AND ')],
    ['IN list', `floors IN (${Array.from({ length: 10_000 }, (_, i) => i).join(',')})`],
    ['NOT chain', `${'NOT '.repeat(10_000)}floors = 1`],
    ['parentheses', `${'('.repeat(10_000)}floors = 1${')'.repeat(10_000)}`],
  ] as const) {
    const started = process.hrtime.bigint();
    const err = t.throws(() => compile(text), { instanceOf: Cql2Error }, name);
    t.regex(err!.problem, /too many terms|nested too deeply|too long/, name);
    // Not a timed assertion of speed: a guard that refusing did not walk a quadratic path (generous bound).
    t.true(process.hrtime.bigint() - started < 2_000_000_000n, name);
  }
});

test('the limits leave room for real filters: 100 ORs, an IN list of 200 ids, 30 levels of parentheses', (t) => {
  t.notThrows(() => compile(terms(100, ' OR ')));
  t.notThrows(() => compile(`floors IN (${Array.from({ length: 200 }, (_, i) => i).join(',')})`));
  t.notThrows(() => compile(`${'('.repeat(30)}floors = 1${')'.repeat(30)}`));
});

test('a polygon of more than 10,000 positions in a filter is refused', (t) => {
  const ring = Array.from({ length: 10_001 }, (_, i) => `${i % 2} 0`);
  const err = t.throws(() => compile(`S_INTERSECTS(geometry, POLYGON((${[...ring, ring[0]].join(',')})))`), { instanceOf: Cql2Error });
  t.regex(err!.problem, /too many positions/);
});

// ---------------------------------------------------------------------------------------------------------------
// Compiling: identifiers from the registry, every value a bind parameter with an explicit cast
// ---------------------------------------------------------------------------------------------------------------

test('literals become bind parameters numbered from the first one given, with casts for the column', (t) => {
  const c = compile("floors > 5 AND taxes <= 500.5 AND height < 12 AND owner = 'Mike' AND swimming_pool = true", 4);
  t.is(c.sql, `((t."floors" > $4::int8) AND (t."taxes" <= $5::numeric) AND (t."height" < $6::float8) AND (t."owner" = $7::text) AND (t."swimming_pool" = $8::boolean))`);
  t.deepEqual(c.params, ['5', '500.5', '12', 'Mike', 'true']);
});

test('a fractional number against an integer column is compared exactly (numeric), not truncated', (t) => {
  const c = compile('floors > 2.5');
  t.is(c.sql, '(t."floors" > $1::numeric)');
  t.deepEqual(c.params, ['2.5']);
});

test('IN binds one array, so the statement text is the same for any list length', (t) => {
  const a = compile("owner IN ('a', 'b')");
  const b = compile("owner IN ('a', 'b', 'c', 'd')");
  t.is(a.sql, '((t."owner" = ANY($1::text[])))');
  t.is(a.sql, b.sql);
  t.deepEqual(b.params, [['a', 'b', 'c', 'd']]);
  t.is(compile('floors NOT IN (1, 2.5)').sql, '(NOT (t."floors" = ANY($1::numeric[])))');
});

test('dates and timestamps are bound as date and timestamptz', (t) => {
  const c = compile("built BETWEEN DATE('2000-01-01') AND DATE('2010-12-31') OR updated > TIMESTAMP('2017-09-01T00:00:00Z')");
  t.is(c.sql, '((t."built" BETWEEN $1::date AND $2::date) OR (t."updated" > $3::timestamptz))');
  t.deepEqual(c.params, ['2000-01-01', '2010-12-31', '2017-09-01T00:00:00Z']);
});

test('geometry literals are one GeoJSON parameter, tested exactly in WGS84 behind an index condition', (t) => {
  const c = compile('S_WITHIN(geometry, BBOX(119, 33.5, 119.1, 33.6)) AND S_DISJOINT(geom, POINT(119 33))');
  const lit = (n: number) => `(SELECT ST_SetSRID(ST_GeomFromGeoJSON($${n}::text), 4326))`;
  t.is(
    c.sql,
    `((t."geom" && BOX(${lit(1)}) AND ST_Within(ST_Transform(t."geom", 4326), ${lit(1)})) AND ST_Disjoint(ST_Transform(t."geom", 4326), ${lit(2)}))`,
    'S_DISJOINT has no index condition: disjoint features are exactly the ones outside the box',
  );
  t.deepEqual(JSON.parse(c.params[1] as string), { type: 'Point', coordinates: [119, 33] });
});

test('nothing the user wrote reaches the SQL text except through the registry’s identifiers', (t) => {
  const hostile = [
    "owner = 'x''); DROP TABLE fixtures.points; --'",
    "owner LIKE '%'' OR 1=1 --'",
    "owner IN ('a'';DELETE FROM x;--', 'pg_sleep(10)')",
    "owner = 'a' OR '1' = '1'",
  ];
  for (const f of hostile) {
    const c = compile(f);
    t.false(/DROP|DELETE|pg_sleep|1=1|--/i.test(c.sql), c.sql);
    t.regex(c.sql, /^[()\s\w."=$:<>\[\],']+$/, 'only identifiers, operators, placeholders and casts');
  }
});

test('an unknown property is refused even inside a branch that would not matter', (t) => {
  t.throws(() => compile('FALSE AND secret_column = 1'), { instanceOf: Cql2Error, message: /unknown property "secret_column"/ });
});

// ---------------------------------------------------------------------------------------------------------------
// GeoJSON geometry checks (POST /query bodies and WKT literals)
// ---------------------------------------------------------------------------------------------------------------

const badGeometry = test.macro({
  exec(t, g: unknown, message: RegExp) {
    t.throws(() => checkGeometry(g), { instanceOf: GeometryError, message });
  },
  title: (_, g, message) => `checkGeometry refuses ${JSON.stringify(g).slice(0, 60)} (${String(message)})`,
});

test(badGeometry, null, /must be a GeoJSON geometry object/);
test(badGeometry, { type: 'Circle', coordinates: [0, 0] }, /geometry\.type: must be Point, .* got "Circle"/);
test(badGeometry, { type: 'Point', coordinates: [0] }, /geometry\.coordinates: a position is \[longitude, latitude\]/);
test(badGeometry, { type: 'Point', coordinates: ['119', 33] }, /a position is/);
test(badGeometry, { type: 'Point', coordinates: [200, 33] }, /longitude 200 is outside/);
test(badGeometry, { type: 'LineString', coordinates: [[0, 0]] }, /a line needs at least 2 positions/);
test(badGeometry, { type: 'Polygon', coordinates: [] }, /geometry\.coordinates: is empty/);
test(badGeometry, { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1]]] }, /coordinates\[0\]: the ring is not closed/);
test(badGeometry, { type: 'MultiPolygon', coordinates: [[[[0, 0], [1, 0], [0, 0]]]] }, /coordinates\[0\]\[0\]: a ring needs at least 4/);
test(badGeometry, { type: 'GeometryCollection', geometries: [{ type: 'Point', coordinates: [0, 95] }] }, /geometries\[0\]\.coordinates: latitude 95/);

test('checkGeometry accepts every GeoJSON type within the limits and refuses one position too many', (t) => {
  const ring = [[0, 0], [1, 0], [1, 1], [0, 0]];
  for (const g of [
    { type: 'Point', coordinates: [119, 33, 10] },
    { type: 'MultiPoint', coordinates: [[119, 33]] },
    { type: 'LineString', coordinates: [[0, 0], [1, 1]] },
    { type: 'MultiLineString', coordinates: [[[0, 0], [1, 1]]] },
    { type: 'Polygon', coordinates: [ring] },
    { type: 'MultiPolygon', coordinates: [[ring], [ring]] },
    { type: 'GeometryCollection', geometries: [{ type: 'Point', coordinates: [0, 0] }] },
  ])
    t.notThrows(() => checkGeometry(g), g.type);
  const line = { type: 'LineString', coordinates: [[0, 0], [1, 1], [2, 2]] };
  t.notThrows(() => checkGeometry(line, 3));
  t.throws(() => checkGeometry(line, 2), { message: /too many positions \(the limit is 2\)/ });
});
