// The themes on the real layers/ and the full sample data: density, quality, tiles of every theme layer, the
// restricted layer and the demo key, the default style, the grid numbering and the point lookup, the 人防
// coverage, noise at a place and the station readings import. One platform for the whole file.
import path from 'node:path';
import test from 'ava';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import type { StyleSpecification } from '@maplibre/maplibre-gl-style-spec';
import { checkSamples } from '../data-samples/check.ts';
import { ensureDemoKey } from '../data-samples/demo-key.ts';
import { loadSamplesOnce } from '../data-samples/load.ts';
import { tables as aqiTables } from '../tile-server/src/analyses/aqi/aqi.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { loadDefinitions } from '../tile-server/src/registry/load.ts';
import { decodeTile, tileOf } from './helpers/mvt.ts';
import { binary, root, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

const layersDir = path.join(root, 'layers');
const DEMO_KEY = `cb_${'demo'.repeat(10)}abc`; // 43 characters after cb_
const log = createLogger('silent');
let p: TestPlatform;
const keys: Record<string, string> = {};

test.before(async () => {
  p = await startTestPlatform({ DEMO_API_KEY: DEMO_KEY, TRUST_PROXY: 'loopback' }, { layersDir, fixtures: false });
  await loadSamplesOnce(p.platform.pool, log);
  await ensureDemoKey(p.platform.pool, DEMO_KEY, true, log);
  keys.sthjImport = (await p.platform.keys.create('sthj', 'themes test', ['read', 'import'])).key;
  keys.sthj = (await p.platform.keys.create('sthj', 'themes test')).key;
  keys.cgjImport = (await p.platform.keys.create('cgj', 'themes test', ['read', 'import'])).key;
});
test.after.always(async () => {
  await p?.close();
});

const one = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) => (await p.sql.query<T>(sql, values)).rows[0]!;
const getTile = (url: string) => p.http.get(url).set('Accept-Encoding', 'identity').buffer(true).parse(binary);

// ---------------------------------------------------------------------------------------------------------------
// The sample data
// ---------------------------------------------------------------------------------------------------------------

test('the samples have the density the issue asks for', async (t) => {
  const n = await one<Record<string, string>>(`SELECT
    (SELECT count(*) FROM urban.grid_cells) AS grid_cells, (SELECT count(*) FROM urban.components) AS components,
    (SELECT count(*) FROM planning.land_use) AS land_use, (SELECT count(*) FROM civil_defence.shelters) AS shelters,
    (SELECT count(*) FROM civil_defence.sirens) AS sirens, (SELECT count(*) FROM environment.air_stations WHERE code NOT LIKE 'XZTEST%') AS stations,
    (SELECT min(n) FROM (SELECT count(*) AS n FROM environment.air_stations s LEFT JOIN environment.air_readings r ON r.station_id = s.id
                         WHERE s.code NOT LIKE 'XZTEST%' GROUP BY s.id) x) AS hours_per_station,
    (SELECT count(*) FROM (SELECT DISTINCT left(code, 2) FROM planning.land_use_classes) x) AS first_level_classes`);
  t.true(Number(n.grid_cells) >= 5000, `grid cells ${n.grid_cells}`);
  t.true(Number(n.components) >= 20000, `components ${n.components}`);
  t.true(Number(n.land_use) >= 2000, `land-use parcels ${n.land_use}`);
  t.true(Number(n.shelters) >= 300, `shelters ${n.shelters}`);
  t.true(Number(n.sirens) >= 150, `sirens ${n.sirens}`);
  t.true(Number(n.stations) >= 30, `stations ${n.stations}`);
  t.is(Number(n.hours_per_station), 30 * 24, 'every station has 30 days of hourly readings');
  t.is(Number(n.first_level_classes), 24);
});

test('every sample geometry is valid, in its district and parent, and out of the lakes', async (t) => {
  for (const c of await checkSamples(p.sql)) t.deepEqual(c, { table: c.table, rows: c.rows, invalid: 0, outside: 0, in_lake: 0, orphan: 0 }, c.table);
});

