-- The city's themes: the base map's admin divisions and water, 城市管理 (urban), 规划 (planning), 人防
-- (civil_defence) and 环保 (environment). Tables only; the code tables' rows are in 0004_theme_codes.sql and the
-- sample data in data-samples/. Everything is stored in WGS84 (EPSG:4326); areas and distances are taken in
-- CGCS2000 / 3-degree Gauss-Kruger CM 120E (EPSG:4549, Huai'an's zone) or on the spheroid (geography).

CREATE SCHEMA IF NOT EXISTS urban;
CREATE SCHEMA IF NOT EXISTS planning;
CREATE SCHEMA IF NOT EXISTS civil_defence;
CREATE SCHEMA IF NOT EXISTS environment;

-- ---------------------------------------------------------------------------------------------------------------
-- 底图 base map
-- ---------------------------------------------------------------------------------------------------------------

-- The 7 districts and counties (GB/T 2260 codes). Imported from the department's boundary data.
CREATE TABLE basemap.districts (
  id      integer PRIMARY KEY,
  adcode  text NOT NULL UNIQUE CHECK (adcode ~ '^3208\d{2}$' AND id = adcode::integer),
  name    text NOT NULL,
  geom    geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX ON basemap.districts USING gist (geom);

-- Townships (乡镇/街道): 9-digit statistical code = 6 district + 3 (001–099 街道, 100–199 镇, 200–399 乡).
CREATE TABLE basemap.streets (
  id            integer PRIMARY KEY,
  code          text NOT NULL UNIQUE CHECK (code ~ '^\d{9}$'),
  name          text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('街道', '镇', '乡')),
  district_code text NOT NULL REFERENCES basemap.districts (adcode) CHECK (left(code, 6) = district_code),
  geom          geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX ON basemap.streets USING gist (geom);

-- Communities and villages (社区/村): 12-digit code = 9 township + 3.
CREATE TABLE basemap.communities (
  id          integer PRIMARY KEY,
  code        text NOT NULL UNIQUE CHECK (code ~ '^\d{12}$'),
  name        text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('社区', '村')),
  street_code text NOT NULL REFERENCES basemap.streets (code) CHECK (left(code, 9) = street_code),
  geom        geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX ON basemap.communities USING gist (geom);

-- Lakes (洪泽湖 …) and rivers.
CREATE TABLE basemap.water (
  id      integer PRIMARY KEY,
  name    text NOT NULL,
  name_zh text NOT NULL,
  kind    text NOT NULL,
  geom    geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX ON basemap.water USING gist (geom);

CREATE TABLE basemap.rivers (
  id      integer PRIMARY KEY,
  name    text NOT NULL,
  name_zh text NOT NULL,
  kind    text NOT NULL,
  geom    geometry(MultiLineString, 4326) NOT NULL
);
CREATE INDEX ON basemap.rivers USING gist (geom);

CREATE TABLE basemap.roads (
  id    integer PRIMARY KEY,
  name  text NOT NULL,
  kind  text NOT NULL CHECK (kind IN ('高速公路', '国道', '省道', '城市主干路', '城市次干路', '铁路')),
  geom  geometry(MultiLineString, 4326) NOT NULL
);
CREATE INDEX ON basemap.roads USING gist (geom);

-- Label points for admin names (a polygon's label would repeat in every tile it crosses).
CREATE TABLE basemap.labels (
  id    integer PRIMARY KEY,
  name  text NOT NULL,
  kind  text NOT NULL CHECK (kind IN ('区县', '街道', '镇', '乡', '社区', '村')),
  rank  integer NOT NULL,
  code  text NOT NULL,
  geom  geometry(Point, 4326) NOT NULL
);
CREATE INDEX ON basemap.labels USING gist (geom);

-- ---------------------------------------------------------------------------------------------------------------
-- 城市管理 urban management (数字城管)
-- ---------------------------------------------------------------------------------------------------------------

-- Component (管理部件) classes: one pinned edition, loaded as data (0004). `code` is 4 digits (大类 + 小类) in the
-- CJ/T 214 / GB/T 30428.2 numbering, 5 digits in GB/T 47678.5-2026.
CREATE TABLE urban.component_classes (
  code       text PRIMARY KEY CHECK (code ~ '^\d{4,5}$'),
  major      text NOT NULL CHECK (code LIKE major || '%'),
  major_name text NOT NULL,
  name       text NOT NULL,
  edition    text NOT NULL
);

CREATE TABLE urban.event_classes (
  code       text PRIMARY KEY CHECK (code ~ '^\d{4,5}$'),
  major      text NOT NULL CHECK (code LIKE major || '%'),
  major_name text NOT NULL,
  name       text NOT NULL,
  edition    text NOT NULL
);

-- The six external stages of a case (上报 → 立案 → 派遣 → 处置 → 反馈 → 结案) and its end states.
CREATE TABLE urban.event_statuses (
  code    text PRIMARY KEY,
  name_zh text NOT NULL,
  stage   smallint NOT NULL,
  closed  boolean NOT NULL
);

-- 单元网格: 15-digit code = 6 district + 3 township + 3 community + 3 sequence, the sequence numbered from west
-- to east and north to south within its community.
CREATE TABLE urban.grid_cells (
  id             integer PRIMARY KEY,
  code           text NOT NULL UNIQUE CHECK (code ~ '^\d{15}$'),
  community_code text NOT NULL REFERENCES basemap.communities (code) CHECK (left(code, 12) = community_code),
  street_code    text NOT NULL REFERENCES basemap.streets (code) CHECK (left(code, 9) = street_code),
  district_code  text NOT NULL REFERENCES basemap.districts (adcode) CHECK (left(code, 6) = district_code),
  area_m2        numeric(12, 1) NOT NULL,
  geom           geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX ON urban.grid_cells USING gist (geom);

-- 责任网格: an area a unit answers for, made of communities; the unit belongs to a platform department.
CREATE TABLE urban.responsibility_areas (
  id              integer PRIMARY KEY,
  code            text NOT NULL UNIQUE,
  name            text NOT NULL,
  unit_name       text NOT NULL,
  department_id   text NOT NULL REFERENCES citybase.departments (id),
  street_code     text NOT NULL REFERENCES basemap.streets (code),
  community_codes text[] NOT NULL DEFAULT '{}',
  geom            geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX ON urban.responsibility_areas USING gist (geom);

-- 管理部件: instance id (标识码) = 6 district + class code + 6 sequence: 16 digits with 4-digit classes, 17 with
-- the 5-digit classes of GB/T 47678.5-2026.
CREATE TABLE urban.components (
  id           integer PRIMARY KEY,
  bjbsm        text NOT NULL UNIQUE CHECK (bjbsm ~ '^\d{16,17}$'),
  class_code   text NOT NULL REFERENCES urban.component_classes (code),
  status       text NOT NULL CHECK (status IN ('完好', '破损', '丢失', '废弃', '移除')),
  owner_dept   text NOT NULL,
  maintainer   text,
  grid_code    text REFERENCES urban.grid_cells (code),
  installed_on date NOT NULL,
  changed_on   date,
  data_source  text CHECK (data_source IN ('实测', '地形图', '基础地理数据', '其他')),
  geom         geometry(Point, 4326) NOT NULL,
  CHECK (length(bjbsm) = 12 + length(class_code) AND substr(bjbsm, 7, length(class_code)) = class_code)
);
CREATE INDEX ON urban.components USING gist (geom);
CREATE INDEX ON urban.components (class_code);

-- 事件: a reported problem at a place, with its class and where it stands in the case workflow.
CREATE TABLE urban.events (
  id          integer PRIMARY KEY,
  code        text NOT NULL UNIQUE,
  class_code  text NOT NULL REFERENCES urban.event_classes (code),
  status      text NOT NULL REFERENCES urban.event_statuses (code),
  source      text NOT NULL CHECK (source IN ('监督员上报', '公众举报', '视频监控', '上级交办')),
  reported_at timestamptz NOT NULL,
  grid_code   text REFERENCES urban.grid_cells (code),
  geom        geometry(Point, 4326) NOT NULL
);
CREATE INDEX ON urban.events USING gist (geom);

-- The layers' views: components and events with their class names.
CREATE VIEW urban.components_map AS
SELECT c.id, c.bjbsm, c.class_code, k.name AS class_name, k.major, k.major_name, c.status, c.owner_dept, c.grid_code,
       c.installed_on, c.geom
FROM urban.components c JOIN urban.component_classes k ON k.code = c.class_code;

CREATE VIEW urban.events_map AS
SELECT e.id, e.code, e.class_code, k.name AS class_name, k.major_name, e.status, s.name_zh AS status_name, s.closed,
       e.source, to_char(e.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS reported_local, e.grid_code, e.geom
FROM urban.events e JOIN urban.event_classes k ON k.code = e.class_code JOIN urban.event_statuses s ON s.code = e.status;

-- Point → 单元网格 → 社区 → 街道 → 区县 → 责任网格 → department, as one row (all null outside the city).
-- A point on an edge shared by several cells belongs to the one whose code sorts first: within a community that
-- is the north-western one, the same rule the numbering follows. Community, township and district follow the
-- chosen cell, so the answer is always one consistent chain. Geometries in any SRID are accepted (SRID 0 = WGS84).
CREATE FUNCTION urban.locate(p geometry)
RETURNS TABLE (
  grid_code text, community_code text, community_name text, street_code text, street_name text,
  district_code text, district_name text, responsibility_area text, unit_name text,
  department_id text, department_name text
)
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  WITH pt AS (
    SELECT CASE WHEN ST_SRID(p) = 0 THEN ST_SetSRID(p, 4326)
                WHEN ST_SRID(p) = 4326 THEN p
                ELSE ST_Transform(p, 4326) END AS g
  ), cell AS (
    SELECT gc.code, gc.community_code FROM urban.grid_cells gc, pt
    WHERE ST_Intersects(gc.geom, pt.g) ORDER BY gc.code LIMIT 1
  ), community AS (
    SELECT c.code, c.name, c.street_code FROM basemap.communities c, pt
    WHERE c.code = (SELECT community_code FROM cell)
       OR (NOT EXISTS (SELECT 1 FROM cell) AND ST_Intersects(c.geom, pt.g))
    ORDER BY c.code LIMIT 1
  ), street AS (
    SELECT s.code, s.name, s.district_code FROM basemap.streets s, pt
    WHERE s.code = (SELECT street_code FROM community)
       OR (NOT EXISTS (SELECT 1 FROM community) AND ST_Intersects(s.geom, pt.g))
    ORDER BY s.code LIMIT 1
  ), district AS (
    SELECT d.adcode, d.name FROM basemap.districts d, pt
    WHERE d.adcode = (SELECT district_code FROM street)
       OR (NOT EXISTS (SELECT 1 FROM street) AND ST_Intersects(d.geom, pt.g))
    ORDER BY d.adcode LIMIT 1
  ), area AS (
    -- The area made of the chosen community first; an area drawn by hand (no communities listed) by position.
    SELECT r.code, r.unit_name, r.department_id FROM urban.responsibility_areas r, pt
    WHERE ST_Intersects(r.geom, pt.g) OR r.community_codes @> ARRAY[(SELECT code FROM community)]
    ORDER BY (r.community_codes @> ARRAY[(SELECT code FROM community)]) DESC, r.code LIMIT 1
  )
  SELECT cell.code, community.code, community.name, street.code, street.name, district.adcode, district.name,
         area.code, area.unit_name, dep.id, dep.name_zh
  FROM pt
  LEFT JOIN cell ON true
  LEFT JOIN community ON true
  LEFT JOIN street ON true
  LEFT JOIN district ON true
  LEFT JOIN area ON true
  LEFT JOIN citybase.departments dep ON dep.id = area.department_id
$fn$;

-- ---------------------------------------------------------------------------------------------------------------
-- 规划 planning
-- ---------------------------------------------------------------------------------------------------------------

-- 国土空间调查、规划、用途管制用地用海分类 (2023): 24 first-level classes (01–24), second and third levels where
-- given, with the 制图规范 附录B colours. `built_up` marks the classes counted as built-up area (data, not code).
CREATE TABLE planning.land_use_classes (
  code     text PRIMARY KEY CHECK (code ~ '^\d{2}(\d{2}(\d{2})?)?$'),
  level    smallint NOT NULL CHECK (level = length(code) / 2),
  parent   text REFERENCES planning.land_use_classes (code) CHECK ((level = 1) = (parent IS NULL)),
  name     text NOT NULL,
  color    text CHECK (color ~ '^#[0-9A-F]{6}$'),
  built_up boolean NOT NULL DEFAULT false
);

CREATE TABLE planning.land_use (
  id            integer PRIMARY KEY,
  code          text NOT NULL UNIQUE,
  class_code    text NOT NULL REFERENCES planning.land_use_classes (code),
  district_code text NOT NULL REFERENCES basemap.districts (adcode),
  area_m2       numeric(14, 1) NOT NULL,
  geom          geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX ON planning.land_use USING gist (geom);
CREATE INDEX ON planning.land_use (class_code);

-- The parcels with their class's name and colour: the nearest coded ancestor's colour when the class has none.
CREATE VIEW planning.land_use_map AS
SELECT p.id, p.code, p.class_code, c.name AS class_name,
       coalesce(c.color, pc.color, ppc.color, '#CCCCCC') AS color,
       c.built_up, p.district_code, p.area_m2, p.geom
FROM planning.land_use p
JOIN planning.land_use_classes c ON c.code = p.class_code
LEFT JOIN planning.land_use_classes pc ON pc.code = c.parent
LEFT JOIN planning.land_use_classes ppc ON ppc.code = pc.parent;

-- 控规 regulatory parcels: 容积率 RJL, 建筑密度 JZMD (%), 绿地率 LDL (%), 建筑限高 JZXG (m).
CREATE TABLE planning.regulatory_parcels (
  id            integer PRIMARY KEY,
  code          text NOT NULL UNIQUE,
  class_code    text NOT NULL REFERENCES planning.land_use_classes (code),
  rjl           numeric(4, 2) NOT NULL CHECK (rjl >= 0),
  jzmd          numeric(4, 1) NOT NULL CHECK (jzmd BETWEEN 0 AND 100),
  ldl           numeric(4, 1) NOT NULL CHECK (ldl BETWEEN 0 AND 100),
  jzxg          numeric(5, 1) NOT NULL CHECK (jzxg > 0),
  district_code text NOT NULL REFERENCES basemap.districts (adcode),
  area_m2       numeric(14, 1) NOT NULL,
  geom          geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX ON planning.regulatory_parcels USING gist (geom);

-- ---------------------------------------------------------------------------------------------------------------
-- 人防 civil air defence
-- ---------------------------------------------------------------------------------------------------------------

-- Planning parameters whose norms are not verified (GB 50038 / GB 50808): kept as data, changed with SQL.
CREATE TABLE civil_defence.parameters (
  key   text PRIMARY KEY,
  value numeric NOT NULL,
  unit  text NOT NULL,
  note  text NOT NULL
);

-- Population per district (the 掩蔽人口基数), the denominator of shelter capacity.
CREATE TABLE civil_defence.population (
  district_code text PRIMARY KEY REFERENCES basemap.districts (adcode),
  population    integer NOT NULL CHECK (population > 0),
  basis         text NOT NULL,
  year          integer NOT NULL,
  source        text NOT NULL
);

CREATE TABLE civil_defence.shelters (
  id                integer PRIMARY KEY,
  code              text NOT NULL UNIQUE,
  name              text NOT NULL,
  kind              text NOT NULL,
  protection_level  text NOT NULL,
  chemical_level    text NOT NULL,
  floor_area_m2     numeric(10, 1) NOT NULL CHECK (floor_area_m2 > 0),
  usable_area_m2    numeric(10, 1) NOT NULL CHECK (usable_area_m2 > 0 AND usable_area_m2 <= floor_area_m2),
  capacity          integer NOT NULL CHECK (capacity >= 0),
  status            text NOT NULL CHECK (status IN ('完好', '在建', '需维修', '停用')),
  completed_year    integer,
  district_code     text NOT NULL REFERENCES basemap.districts (adcode),
  geom              geometry(Point, 4326) NOT NULL
);
CREATE INDEX ON civil_defence.shelters USING gist (geom);
CREATE INDEX ON civil_defence.shelters USING gist ((geom::geography));

-- Sirens carry their own 音响覆盖半径 (the norm is not verified, and it depends on the device); the coverage
-- circle is derived from it on the spheroid, so it is always in step with the siren.
CREATE TABLE civil_defence.sirens (
  id            integer PRIMARY KEY,
  code          text NOT NULL UNIQUE,
  name          text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('电动', '电声', '多媒体')),
  model         text NOT NULL,
  power_kw      numeric(5, 2) NOT NULL CHECK (power_kw > 0),
  height_m      numeric(5, 1) NOT NULL,
  radius_m      numeric(6, 0) NOT NULL CHECK (radius_m > 0 AND radius_m <= 5000),
  control       text NOT NULL CHECK (control IN ('有线', '无线', '有线+无线')),
  status        text NOT NULL CHECK (status IN ('正常', '故障', '维修中')),
  installed_on  date NOT NULL,
  district_code text NOT NULL REFERENCES basemap.districts (adcode),
  geom          geometry(Point, 4326) NOT NULL,
  coverage      geometry(Polygon, 4326) GENERATED ALWAYS AS (ST_Buffer(geom::geography, radius_m::float8)::geometry) STORED
);
CREATE INDEX ON civil_defence.sirens USING gist (geom);
CREATE INDEX ON civil_defence.sirens USING gist (coverage);

-- 疏散地域 / 隐蔽地域: where people go (dispersal) or hide (concealment), with how many they take.
CREATE TABLE civil_defence.evacuation_areas (
  id            integer PRIMARY KEY,
  code          text NOT NULL UNIQUE,
  name          text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('疏散地域', '隐蔽地域')),
  capacity      integer NOT NULL CHECK (capacity > 0),
  area_m2       numeric(12, 1) NOT NULL,
  district_code text NOT NULL REFERENCES basemap.districts (adcode),
  geom          geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX ON civil_defence.evacuation_areas USING gist (geom);

CREATE TABLE civil_defence.evacuation_routes (
  id            integer PRIMARY KEY,
  code          text NOT NULL UNIQUE,
  name          text NOT NULL,
  area_id       integer NOT NULL REFERENCES civil_defence.evacuation_areas (id),
  length_m      numeric(9, 1) NOT NULL,
  district_code text NOT NULL REFERENCES basemap.districts (adcode),
  geom          geometry(MultiLineString, 4326) NOT NULL
);
CREATE INDEX ON civil_defence.evacuation_routes USING gist (geom);

-- 重要经济目标: restricted to 人防办 (see layers/civil_defence_key_targets.json).
CREATE TABLE civil_defence.key_targets (
  id            integer PRIMARY KEY,
  code          text NOT NULL UNIQUE,
  name          text NOT NULL,
  nature        text NOT NULL,
  protection    text NOT NULL,
  district_code text NOT NULL REFERENCES basemap.districts (adcode),
  geom          geometry(Point, 4326) NOT NULL
);
CREATE INDEX ON civil_defence.key_targets USING gist (geom);

-- Residential parcels (07xx) farther than the service distance (parameters) from every shelter in use.
CREATE VIEW civil_defence.uncovered_residential AS
SELECT p.id, p.code, p.class_code, p.district_code, p.area_m2,
       (SELECT value FROM civil_defence.parameters WHERE key = 'shelter_service_distance_m') AS distance_m,
       p.geom
FROM planning.land_use p
WHERE p.class_code LIKE '07%'
  AND NOT EXISTS (
    SELECT 1 FROM civil_defence.shelters s
    WHERE s.status IN ('完好', '需维修')
      AND ST_DWithin(s.geom::geography, p.geom::geography,
                     (SELECT value FROM civil_defence.parameters WHERE key = 'shelter_service_distance_m')::float8));

-- ---------------------------------------------------------------------------------------------------------------
-- 环保 environment
-- ---------------------------------------------------------------------------------------------------------------

CREATE TABLE environment.air_stations (
  id            integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
  code          text NOT NULL UNIQUE,
  name          text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('国控', '省控', '市控', '微站')),
  district_code text REFERENCES basemap.districts (adcode),
  geom          geometry(Point, 4326) NOT NULL
);
CREATE INDEX ON environment.air_stations USING gist (geom);

-- Hourly readings as published (CNEMC 实时报: µg/m³, CO mg/m³), with the AQI the platform computed on import
-- (tile-server/src/analyses/aqi.ts; the standard in force at the reading's date).
CREATE TABLE environment.air_readings (
  station_id         integer NOT NULL REFERENCES environment.air_stations (id) ON DELETE CASCADE,
  observed_at        timestamptz NOT NULL,
  so2                numeric, so2_24h   numeric,
  no2                numeric, no2_24h   numeric,
  co                 numeric, co_24h    numeric,
  o3                 numeric, o3_8h     numeric,
  pm10               numeric, pm10_24h  numeric,
  pm2_5              numeric, pm2_5_24h numeric,
  aqi                integer,
  level              smallint CHECK (level BETWEEN 1 AND 6),
  category           text,
  color              text,
  primary_pollutants text[] NOT NULL DEFAULT '{}',
  standard           text,
  PRIMARY KEY (station_id, observed_at)
);
CREATE INDEX ON environment.air_readings (observed_at);

-- Each station with its latest reading that has an AQI.
CREATE VIEW environment.air_stations_latest AS
SELECT s.id, s.code, s.name, s.kind, s.district_code,
       r.observed_at, to_char(r.observed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS observed_local, r.aqi, r.level, r.category, r.color, array_to_string(r.primary_pollutants, ',') AS primary_pollutants,
       r.pm2_5, r.pm10, r.o3, r.no2, r.so2, r.co, r.standard, s.geom
FROM environment.air_stations s
LEFT JOIN LATERAL (
  SELECT * FROM environment.air_readings r WHERE r.station_id = s.id AND r.aqi IS NOT NULL
  ORDER BY r.observed_at DESC LIMIT 1
) r ON true;

-- GB 3838-2002 表1: a value meets a class when lower <= value <= upper (either bound may be open). `water_type`
-- 'all' rows apply to rivers and lakes; 'river' / 'lake' rows to one of them only (TP; TN is for lakes only).
CREATE TABLE environment.gb3838_limits (
  factor     text NOT NULL,
  water_type text NOT NULL CHECK (water_type IN ('all', 'river', 'lake')),
  class      smallint NOT NULL CHECK (class BETWEEN 1 AND 5),
  lower      numeric,
  upper      numeric,
  unit       text NOT NULL,
  name_zh    text NOT NULL,
  PRIMARY KEY (factor, water_type, class),
  CHECK (lower IS NOT NULL OR upper IS NOT NULL)
);

-- Classes I–V and 劣V (6), with their names and map colours.
CREATE TABLE environment.gb3838_classes (
  class    smallint PRIMARY KEY CHECK (class BETWEEN 1 AND 6),
  label    text NOT NULL,
  quality  text NOT NULL,
  color    text NOT NULL CHECK (color ~ '^#[0-9A-F]{6}$')
);

-- Class of a water sample: per factor the best class whose limits it meets (6 = 劣V when it meets none), the
-- sample's class is the worst of its factors (单因子评价). Factors without limits for the water type (TN in a
-- river) are not evaluated. Returns one row: class (null when no factor was evaluated), the factors that set it,
-- and every factor's class.
CREATE FUNCTION environment.gb3838_class(water_type text, sample jsonb)
RETURNS TABLE (class smallint, worst_factors text[], factor_classes jsonb)
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  WITH v AS (
    SELECT key AS factor, value::numeric AS value FROM jsonb_each_text(sample) WHERE value IS NOT NULL
  ), per_factor AS (
    SELECT v.factor,
           coalesce(min(l.class) FILTER (WHERE (l.lower IS NULL OR v.value >= l.lower) AND (l.upper IS NULL OR v.value <= l.upper)), 6)::smallint AS class
    FROM v JOIN environment.gb3838_limits l ON l.factor = v.factor AND l.water_type IN ('all', $1)
    GROUP BY v.factor
  )
  SELECT max(class)::smallint,
         array_agg(factor ORDER BY factor) FILTER (WHERE class = (SELECT max(class) FROM per_factor)),
         coalesce(jsonb_object_agg(factor, class), '{}'::jsonb)
  FROM per_factor
$fn$;

CREATE TABLE environment.water_sections (
  id            integer PRIMARY KEY,
  code          text NOT NULL UNIQUE,
  name          text NOT NULL,
  water_body    text NOT NULL,
  water_type    text NOT NULL CHECK (water_type IN ('river', 'lake')),
  target_class  smallint NOT NULL CHECK (target_class BETWEEN 1 AND 5),
  district_code text NOT NULL REFERENCES basemap.districts (adcode),
  geom          geometry(Point, 4326) NOT NULL
);
CREATE INDEX ON environment.water_sections USING gist (geom);

-- Measured factors in mg/L (pH dimensionless).
CREATE TABLE environment.water_samples (
  section_id  integer NOT NULL REFERENCES environment.water_sections (id) ON DELETE CASCADE,
  sampled_on  date NOT NULL,
  ph          numeric, "do" numeric, codmn numeric, cod numeric, bod5 numeric, nh3n numeric, tp numeric, tn numeric,
  PRIMARY KEY (section_id, sampled_on)
);

-- Each section with its latest sample's class (GB 3838) and whether it meets the section's target.
CREATE VIEW environment.water_sections_status AS
SELECT s.id, s.code, s.name, s.water_body, s.water_type, s.target_class, s.district_code,
       w.sampled_on, q.class, c.label AS class_label, c.quality, c.color,
       array_to_string(q.worst_factors, ',') AS worst_factors,
       q.class <= s.target_class AS meets_target, s.geom
FROM environment.water_sections s
LEFT JOIN LATERAL (
  SELECT * FROM environment.water_samples w WHERE w.section_id = s.id ORDER BY w.sampled_on DESC LIMIT 1
) w ON true
LEFT JOIN LATERAL environment.gb3838_class(
  s.water_type,
  jsonb_build_object('ph', w.ph, 'do', w."do", 'codmn', w.codmn, 'cod', w.cod, 'bod5', w.bod5, 'nh3n', w.nh3n, 'tp', w.tp, 'tn', w.tn)
) q ON true
LEFT JOIN environment.gb3838_classes c ON c.class = q.class;

-- GB 3096-2008 声环境功能区 and their LAeq limits, dB(A). 昼间 06:00–22:00, 夜间 22:00–06:00.
CREATE TABLE environment.gb3096_limits (
  zone_class  text PRIMARY KEY CHECK (zone_class IN ('0', '1', '2', '3', '4a', '4b')),
  day_db      numeric(4, 1) NOT NULL,
  night_db    numeric(4, 1) NOT NULL,
  description text NOT NULL,
  color       text NOT NULL CHECK (color ~ '^#[0-9A-F]{6}$')
);

-- Night-time 突发噪声 may exceed the night limit by at most this much (GB 3096-2008 5.4).
CREATE TABLE environment.gb3096_rules (
  key   text PRIMARY KEY,
  value numeric NOT NULL,
  note  text NOT NULL
);

CREATE TABLE environment.noise_zones (
  id            integer PRIMARY KEY,
  code          text NOT NULL UNIQUE,
  zone_class    text NOT NULL REFERENCES environment.gb3096_limits (zone_class),
  district_code text NOT NULL REFERENCES basemap.districts (adcode),
  geom          geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX ON environment.noise_zones USING gist (geom);

CREATE VIEW environment.noise_zones_map AS
SELECT z.id, z.code, z.zone_class, l.day_db, l.night_db, l.description, l.color, z.district_code, z.geom
FROM environment.noise_zones z JOIN environment.gb3096_limits l USING (zone_class);

-- 取水监控: permitted (许可) and measured annual withdrawal, 万 m³.
CREATE TABLE environment.water_intakes (
  id              integer PRIMARY KEY,
  permit_no       text NOT NULL UNIQUE,
  name            text NOT NULL,
  source_kind     text NOT NULL CHECK (source_kind IN ('地表水', '地下水')),
  use_kind        text NOT NULL,
  year            integer NOT NULL,
  permitted_10k_m3 numeric(10, 2) NOT NULL CHECK (permitted_10k_m3 > 0),
  measured_10k_m3  numeric(10, 2) NOT NULL CHECK (measured_10k_m3 >= 0),
  usage_pct       numeric(6, 1) GENERATED ALWAYS AS (round(measured_10k_m3 * 100 / permitted_10k_m3, 1)) STORED,
  over_permit     boolean GENERATED ALWAYS AS (measured_10k_m3 > permitted_10k_m3) STORED,
  district_code   text NOT NULL REFERENCES basemap.districts (adcode),
  geom            geometry(Point, 4326) NOT NULL
);
CREATE INDEX ON environment.water_intakes USING gist (geom);
