import test from 'ava';
import { binary, eventually, OPS, startTestPlatform, type TestPlatform } from './helpers/platform.ts';
import { decodeTile, tileOf } from './helpers/mvt.ts';

/**
 * A change in the database is visible in the very next tile (Martin's most reported bug is the opposite), and
 * only the tiles covering the change are evicted: the rest of the cache keeps serving.
 *
 * Serial: every test reads and changes the same fixture tables and counts the platform's tile queries.
 */

let p: TestPlatform;
test.before(async () => {
  p = await startTestPlatform();
});
test.after.always(async () => {
  await p?.close();
});

interface Fetched {
  status: number;
  ids: number[];
  names: Map<number, unknown>;
}

async function fetchTile(layer: string, z: number, x: number, y: number): Promise<Fetched> {
  const res = await p.http.get(`/tiles/${layer}/${z}/${x}/${y}.mvt`).set('Accept-Encoding', 'identity').buffer(true).parse(binary);
  const features = res.status === 200 ? decodeTile(res.body as Buffer, z, x, y)[layer] ?? [] : [];
  return { status: res.status, ids: features.map((f) => f.id!), names: new Map(features.map((f) => [f.id!, f.properties.name])) };
}

/** Tile queries the platform has run for a layer: a cache hit does not run one. */
async function queries(layer: string): Promise<number> {
  const res = await p.http.get('/metrics').set(OPS);
  const m = new RegExp(`citybase_tile_queries_total\\{layer="${layer}"\\} (\\d+)`).exec(res.text);
  return m ? Number(m[1]) : 0;
}

/** The change listener hears a commit a moment after it; a tile request right after must still see it. */
async function change(sql: string, params: unknown[] = []): Promise<void> {
  await p.sql.query(sql, params);
}

const at = (lon: number, lat: number, z: number) => tileOf(lon, lat, z);

test.serial('UPDATE: the next tile shows the new attribute value', async (t) => {
  const { z, x, y } = at(118.95, 33.5, 14);
  t.is((await fetchTile('fx_points', z, x, y)).names.get(0), 'P0');
  t.is((await fetchTile('fx_points', z, x, y)).names.get(0), 'P0'); // now cached
  await change(`UPDATE fixtures.points SET name = '清江浦' WHERE id = 0`);
  t.is((await fetchTile('fx_points', z, x, y)).names.get(0), '清江浦');
});

test.serial('INSERT into a tile that was cached empty: the next tile has the point', async (t) => {
  const { z, x, y } = at(118.7, 33.3, 14);
  t.is((await fetchTile('fx_points', z, x, y)).status, 204);
  const before = await queries('fx_points');
  t.is((await fetchTile('fx_points', z, x, y)).status, 204);
  t.is(await queries('fx_points'), before, 'the empty tile was served from the cache');
  await change(`INSERT INTO fixtures.points VALUES (90001, 'new', 'a', 1, true, NULL, ST_SetSRID(ST_MakePoint(118.7, 33.3), 4326))`);
  const after = await fetchTile('fx_points', z, x, y);
  t.is(after.status, 200);
  t.deepEqual(after.ids, [90001]);
});

test.serial('DELETE: the next tile no longer has the point', async (t) => {
  const { z, x, y } = at(118.7, 33.3, 14);
  t.deepEqual((await fetchTile('fx_points', z, x, y)).ids, [90001]);
  await change(`DELETE FROM fixtures.points WHERE id = 90001`);
  t.is((await fetchTile('fx_points', z, x, y)).status, 204);
});

test.serial('a point moved between tiles leaves the old tile and appears in the new one, which was cached empty', async (t) => {
  const from = at(118.95, 33.5, 14);
  const to = at(118.6, 33.2, 14);
  t.true((await fetchTile('fx_points', from.z, from.x, from.y)).ids.includes(0));
  t.is((await fetchTile('fx_points', to.z, to.x, to.y)).status, 204);
  await change(`UPDATE fixtures.points SET geom = ST_SetSRID(ST_MakePoint(118.6, 33.2), 4326) WHERE id = 0`);
  t.false((await fetchTile('fx_points', from.z, from.x, from.y)).ids.includes(0));
  t.deepEqual((await fetchTile('fx_points', to.z, to.x, to.y)).ids, [0]);
  await change(`UPDATE fixtures.points SET geom = ST_SetSRID(ST_MakePoint(118.95, 33.5), 4326) WHERE id = 0`);
});

