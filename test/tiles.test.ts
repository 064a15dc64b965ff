import test from 'ava';
import { binary, startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { decodeTile, tileOf } from './helpers/mvt.ts';

let p: TestPlatform;
test.before(async () => {
  p = await startTestPlatform();
});
test.after.always(async () => {
  await p?.close();
});

test('a point tile holds exactly the points SQL says are in it', async (t) => {
  const { z, x, y } = tileOf(119.05, 33.6, 14);
  const res = await p.http.get(`/tiles/fx_points/${z}/${x}/${y}.mvt`).buffer(true).parse(binary);
  t.is(res.status, 200);
  t.is(res.headers['content-type'], 'application/vnd.mapbox-vector-tile');
  const features = decodeTile(res.body as Buffer, z, x, y).fx_points ?? [];
  const inside = features.filter((f) => f.firstVertex.x >= 0 && f.firstVertex.x < 4096 && f.firstVertex.y >= 0 && f.firstVertex.y < 4096);
  const { rows } = await p.sql.query<{ id: number }>(
    `SELECT id FROM fixtures.points WHERE ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3)) ORDER BY id`,
    [z, x, y],
  );
  t.true(rows.length > 0);
  t.deepEqual(inside.map((f) => f.id), rows.map((r) => r.id));
});