test('the 7 districts are in WGS84: they fit the independent WGS84 city outline better than if left in GCJ-02', async (t) => {
  const d = await one<{ codes: string[] }>(`SELECT array_agg(adcode ORDER BY adcode) AS codes FROM basemap.districts`);
  t.deepEqual(d.codes, ['320803', '320804', '320812', '320813', '320826', '320830', '320831']);
  // GCJ-02 lies about 0.0054° east and 0.0014° south of WGS84 here: shifting the districts by that much (as
  // untransformed Amap data would be) makes them fit the cn-atlas outline (basemap.prefecture) worse.
  const misfit = await one<{ as_loaded: number; as_gcj02: number }>(`
    WITH d AS (SELECT ST_Union(geom) AS g FROM basemap.districts), c AS (SELECT geom AS g FROM basemap.prefecture)
    SELECT ST_Area(ST_Transform(ST_SymDifference(d.g, c.g), 4549)) / 1e6 AS as_loaded,
           ST_Area(ST_Transform(ST_SymDifference(ST_Translate(d.g, 0.0054, -0.0014), c.g), 4549)) / 1e6 AS as_gcj02
    FROM d, c`);
  t.true(misfit.as_loaded < misfit.as_gcj02, `${misfit.as_loaded} km² vs ${misfit.as_gcj02} km²`);
});

test('grid cells are numbered from west to east and north to south within their community', async (t) => {
  // The 200 m square a cell comes from is read back from the centre of its box on the GK plane.
  const bad = await one<{ n: string; checked: string }>(`
    WITH cells AS (
      SELECT code, community_code,
             floor(ST_X(ST_Centroid(ST_Envelope(ST_Transform(geom, 4549)))) / 200) AS i,
             floor(ST_Y(ST_Centroid(ST_Envelope(ST_Transform(geom, 4549)))) / 200) AS j
      FROM urban.grid_cells
    ), ranked AS (
      SELECT code, row_number() OVER (PARTITION BY community_code ORDER BY code) AS by_code,
             row_number() OVER (PARTITION BY community_code ORDER BY j DESC, i) AS by_place
      FROM cells
    )
    SELECT count(*) FILTER (WHERE by_code <> by_place) AS n, count(*) AS checked FROM ranked`);
  t.is(Number(bad.n), 0);
  t.true(Number(bad.checked) >= 5000);
  t.regex((await one<{ code: string }>(`SELECT min(code) AS code FROM urban.grid_cells`)).code, /^\d{12}001$/);
});

// ---------------------------------------------------------------------------------------------------------------
// Point → grid cell → community → township → district → department
// ---------------------------------------------------------------------------------------------------------------