test.serial('a change evicts the covering tiles at every zoom and keeps tiles elsewhere cached', async (t) => {
  const zooms = [6, 8, 10, 12, 14, 16];
  const point = { lon: 119.1, lat: 33.66 };
  const { rows: [near] } = await p.sql.query<{ id: number }>(
    `SELECT id FROM fixtures.points ORDER BY geom <-> ST_SetSRID(ST_MakePoint($1, $2), 4326) LIMIT 1`,
    [point.lon, point.lat],
  );
  const { rows: [pos] } = await p.sql.query<{ lon: number; lat: number }>(`SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM fixtures.points WHERE id = $1`, [near!.id]);
  const covering = zooms.map((z) => at(pos!.lon, pos!.lat, z));
  const elsewhere = at(118.96, 33.51, 14); // far corner of the data, same layer
  for (const c of [...covering, elsewhere]) await fetchTile('fx_points', c.z, c.x, c.y);
  const before = await queries('fx_points');
  await change(`UPDATE fixtures.points SET name = 'changed' WHERE id = $1`, [near!.id]);
  for (const c of covering) t.is((await fetchTile('fx_points', c.z, c.x, c.y)).names.get(near!.id), 'changed', `z${c.z}`);
  t.is(await queries('fx_points'), before + covering.length, 'every covering tile was queried again');
  await fetchTile('fx_points', elsewhere.z, elsewhere.x, elsewhere.y);
  t.is(await queries('fx_points'), before + covering.length, 'the tile elsewhere was still cached');
});

test.serial('a point at the edge of a tile also refreshes the neighbour that draws it in its buffer', async (t) => {
  const z = 14;
  const { x, y } = at(119.0, 33.6, z);
  // A point just inside the east edge of (x, y): it is drawn in (x + 1, y) too, within the buffer.
  const east = ((x + 1) / 2 ** z) * 360 - 180 - 1e-5;
  await change(`INSERT INTO fixtures.points VALUES (90002, 'edge', 'a', 1, true, NULL, ST_SetSRID(ST_MakePoint($1, 33.6), 4326))`, [east]);
  t.true((await fetchTile('fx_points', z, x + 1, y)).ids.includes(90002));
  await change(`UPDATE fixtures.points SET name = 'edge2' WHERE id = 90002`);
  t.is((await fetchTile('fx_points', z, x + 1, y)).names.get(90002), 'edge2');
  await change(`DELETE FROM fixtures.points WHERE id = 90002`);
  t.false((await fetchTile('fx_points', z, x + 1, y)).ids.includes(90002));
});

test.serial('a bulk UPDATE of many rows (boxes merged into one extent) still evicts every affected tile', async (t) => {
  const tiles = [at(118.96, 33.51, 14), at(119.14, 33.69, 14), at(119.05, 33.6, 12)];
  for (const c of tiles) await fetchTile('fx_points', c.z, c.x, c.y);
  await change(`UPDATE fixtures.points SET name = name || '*' WHERE kind = 'b'`);
  for (const c of tiles) {
    const names = [...(await fetchTile('fx_points', c.z, c.x, c.y)).names.values()] as string[];
    t.true(names.some((n) => n.endsWith('*')), `tile ${c.z}/${c.x}/${c.y}`);
  }
  await change(`UPDATE fixtures.points SET name = rtrim(name, '*') WHERE kind = 'b'`);
});

test.serial('a view layer is refreshed by changes to the table behind it', async (t) => {
  const { z, x, y } = at(118.95, 33.5, 14);
  t.true((await fetchTile('fx_view', z, x, y)).ids.includes(0));
  await change(`UPDATE fixtures.points SET kind = 'c' WHERE id = 0`);
  t.false((await fetchTile('fx_view', z, x, y)).ids.includes(0));
  await change(`UPDATE fixtures.points SET kind = 'a' WHERE id = 0`);
  t.true((await fetchTile('fx_view', z, x, y)).ids.includes(0));
});

