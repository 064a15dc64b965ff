// CQL2-JSON: read into the same tree as CQL2-text (so the same checks, SQL, cache keys and next links), with
// errors located by JSON Pointer and the text's limits. No database here; cql2-filters.test.ts runs both
// encodings against PostGIS.
import test from 'ava';
import { toText } from '../tile-server/src/features/cql2/ast.ts';
import { Cql2Error } from '../tile-server/src/features/cql2/errors.ts';
import { parseCql2Json } from '../tile-server/src/features/cql2/json.ts';
import { parseCql2 } from '../tile-server/src/features/cql2/parser.ts';

const P = (name: string) => ({ property: name });

/** The same filter in both encodings, from the CQL2 standard's examples where they apply. */
const SAME: Array<[object | boolean, string]> = [
  [{ op: '=', args: [P('owner'), 'Jones'] }, "owner = 'Jones'"],
  [{ op: '<>', args: [P('floors'), 5] }, 'floors <> 5'],
  [{ op: 'and', args: [{ op: '>', args: [P('floors'), 5] }, { op: 'like', args: [P('owner'), 'M%'] }] }, "floors > 5 AND owner LIKE 'M%'"],
  [{ op: 'or', args: [{ op: '<', args: [P('taxes'), 0.5] }, { op: 'not', args: [{ op: 'isNull', args: [P('owner')] }] }] }, 'taxes < 0.5 OR NOT owner IS NULL'],
  [{ op: 'between', args: [P('floors'), 4, 8] }, 'floors BETWEEN 4 AND 8'],
  [{ op: 'in', args: [P('owner'), ['Mike', 'John', "O'Brien"]] }, "owner IN ('Mike', 'John', 'O''Brien')"],
  [{ op: 'not', args: [{ op: 'in', args: [P('floors'), [1, 2]] }] }, 'NOT floors IN (1, 2)'],
  [{ op: '>', args: [P('built'), { date: '2015-01-01' }] }, "built > DATE('2015-01-01')"],
  [{ op: '<=', args: [P('updated'), { timestamp: '2017-06-11T10:30:00Z' }] }, "updated <= TIMESTAMP('2017-06-11T10:30:00Z')"],
  [{ op: '=', args: [P('swimming_pool'), true] }, 'swimming_pool = TRUE'],
  [{ op: 's_intersects', args: [P('geometry'), { type: 'Point', coordinates: [36.319836, 32.288087] }] }, 'S_INTERSECTS(geometry, POINT(36.319836 32.288087))'],
  [{ op: 's_within', args: [P('geometry'), { bbox: [-118, 33.8, -117.9, 34] }] }, 'S_WITHIN(geometry, BBOX(-118, 33.8, -117.9, 34))'],
  [
    { op: 's_crosses', args: [P('geometry'), { type: 'LineString', coordinates: [[43.72992, -79.2998], [43.73005, -79.2991], [43.73006, -79.2984]] }] },
    'S_CROSSES(geometry, LINESTRING(43.72992 -79.2998, 43.73005 -79.2991, 43.73006 -79.2984))',
  ],
  [
    { op: 's_dwithin', args: [P('geometry'), { type: 'Point', coordinates: [119.06, 33.556] }, 1500] },
    'S_DWITHIN(geometry, POINT(119.06 33.556), 1500)',
  ],
  [true, 'TRUE'],
];

for (const [json, text] of SAME) {
  test(`${JSON.stringify(json).slice(0, 80)} reads as ${text}`, (t) => {
    t.is(toText(parseCql2Json(JSON.stringify(json))), toText(parseCql2(text)));
  });
}

const fails = test.macro({
  exec(t, input: string, message: RegExp, pointer: string) {
    const err = t.throws(() => parseCql2Json(input), { instanceOf: Cql2Error });
    t.regex(err!.problem, message);
    t.is(err!.position, pointer);
    t.true(err!.message.endsWith(`at ${pointer || '/'}`));
  },
  title: (_, input: string, message: RegExp) => `refuses ${input.length > 160 ? `${input.slice(0, 150)}…` : input} (${String(message)})`,
});

