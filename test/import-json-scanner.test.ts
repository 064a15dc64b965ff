import test from 'ava';
import { JsonScanner, JsonStructureError, type ScanEvent } from '../import/formats/json-scanner.ts';

/**
 * The GeoJSON scanner hands out each feature's text however the input was cut into chunks (issue 16 §2: it
 * used to re-join the pending text on every chunk, so one 150 MB feature took minutes and 1.3 GB).
 */
function scan(text: string, sizes: number[]): ScanEvent[] {
  const s = new JsonScanner();
  const events: ScanEvent[] = [];
  for (let at = 0, i = 0; at < text.length; i++) {
    const n = sizes[i % sizes.length]!;
    events.push(...s.push(text.slice(at, at + n)));
    at += n;
  }
  s.end();
  return events;
}

const doc = JSON.stringify({
  type: 'FeatureCollection',
  name: '淮安 "stations"',
  features: [
    { type: 'Feature', properties: { name: '淮安站', note: 'a } in a string, and \\" an escaped quote' }, geometry: { type: 'Point', coordinates: [119.03, 33.61] } },
    { type: 'Feature', properties: { name: '清江浦' }, geometry: null },
  ],
  crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:OGC:1.3:CRS84' } },
});

test('the same pieces, with the same positions, whether read whole, a character at a time or in uneven chunks', (t) => {
  const whole = scan(doc, [doc.length]);
  t.deepEqual(whole.map((e) => e.kind), ['member', 'member', 'feature', 'feature', 'member']);
  t.deepEqual(JSON.parse((whole[2] as { text: string }).text).properties.name, '淮安站');
  t.is((whole[2] as { at: number }).at, doc.indexOf('{"type":"Feature"'));
  for (const sizes of [[1], [2, 3, 5], [7, 1, 64], [13]]) t.deepEqual(scan(doc, sizes), whole, `chunks of ${sizes.join(',')}`);
});

test('text sequences and newline-delimited features, cut anywhere', (t) => {
  const seq = `{"type":"Feature","properties":{"n":1},"geometry":null}\n\u001e{"type":"Feature","properties":{"n":2},"geometry":null}\n`;
  const whole = scan(seq, [seq.length]);
  t.deepEqual(whole.map((e) => e.kind), ['member', 'member', 'member', 'value']);
  t.deepEqual(scan(seq, [3, 1]), whole);
});

test('one feature of 20 MB in 64 KiB chunks comes out whole, its position right', (t) => {
  const ring = Array.from({ length: 1_200_000 }, (_, i) => [119 + (i % 1000) / 1e4, 33 + Math.floor(i / 1000) / 1e4]);
  const big = JSON.stringify({ type: 'Feature', properties: { name: 'big' }, geometry: { type: 'LineString', coordinates: ring } });
  const text = `{"type":"FeatureCollection","features":[${big}]}`;
  t.true(text.length > 20_000_000);
  const events = scan(text, [65_536]);
  t.is(events.length, 2);
  t.is((events[1] as { text: string }).text, big);
  t.is((events[1] as { at: number }).at, text.indexOf(big));
});

test('structure errors name the absolute position, even many chunks in', (t) => {
  const text = `{"type":"FeatureCollection","features":[${'{"a":1},'.repeat(1000)}{"a":1]]}`;
  const e = t.throws(() => scan(text, [100]), { instanceOf: JsonStructureError });
  t.regex(e!.message, new RegExp(`at character ${text.indexOf('1]]') + 2}$`));
});