test.serial('a function layer is refreshed by changes to the tables it declares', async (t) => {
  const { z, x, y } = at(119.05, 33.6, 10);
  const total = async () => {
    const res = await p.http.get(`/tiles/fx_density/${z}/${x}/${y}.mvt`).set('Accept-Encoding', 'identity').buffer(true).parse(binary);
    return (decodeTile(res.body as Buffer, z, x, y).fx_density ?? []).reduce((s, f) => s + (f.properties.n as number), 0);
  };
  const before = await total();
  await change(`INSERT INTO fixtures.points VALUES (90003, 'x', 'a', 1, true, NULL, ST_SetSRID(ST_MakePoint(119.05, 33.6), 4326))`);
  t.is(await total(), before + 1);
  await change(`DELETE FROM fixtures.points WHERE id = 90003`);
  t.is(await total(), before);
});

test.serial('a composite tile is refreshed when one of its layers changes', async (t) => {
  const { z, x, y } = at(119.02, 33.59, 14);
  const url = `/tiles/fx_points,fx_parcels/${z}/${x}/${y}.mvt`;
  const codes = async () => {
    const res = await p.http.get(url).set('Accept-Encoding', 'identity').buffer(true).parse(binary);
    return (decodeTile(res.body as Buffer, z, x, y).fx_parcels ?? []).map((f) => f.properties.code);
  };
  const before = await codes();
  const { rows: [parcel] } = await p.sql.query<{ gid: number }>(
    `SELECT gid FROM fixtures.parcels WHERE ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3)) ORDER BY gid LIMIT 1`,
    [z, x, y],
  );
  await change(`UPDATE fixtures.parcels SET code = 'RENAMED' WHERE gid = $1`, [parcel!.gid]);
  const after = await codes();
  t.true(after.includes('RENAMED'));
  t.is(after.length, before.length);
});

test.serial('TRUNCATE empties every cached tile of the layer', async (t) => {
  const { z, x, y } = at(119.02, 33.59, 15);
  t.is((await fetchTile('fx_parcels', z, x, y)).status, 200);
  await change(`CREATE TABLE fixtures.parcels_backup AS SELECT * FROM fixtures.parcels`);
  await change(`TRUNCATE fixtures.parcels`);
  t.is((await fetchTile('fx_parcels', z, x, y)).status, 204);
  await change(`INSERT INTO fixtures.parcels SELECT * FROM fixtures.parcels_backup`);
  t.is((await fetchTile('fx_parcels', z, x, y)).status, 200);
});

test.serial('changes made in one transaction are seen together after it commits, and not before', async (t) => {
  const { z, x, y } = at(118.95, 33.5, 14);
  await fetchTile('fx_points', z, x, y);
  const client = await p.sql.connect();
  try {
    await client.query('BEGIN');
    await client.query(`UPDATE fixtures.points SET name = 'in-tx' WHERE id = 0`);
    t.not((await fetchTile('fx_points', z, x, y)).names.get(0), 'in-tx', 'uncommitted change is invisible');
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  // The tile fetched during the transaction was cached; the commit's notification must have evicted it.
  t.is((await fetchTile('fx_points', z, x, y)).names.get(0), 'in-tx');
  await change(`UPDATE fixtures.points SET name = 'P0' WHERE id = 0`);
});

test.serial('a request after a commit does not share a tile query that started before it', async (t) => {
  // Identical requests share one query; one arriving after a change must not be handed the older query's tile.
  const { z, x, y } = at(119.0, 33.6, 10);
  const early = fetchTile('fx_slow_points', z, x, y);
  const running = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%slow_points_tile%' AND state = 'active' AND pid <> pg_backend_pid()`;
  // The change must land while the first query runs (it sleeps a second before reading), not before it starts.
  await eventually(async () => (await p.sql.query<{ n: number }>(running)).rows[0]!.n > 0, 5_000, 10);
  await change(`UPDATE fixtures.slow_points SET name = 'after' WHERE id = 1`);
  const late = await fetchTile('fx_slow_points', z, x, y);
  t.is(late.names.get(1), 'after', 'the request made after the commit sees it');
  t.is((await early).names.get(1), 'before', 'the request made before it got the older snapshot');
  t.is((await fetchTile('fx_slow_points', z, x, y)).names.get(1), 'after', 'and the older tile was not cached');
});