test(fails, "owner = 'Jones'", /not JSON/, '/');
test(fails, '{"op":"=","args":[{"property":"owner"}]}', /"=" takes two operands, got 1 argument/, '');
test(fails, '{"op":"and","args":[true]}', /two or more/, '');
test(fails, '{"op":"and","args":[true,{"op":"sql","args":["1=1; drop table x"]}]}', /unknown or unsupported operator "sql"/, '/args/1/op');
test(fails, '{"op":"casei","args":[{"property":"owner"}]}', /unsupported operator "casei"/, '/op');
test(fails, '{"op":"=","args":[{"property":"built"},{"date":"2024-02-30"}]}', /"date": "YYYY-MM-DD"/, '/args/1');
test(fails, '{"op":"=","args":[{"column":"owner"},1]}', /expected a value/, '/args/0');
test(fails, '{"op":"in","args":[{"property":"owner"},"Mike"]}', /non-empty array/, '/args/1');
test(fails, '{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":[1]}]}', /expected a position/, '/args/1/coordinates');
test(fails, '{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Circle"}]}', /GeoJSON geometry/, '/args/1');
test(fails, '{"op":"s_within","args":[{"property":"geometry"},{"bbox":[10,0,0,10]}]}', /west <= east/, '/args/1');
test(fails, '{"op":"s_dwithin","args":[{"property":"geometry"},{"type":"Point","coordinates":[1,2]},-5]}', /from 0 to 1000000/, '/args/2');
test(fails, '{"args":[]}', /expected an expression/, '');
// What the text's WKT reader refuses, JSON refuses too, before the database could fail on it.
test(fails, '{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":[0,100]}]}', /invalid geometry/, '/args/1');
test(fails, '{"op":"s_crosses","args":[{"property":"geometry"},{"type":"LineString","coordinates":[[1,2]]}]}', /invalid geometry/, '/args/1');
test(fails, '{"op":"s_within","args":[{"property":"geometry"},{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}]}', /invalid geometry/, '/args/1');
test(fails, '{"op":"=","args":[{"property":"owner"},"a\\u0000b"]}', /U\+0000/, '/args/1');
test(fails, '{"op":"s_dwithin","args":[{"property":"geometry"},{"type":"Point","coordinates":[1,2]},2e6]}', /from 0 to 1000000/, '/args/2');
test(fails, '{"op":">","args":[{"property":"taxes"},1e400]}', /too large/, '/args/1');
test(fails, '{"op":"=","args":[{"property":"floors"},12345678901234567891]}', /beyond 2\^53/, '/args/1');

test('a GeoJSON geometry that carries a bbox member is that geometry, not its box', (t) => {
  const triangle = { type: 'Polygon', bbox: [0, 0, 1, 1], coordinates: [[[0, 0], [1, 0], [0, 1], [0, 0]]] };
  t.is(
    toText(parseCql2Json(JSON.stringify({ op: 's_intersects', args: [P('geometry'), triangle] }))),
    toText(parseCql2('S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 0 1, 0 0)))')),
  );
});

test('the text limits hold: nesting, terms, positions and length', (t) => {
  // Written by hand: JSON.stringify itself recurses, and 10,000 levels overflow its stack.
  const deep = `${'{"op":"not","args":['.repeat(2_000)}{"op":"=","args":[{"property":"floors"},1]}${']}'.repeat(2_000)}`;
  t.regex(t.throws(() => parseCql2Json(deep), { instanceOf: Cql2Error })!.problem, /nested too deeply/);
  const deeper = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  t.regex(t.throws(() => parseCql2Json(deeper), { instanceOf: Cql2Error })!.problem, /too long|expected an expression/);
  const wide = { op: 'or', args: Array.from({ length: 10_000 }, () => ({ op: '=', args: [P('floors'), 1] })) };
  t.regex(t.throws(() => parseCql2Json(JSON.stringify(wide)), { instanceOf: Cql2Error })!.problem, /too many terms|too long/);
  const ring = Array.from({ length: 10_001 }, (_, i) => [i % 90, i % 45]);
  const many = { op: 's_intersects', args: [P('geometry'), { type: 'LineString', coordinates: ring }] };
  t.regex(t.throws(() => parseCql2Json(JSON.stringify(many).slice(0, 65_536)), { instanceOf: Cql2Error })!.problem, /not JSON|too many positions/);
  t.regex(t.throws(() => parseCql2Json(`"${'x'.repeat(70_000)}"`), { instanceOf: Cql2Error })!.problem, /too long/);
});
