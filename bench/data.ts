// Benchmark data: seeded points and polygons over Huai'an in schema `bench`, and their layer definitions.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

export const BBOX = [118.2, 32.7, 119.6, 34.1] as const;
export const LAYERS = ['bench_points', 'bench_polygons'] as const;

/** Cluster centres: Huai'an city first, then county seats (Lianshui, Xuyi, Jinhu, Hongze). */
const CENTRES = { lon: [119.02, 119.26, 118.52, 119.02, 118.87], lat: [33.61, 33.78, 32.99, 33.02, 33.29], sigma: [0.1, 0.04, 0.04, 0.04, 0.04] };
const arr = (a: number[]) => `ARRAY[${a.join(',')}]::float8[]`;
const [W, S, E, N] = BBOX;

/** A random point: 50% uniform over the bbox, 30% Gaussian around the city, 20% around the county seats. */
const POINT_SOURCE = (n: number) => `
  SELECT i, b, u1, u2, extra1, extra2,
         CASE WHEN b < 0.8 THEN 1 ELSE 2 + floor((b - 0.8) * 20)::int END AS c
  FROM (SELECT i, random() AS b, 1 - random() AS u1, random() AS u2, random() AS extra1, random() AS extra2
        FROM generate_series(1, ${n}) AS i) AS r`;
const LON = `CASE WHEN b < 0.5 THEN ${W} + ${E - W} * u1
  ELSE least(${E}, greatest(${W}, (${arr(CENTRES.lon)})[c] + (${arr(CENTRES.sigma)})[c] * sqrt(-2 * ln(u1)) * cos(2 * pi() * u2))) END`;
const LAT = `CASE WHEN b < 0.5 THEN ${S} + ${N - S} * u2
  ELSE least(${N}, greatest(${S}, (${arr(CENTRES.lat)})[c] + (${arr(CENTRES.sigma)})[c] * sqrt(-2 * ln(u1)) * sin(2 * pi() * u2))) END`;

export async function generateData(url: string, points: number, polygons: number): Promise<number> {
  const t0 = performance.now();
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    // One session, serial plans: setseed makes every random() below the same on every run.
    for (const sql of [
      'SET max_parallel_workers_per_gather = 0',
      "SET maintenance_work_mem = '512MB'",
      'DROP SCHEMA IF EXISTS bench CASCADE',
      'CREATE SCHEMA bench',
      `CREATE TABLE bench.points (id int PRIMARY KEY, kind int NOT NULL, name text NOT NULL, value float8 NOT NULL, geom geometry(Point, 4326) NOT NULL)`,
      `CREATE TABLE bench.polygons (id int PRIMARY KEY, landuse text NOT NULL, area float8 NOT NULL, geom geometry(Polygon, 4326) NOT NULL)`,
      'SELECT setseed(0.42)',
      `INSERT INTO bench.points (id, kind, name, value, geom)
       SELECT i, floor(extra1 * 10)::int, 'P' || i, round((extra2 * 1000)::numeric, 2)::float8, ST_SetSRID(ST_MakePoint(${LON}, ${LAT}), 4326)
       FROM (${POINT_SOURCE(points)}) AS p ORDER BY i`,
      // Polygon centres, then irregular hexagons: radius 50-300 m, each vertex's radius and angle jittered.
      `CREATE TEMP TABLE centres AS
       SELECT i, ${LON} AS lon, ${LAT} AS lat, 50 + 250 * extra1 AS r, extra2 * pi() / 3 AS rot,
              (ARRAY['residential','commercial','industrial','farmland','park','water'])[1 + floor(b * 1000)::int % 6] AS landuse
       FROM (${POINT_SOURCE(polygons)}) AS p ORDER BY i`,
      `INSERT INTO bench.polygons (id, landuse, area, geom)
       SELECT i, landuse, ST_Area(g::geography), g
       FROM (SELECT i, landuse, ST_SetSRID(ST_MakePolygon(ST_MakeLine(pts || pts[1])), 4326) AS g
             FROM (SELECT i, landuse, array_agg(ST_MakePoint(
                            lon + r * (0.7 + 0.6 * j1) * cos(a) / (111320 * cos(radians(lat))),
                            lat + r * (0.7 + 0.6 * j1) * sin(a) / 111320) ORDER BY k) AS pts
                   FROM (SELECT c.*, k, random() AS j1, rot + k * pi() / 3 + (random() - 0.5) * 0.35 AS a
                         FROM centres AS c CROSS JOIN generate_series(0, 5) AS k ORDER BY i, k) AS v
                   GROUP BY i, landuse) AS h) AS p`,
      'CREATE INDEX points_geom ON bench.points USING gist (geom)',
      'CREATE INDEX polygons_geom ON bench.polygons USING gist (geom)',
      'VACUUM ANALYZE bench.points',
      'VACUUM ANALYZE bench.polygons',
    ])
      await db.query(sql);
    const { rows } = await db.query<{ p: number; g: number }>('SELECT (SELECT count(*) FROM bench.points)::int AS p, (SELECT count(*) FROM bench.polygons)::int AS g');
    if (rows[0]!.p !== points || rows[0]!.g !== polygons) throw new Error(`data generation produced ${rows[0]!.p} points and ${rows[0]!.g} polygons`);
  } finally {
    await db.end();
  }
  return (performance.now() - t0) / 1000;
}

/** Write the two layer definitions into dir (used as LAYERS_DIR). */
export function writeLayers(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  // Scoped by area (the costlier kind): an unlimited caller's query passes NULL and skips it; a district's user
  // gets the district's features (bench:tiles measures both).
  const common = { theme: 'urban', owner: 'zrzy', access: 'public', geometryColumn: 'geom', idColumn: 'id', minzoom: 0, maxzoom: 22, scope: 'area' };
  const label = (en: string) => ({ label: { zh: en, en } });
  const defs = [
    {
      id: 'bench_points',
      title: { zh: '基准点', en: 'Benchmark points' },
      source: { type: 'table', schema: 'bench', table: 'points' },
      properties: { kind: label('Kind'), name: label('Name'), value: label('Value') },
      ...common,
    },
    {
      id: 'bench_polygons',
      title: { zh: '基准面', en: 'Benchmark polygons' },
      source: { type: 'table', schema: 'bench', table: 'polygons' },
      properties: { landuse: label('Land use'), area: label('Area') },
      simplify: [{ maxzoom: 12, tolerancePx: 0.5 }],
      ...common,
    },
  ];
  for (const d of defs) fs.writeFileSync(path.join(dir, `${d.id}.json`), JSON.stringify(d, null, 2));
}
