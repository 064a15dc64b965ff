// The platform's CSV (tile-server/src/csv.ts), written by data downloads, case evaluations, vehicle reports, the
// audit export and the viewer's tables: what a spreadsheet opens is text, never a formula it would run.
import test from 'ava';
import { csvCell, csvFile } from '../tile-server/src/csv.ts';

test('text a spreadsheet would run as a formula is written with a leading apostrophe', (t) => {
  for (const s of ['=HYPERLINK("http://evil.example","点我")', '+1+1', '-2+3', '@SUM(A1:A9)', '\t=1', '\r=1', '=1'])
    t.true(csvCell(s).replace(/^"/, '').startsWith("'"), JSON.stringify(s));
  t.is(csvCell('=1,2'), `"'=1,2"`, 'quoted after the apostrophe when it holds a comma');
});

test('plain numbers, numbers as text and ordinary text are left as they are', (t) => {
  t.is(csvCell(-12.5), '-12.5');
  t.is(csvCell('-12.5'), '-12.5');
  t.is(csvCell('+3'), '+3');
  t.is(csvCell('1e-3'), '1e-3');
  t.is(csvCell('道路不洁'), '道路不洁');
  t.is(csvCell('POINT (119.02 33.59)'), 'POINT (119.02 33.59)');
  t.is(csvCell(null), '');
  t.is(csvCell({ a: 1 }), '"{""a"":1}"');
});

test('a file: BOM, CRLF, quotes doubled, a line break kept inside quotes', (t) => {
  t.is(csvFile(['名称', 'n'], [['a "b"', 1], ['x\ny', null]]), '\ufeff名称,n\r\n"a ""b""",1\r\n"x\ny",\r\n');
});