const locate = async (lon: number, lat: number) => {
  const res = await p.http.get(`/api/urban/locate?lon=${lon}&lat=${lat}`);
  if (res.status !== 200) throw new Error(`locate: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Record<string, string | null>;
};

test('a corner shared by four cells belongs to the first of them (the north-western one) and its chain', async (t) => {
  const c = await one<{ a: string; lon: number; lat: number; touching: string[] }>(`
    WITH cells AS (
      SELECT code, community_code, geom,
             floor(ST_X(ST_Centroid(ST_Envelope(ST_Transform(geom, 4549)))) / 200)::int AS i,
             floor(ST_Y(ST_Centroid(ST_Envelope(ST_Transform(geom, 4549)))) / 200)::int AS j
      FROM urban.grid_cells WHERE district_code = '320812' AND area_m2 = 40000
    ), quad AS (
      SELECT a.code AS a, a.geom, ST_Transform(ST_SetSRID(ST_Point((a.i + 1) * 200, a.j * 200), 4549), 4326) AS corner
      FROM cells a
      JOIN cells b ON b.community_code = a.community_code AND b.i = a.i + 1 AND b.j = a.j
      JOIN cells c ON c.community_code = a.community_code AND c.i = a.i AND c.j = a.j - 1
      JOIN cells d ON d.community_code = a.community_code AND d.i = a.i + 1 AND d.j = a.j - 1
      ORDER BY a.code LIMIT 1
    ), vertex AS (
      SELECT q.a, v.geom AS p FROM quad q, ST_DumpPoints(q.geom) v ORDER BY ST_Distance(v.geom, q.corner) LIMIT 1
    )
    SELECT a, ST_X(p) AS lon, ST_Y(p) AS lat,
           (SELECT array_agg(code ORDER BY code) FROM urban.grid_cells g WHERE ST_Intersects(g.geom, p)) AS touching
    FROM vertex`);
  t.is(c.touching.length, 4, 'the point is on all four cells');
  t.is(c.touching[0], c.a);
  const r = await locate(c.lon, c.lat);
  t.is(r.grid_code, c.a);
  t.is(r.community_code, c.a.slice(0, 12));
  t.is(r.street_code, c.a.slice(0, 9));
  t.is(r.district_code, '320812');
  t.is(r.department_id, 'cgj');
  t.truthy(r.unit_name);
});

test('a point on the edge between two communities gets the first cell, and that cell’s community and township', async (t) => {
  const c = await one<{ lon: number; lat: number; first: string; second: string }>(`
    WITH pairs AS (
      SELECT a.code AS first, b.code AS second, a.geom AS ga, b.geom AS gb
      FROM urban.grid_cells a JOIN urban.grid_cells b
        ON a.community_code < b.community_code AND a.geom && b.geom AND ST_Relate(a.geom, b.geom, 'F***1****')
      WHERE a.district_code = '320803'
      LIMIT 50
    )
    SELECT first, second, ST_X(v.geom) AS lon, ST_Y(v.geom) AS lat
    FROM pairs, ST_DumpPoints(ST_Intersection(ga, gb)) v
    WHERE ST_Intersects(ga, v.geom) AND ST_Intersects(gb, v.geom)
      AND (SELECT count(*) FROM urban.grid_cells g WHERE ST_Intersects(g.geom, v.geom)) = 2
    ORDER BY first, second LIMIT 1`);
  t.truthy(c, 'two cells of different communities share an edge');
  const r = await locate(c.lon, c.lat);
  t.is(r.grid_code, c.first);
  t.is(r.community_code, c.first.slice(0, 12));
  t.not(r.community_code, c.second.slice(0, 12));
  t.is(r.street_code, c.first.slice(0, 9));
});

test('outside the grid the lookup still names community, township, district and department; in the lake nothing', async (t) => {
  const rural = await one<{ lon: number; lat: number; code: string }>(`
    SELECT ST_X(p) AS lon, ST_Y(p) AS lat, code FROM (
      SELECT c.code, ST_PointOnSurface(c.geom) AS p FROM basemap.communities c WHERE c.kind = '村' ORDER BY c.code LIMIT 1) x`);
  const r = await locate(rural.lon, rural.lat);
  t.is(r.grid_code, null);
  t.is(r.community_code, rural.code);
  t.is(r.district_code, rural.code.slice(0, 6));
  t.is(r.department_id, 'cgj');
  const lake = await locate(118.55, 33.3); // the middle of 洪泽湖
  t.deepEqual(Object.values(lake).filter((v) => v !== null), []);
});

// ---------------------------------------------------------------------------------------------------------------
// Layers, access, the demo key and the style
// ---------------------------------------------------------------------------------------------------------------

test('every theme layer serves a tile with its features where its data is', async (t) => {
  // The case layers have no sample data (cases are made by people): test/cases-layers.test.ts covers them.
  const defs = (await loadDefinitions(layersDir)).filter((d) => !d.id.startsWith('cases_'));
  for (const d of defs) {
    const { schema, table } = d.source as { schema: string; table: string };
    const at = await one<{ lon: number; lat: number }>(
      `SELECT ST_X(pt) AS lon, ST_Y(pt) AS lat FROM (SELECT ST_PointOnSurface(${d.geometryColumn}) AS pt FROM ${schema}.${table}
       WHERE ${d.geometryColumn} IS NOT NULL ORDER BY ${d.idColumn ?? 'ctid'} LIMIT 1) x`,
    );
    const z = Math.max(d.minzoom, 12);
    const { x, y } = tileOf(at.lon, at.lat, z);
    const key = d.access === 'public' ? '' : `?key=${DEMO_KEY}`;
    const res = await getTile(`/tiles/${d.id}/${z}/${x}/${y}.mvt${key}`);
    t.is(res.status, 200, d.id);
    const features = decodeTile(res.body as Buffer, z, x, y)[d.id] ?? [];
    t.true(features.length > 0, `${d.id} has features in ${z}/${x}/${y}`);
    for (const name of Object.keys(d.properties)) t.true(features.some((f) => name in f.properties), `${d.id}.${name}`);
  }
});

test('重要经济目标 is restricted to 人防办: other departments and anonymous callers get 404, the demo key sees it', async (t) => {
  const { lon, lat } = await one<{ lon: number; lat: number }>(`SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM civil_defence.key_targets LIMIT 1`);
  const { x, y } = tileOf(lon, lat, 12);
  const url = `/tiles/civil_defence_key_targets/12/${x}/${y}.mvt`;
  t.is((await getTile(url)).status, 404);
  t.is((await getTile(`${url}?key=${keys.sthj}`)).status, 404);
  t.is((await getTile(`${url}?key=${DEMO_KEY}`)).status, 200);
  const catalog = (key: string) => p.http.get(`/layers${key}`).then((r) => (r.body.layers as Array<{ id: string }>).map((l) => l.id));
  t.false((await catalog('')).includes('civil_defence_key_targets'));
  t.true((await catalog(`?key=${DEMO_KEY}`)).includes('civil_defence_key_targets'));
  const demo = await one<{ department_id: string; label: string }>(`SELECT department_id, label FROM citybase.api_keys WHERE label LIKE 'demo%'`);
  t.is(demo.department_id, 'rfb');
});

test('GET /styles/default.json is one valid MapLibre style over this server only, with every visible layer', async (t) => {
  const res = await p.http.get('/styles/default.json').set({ 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'gis.huaian.example', 'X-Forwarded-Prefix': '/citybase' });
  t.is(res.status, 200);
  const style = res.body as StyleSpecification;
  t.deepEqual(validateStyleMin(style), []);
  const base = 'https://gis.huaian.example/citybase';
  const urls = JSON.stringify(style).match(/[a-z]+:\/\/[^"]+/g) ?? [];
  t.true(urls.length > 20);
  for (const u of urls) t.true(u.startsWith(`${base}/tiles/`), u);
  t.is(style.glyphs, undefined);
  t.is(style.sprite, undefined);
  const ids = style.layers.map((l) => l.id);
  t.is(new Set(ids).size, ids.length);
  const catalog = (await p.http.get('/layers')).body.layers as Array<{ id: string; theme: string; style: unknown[] }>;
  const styledLayers = catalog.filter((l) => l.style.length > 0).map((l) => l.id).sort();
  t.deepEqual(Object.keys(style.sources).sort(), styledLayers);
  t.false(styledLayers.includes('civil_defence_key_targets'));
  for (const l of style.layers) {
    if (l.type === 'background') continue;
    const theme = (l.metadata as Record<string, string>)['citybase:theme'];
    t.is(l.layout?.visibility === 'none', theme !== 'basemap', `${l.id}: the base map shows, themes start switched off`);
  }
  // Base-map fills under everything, base-map labels over everything.
  t.is(style.layers[1]!.id, 'basemap_districts-fill');
  t.regex(style.layers.at(-1)!.id, /^basemap_/);
  t.is(style.layers.at(-1)!.type, 'symbol');

  const withKey = (await p.http.get(`/styles/default.json?key=${DEMO_KEY}`)).body as StyleSpecification;
  t.deepEqual(validateStyleMin(withKey), []);
  t.regex((withKey.sources.civil_defence_key_targets as { url: string }).url, new RegExp(`/tiles/civil_defence_key_targets\\.json\\?key=${DEMO_KEY}$`));
  t.is((await p.http.get('/styles/other.json')).status, 404);
});

test('legends show the colours of the standards’ tables', async (t) => {
  const defs = new Map((await loadDefinitions(layersDir)).map((d) => [d.id, d]));
  const legend = (id: string) => defs.get(id)!.legend.map((l) => l.color.toUpperCase());
  t.deepEqual(legend('environment_air_stations'), aqiTables.levels.map((l) => l.color));
  t.deepEqual(legend('environment_air_stations'), ['#00E400', '#FFFF00', '#FF7E00', '#FF0000', '#99004C', '#7E0023']);
  const water = await p.sql.query<{ color: string }>(`SELECT color FROM environment.gb3838_classes ORDER BY class`);
  t.deepEqual(legend('environment_water_sections'), water.rows.map((r) => r.color));
  const noise = await p.sql.query<{ color: string }>(`SELECT color FROM environment.gb3096_limits ORDER BY zone_class`);
  t.deepEqual(legend('environment_noise_zones'), noise.rows.map((r) => r.color));
  for (const item of defs.get('planning_land_use')!.legend) {
    const code = item.label.zh.split(' ')[0]!;
    const row = await one<{ color: string }>(`SELECT color FROM planning.land_use_classes WHERE code = $1`, [code]);
    t.is(item.color, row.color, `land-use class ${code}`);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Analyses on the sample data
// ---------------------------------------------------------------------------------------------------------------

test('人防 coverage: capacities and counts are the tables’ own, the siren share matches an independent union', async (t) => {
  const res = await p.http.get('/api/civil-defence/coverage');
  t.is(res.status, 200);
  t.is(res.body.service_distance_m, 500);
  const hz = (res.body.districts as Array<Record<string, number | string>>).find((d) => d.adcode === '320813')!;
  const sql = await one<{ capacity: string; shelters: string; population: number; uncovered: string }>(`
    SELECT (SELECT sum(capacity) FROM civil_defence.shelters WHERE district_code = '320813' AND status IN ('完好', '需维修')) AS capacity,
           (SELECT count(*) FROM civil_defence.shelters WHERE district_code = '320813') AS shelters,
           (SELECT population FROM civil_defence.population WHERE district_code = '320813') AS population,
           (SELECT count(*) FROM civil_defence.uncovered_residential WHERE district_code = '320813') AS uncovered`);
  t.is(hz.capacity, Number(sql.capacity));
  t.is(hz.shelters, Number(sql.shelters));
  t.is(hz.capacity_ratio, Math.round((Number(sql.capacity) / sql.population) * 1000) / 1000);
  t.is(hz.uncovered_residential_parcels, Number(sql.uncovered), 'the JSON and the layer agree at the default distance');
  const share = await one<{ share: number }>(`
    WITH built AS (SELECT ST_Union(p.geom) AS g FROM planning.land_use p JOIN planning.land_use_classes c ON c.code = p.class_code
                   WHERE c.built_up AND p.district_code = '320813'),
         cover AS (SELECT ST_Union(coverage) AS g FROM civil_defence.sirens WHERE status = '正常')
    SELECT ST_Area(ST_Transform(ST_Intersection(built.g, cover.g), 4549)) / ST_Area(ST_Transform(built.g, 4549)) AS share FROM built, cover`);
  t.true(Math.abs((hz.siren_coverage_share as number) - share.share) < 0.002, `${hz.siren_coverage_share} vs ${share.share}`);
  t.true(share.share > 0 && share.share < 1);
  const sum = (k: string) => (res.body.districts as Array<Record<string, number>>).reduce((s, d) => s + d[k]!, 0);
  t.is(res.body.city.capacity, sum('capacity'));
});

test('uncovered residential parcels: farther than the distance from every shelter in use, more of them at a shorter distance', async (t) => {
  const at500 = await p.http.get('/api/civil-defence/uncovered-residential?district=320812');
  t.is(at500.status, 200);
  t.is(at500.type, 'application/geo+json');
  const features = at500.body.features as Array<{ id: number; properties: Record<string, number | string>; geometry: { type: string } }>;
  t.true(features.length > 0);
  for (const f of features.slice(0, 50)) {
    t.true((f.properties.nearest_shelter_m as number) > 500);
    t.regex(f.properties.class_code as string, /^07/);
    t.is(f.properties.district_code, '320812');
  }
  const within = await one<{ n: string }>(
    `SELECT count(*) AS n FROM planning.land_use p, civil_defence.shelters s
     WHERE p.id = ANY ($1) AND s.status IN ('完好', '需维修') AND ST_DWithin(s.geom::geography, p.geom::geography, 500)`,
    [features.map((f) => f.id)],
  );
  t.is(Number(within.n), 0);
  const at200 = await p.http.get('/api/civil-defence/uncovered-residential?district=320812&distance=200');
  t.true(at200.body.features.length > features.length);
});

test('noise at a place: the zone’s GB 3096 limits, exceedances, and the night maximum at limit + 15 dB', async (t) => {
  const at = await one<{ lon: number; lat: number }>(
    `SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(geom) AS p FROM environment.noise_zones
     WHERE zone_class = '1' AND district_code = '320812') x`,
  );
  const res = await p.http.get(`/api/env/noise?lon=${at.lon}&lat=${at.lat}&day=56&night=45&night_max=61`);
  t.is(res.status, 200);
  t.like(res.body.zone, { zone_class: '1', day_db: 55, night_db: 45, night_max_db: 60 });
  t.deepEqual(res.body.assessment, {
    day: { value: 56, limit: 55, exceeds: true, by: 1 },
    night: { value: 45, limit: 45, exceeds: false, by: 0 },
    night_max: { value: 61, limit: 60, exceeds: true, by: 1 },
  });
  const outside = await p.http.get('/api/env/noise?lon=118.3&lat=33.9');
  t.is(outside.body.zone, null);
});

test('every station shows its latest AQI, in the colour of its level', async (t) => {
  const res = await p.http.get('/api/env/air/stations');
  const stations = res.body.stations as Array<{ code: string; aqi: number; level: number; color: string }>;
  t.true(stations.length >= 30);
  for (const s of stations) t.is(s.color, aqiTables.levels[s.level - 1]!.color, s.code);
  t.true(stations.some((s) => s.code === '1210A'));
  const series = await p.http.get('/api/env/air/stations/1210A/readings?hours=48');
  t.is(series.body.readings.length, 48);
  t.is((await p.http.get('/api/env/air/stations/NOPE/readings')).status, 404);
});

const CSV_HEADER = 'TimePoint,StationCode,PositionName,Longitude,Latitude,AQI,Quality,SO2,SO2_24h,NO2,NO2_24h,CO,CO_24h,O3,O3_8h,PM10,PM10_24h,PM2.5,PM2.5_24h';
const postCsv = (csv: string, key?: string) => {
  const req = p.http.post(`/api/env/air/readings${key ? `?key=${key}` : ''}`).set('Content-Type', 'text/csv');
  return req.send(csv);
};

test.serial('a CNEMC CSV is imported with the AQI of the standard in force on its day; the station layer shows it', async (t) => {
  const csv = [
    CSV_HEADER,
    // 2026: PM2.5 80 → 119 on the 2026 row (100 + 50 × 20/55), primary PM2.5; the file's AQI column is ignored.
    '2026-03-15 00:00:00,1210A,市监测站,119.03,33.6,999,严重污染,10,8,30,28,0.8,0.7,60,50,100,90,80,70',
    // 2012 on the eve of the switch: PM2.5 80 → 107 (100 + 50 × 5/40); a new station, missing values empty.
    '2026-02-28 23:00:00,XZTEST01,测试站,119.1,33.55,,,,,30,,,,60,,,,80,',
    // An explicit offset, written without a colon: 2026-03-14 18:00 UTC.
    '2026-03-15T02:00+0800,XZTEST01,测试站,119.1,33.55,,,,,,,,,,,,,10,',
  ].join('\n');
  const res = await postCsv(csv, keys.sthjImport);
  t.is(res.status, 200, JSON.stringify(res.body));
  t.like(res.body, { readings: 3, stations: 2, stationsCreated: 1, withoutAqi: 0 });
  t.deepEqual(res.body.ignoredColumns, ['aqi', 'quality']);
  const rows = await p.sql.query<{ code: string; aqi: number; level: number; standard: string; primary_pollutants: string[] }>(
    `SELECT s.code, r.aqi, r.level, r.standard, r.primary_pollutants FROM environment.air_readings r JOIN environment.air_stations s ON s.id = r.station_id
     WHERE (s.code, r.observed_at) IN (('1210A', '2026-03-15 00:00+08'), ('XZTEST01', '2026-02-28 23:00+08')) ORDER BY s.code`,
  );
  t.deepEqual(rows.rows, [
    { code: '1210A', aqi: 119, level: 3, standard: 'HJ633-2026', primary_pollutants: ['pm2_5_24h'] },
    { code: 'XZTEST01', aqi: 107, level: 3, standard: 'HJ633-2012', primary_pollutants: ['pm2_5_24h'] },
  ]);
  const utc = await one<{ n: string }>(`SELECT count(*) AS n FROM environment.air_readings WHERE observed_at = '2026-03-14T18:00:00Z' AND aqi = 15`);
  t.is(utc.n, '1');
  const latest = (await p.http.get('/api/env/air/stations')).body.stations.find((s: { code: string }) => s.code === '1210A');
  t.like(latest, { aqi: 119, category: '轻度污染', color: '#FF7E00' });
  const created = await one<{ district_code: string; kind: string }>(`SELECT district_code, kind FROM environment.air_stations WHERE code = 'XZTEST01'`);
  t.deepEqual(created, { district_code: '320803', kind: '市控' });
});

test.serial('a bad CSV is refused whole, each problem with its line; importing needs the stations owner’s import right', async (t) => {
  const before = await one<{ n: string }>(`SELECT count(*) AS n FROM environment.air_readings`);
  const bad = [CSV_HEADER, '2026-03-16 01:00:00,1211A,北京南路,119.005,33.575,,,abc,,,,,,,,,,80,', '2026-03-16 01:00:00,1211A,北京南路,119.005,33.575,,,,,,,,,,,,,-3,'].join('\n');
  const res = await postCsv(bad, keys.sthjImport);
  t.is(res.status, 400);
  t.is(res.body.error, 'invalid_csv');
  t.regex(res.body.message, /line 2: so2 "abc"/);
  t.regex(res.body.message, /line 3: pm2_5 "-3"/);
  const noLat = await postCsv('timepoint,stationcode,longitude\n2026-03-16 01:00,1211A,119', keys.sthjImport);
  t.regex(noLat.body.message, /missing column\(s\) latitude/);
  // The same station and hour twice (written two ways), found by the database after the stream was copied.
  const twice = [CSV_HEADER, '2026-03-16 03:00:00,1211A,北京南路,119.005,33.575,,,,,,,,,,,,,80,', '2026-03-16T03:00+08:00,1211A,北京南路,119.005,33.575,,,,,,,,,,,,,81,'];
  const repeated = await postCsv(twice.join('\n'), keys.sthjImport);
  t.is(repeated.status, 400);
  t.regex(repeated.body.message, /line 3: station 1211A at the same hour repeats line 2/);
  const unreadable = await postCsv(`${CSV_HEADER}\n2026-03-16 04:00:00,1211A,"北京南路,119.005`, keys.sthjImport);
  t.is(unreadable.status, 400);
  t.regex(unreadable.body.message, /not a readable CSV file/);
  const good = [CSV_HEADER, '2026-03-16 02:00:00,1211A,北京南路,119.005,33.575,,,,,,,,,,,,,80,'].join('\n');
  t.is((await postCsv(good)).status, 401);
  t.is((await postCsv(good, keys.sthj)).status, 403);
  t.is((await postCsv(good, keys.cgjImport)).status, 403);
  t.is((await one<{ n: string }>(`SELECT count(*) AS n FROM environment.air_readings`)).n, before.n);
});
