-- 管理部件 and 事件 inside the grid cells. Component classes and their shares are typical of a city street
-- inventory (manhole covers, street lights, bins, trees); ids follow the pinned edition: 6 district + 4 class +
-- 6 sequence per district and class.

CREATE TEMP TABLE g_component ON COMMIT DROP AS
SELECT gc.code AS grid_code, gc.district_code, gc.id AS cell_id, d.path[1] AS k, d.geom
FROM urban.grid_cells gc
JOIN g_district gd ON gd.adcode = gc.district_code
CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(gc.geom, 1 + floor(4 * pg_temp.rnd(41, gc.id))::integer, pg_temp.iseed(42, gc.id))) AS d
WHERE gc.area_m2 >= 100;

INSERT INTO urban.components (id, bjbsm, class_code, status, owner_dept, maintainer, grid_code, installed_on, changed_on, data_source, geom)
SELECT row_number() OVER (ORDER BY bjbsm), bjbsm, class_code, status, owner_dept, owner_dept, grid_code, installed_on,
       CASE WHEN status <> '完好' THEN DATE '2025-01-01' + floor(365 * pg_temp.rnd(46, key))::integer END,
       pg_temp.pick(pg_temp.rnd(47, key), ARRAY['实测', '地形图', '基础地理数据', '其他'], ARRAY[70, 15, 10, 5]::float8[]), geom
FROM (
  SELECT c.*, c.district_code || c.class_code || lpad(row_number() OVER (PARTITION BY c.district_code, c.class_code ORDER BY c.grid_code, c.k)::text, 6, '0') AS bjbsm,
         CASE
           WHEN c.class_code = '0101' THEN '淮安市供水有限公司'
           WHEN c.class_code IN ('0102', '0103', '0104', '0302') THEN '淮安市排水管理处'
           WHEN c.class_code IN ('0105', '0116', '0134') THEN '国网淮安供电公司'
           WHEN c.class_code IN ('0106', '0117', '0118') THEN '淮安市路灯管理处'
           WHEN c.class_code IN ('0107', '0115') THEN '通信运营商'
           WHEN c.class_code = '0111' THEN '淮安市燃气公司'
           WHEN c.class_code = '0113' THEN '淮安市消防救援支队'
           WHEN c.class_code = '0136' THEN '淮安市公安局'
           WHEN c.class_code LIKE '02%' THEN '淮安市交通运输局'
           WHEN c.class_code LIKE '03%' THEN '淮安市环境卫生管理处'
           WHEN c.class_code LIKE '04%' THEN '淮安市园林管理处'
           WHEN c.class_code = '0502' THEN '淮安市人民防空办公室'
           ELSE '属地街道办事处'
         END AS owner_dept
  FROM (
    SELECT g.*, g.cell_id::bigint * 10 + g.k AS key,
           pg_temp.pick(pg_temp.rnd(43, g.cell_id::bigint * 10 + g.k),
             ARRAY['0101', '0102', '0103', '0104', '0105', '0106', '0107', '0111', '0113', '0115', '0116', '0117', '0118', '0134',
                   '0136', '0203', '0209', '0210', '0211', '0213', '0301', '0305', '0307', '0402', '0405', '0407', '0501', '0502'],
             ARRAY[8, 8, 8, 6, 5, 3, 5, 3, 2, 2, 2, 4, 10, 1, 2, 1, 3, 1, 2, 2, 0.5, 8, 2, 6, 1, 1, 1, 0.3]::float8[]) AS class_code,
           pg_temp.pick(pg_temp.rnd(44, g.cell_id::bigint * 10 + g.k), ARRAY['完好', '破损', '丢失', '废弃', '移除'], ARRAY[90, 6, 1, 2, 1]::float8[]) AS status,
           DATE '2005-01-01' + floor(7300 * pg_temp.rnd(45, g.cell_id::bigint * 10 + g.k))::integer AS installed_on
    FROM g_component g
  ) c
) x;

-- Events of the last 30 days before 2026-03-14 24:00 (China time), about one per four cells.
INSERT INTO urban.events (id, code, class_code, status, source, reported_at, grid_code, geom)
SELECT row_number() OVER (ORDER BY reported_at, grid_code),
       'AJ' || to_char(reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')
            || lpad(row_number() OVER (PARTITION BY (reported_at AT TIME ZONE 'Asia/Shanghai')::date ORDER BY reported_at, grid_code)::text, 4, '0'),
       class_code, status, source, reported_at, grid_code, geom
FROM (
  SELECT gc.code AS grid_code,
         pg_temp.pick(pg_temp.rnd(51, gc.id),
           ARRAY['0102', '0103', '0104', '0106', '0107', '0108', '0110', '0112', '0116', '0199', '0201', '0202', '0203', '0501', '0502', '0503', '0504', '0505'],
           ARRAY[12, 5, 8, 4, 2, 2, 4, 3, 2, 2, 10, 3, 2, 6, 12, 8, 10, 5]::float8[]) AS class_code,
         pg_temp.pick(pg_temp.rnd(52, gc.id), ARRAY['reported', 'accepted', 'dispatched', 'handling', 'feedback', 'closed', 'cancelled'],
           ARRAY[5, 8, 10, 12, 5, 55, 5]::float8[]) AS status,
         pg_temp.pick(pg_temp.rnd(53, gc.id), ARRAY['监督员上报', '公众举报', '视频监控', '上级交办'], ARRAY[70, 20, 8, 2]::float8[]) AS source,
         TIMESTAMPTZ '2026-03-15 00:00:00+08' - (30 * 86400 * pg_temp.rnd(54, gc.id)) * INTERVAL '1 second' AS reported_at,
         coalesce(ST_GeometryN(ST_GeneratePoints(gc.geom, 1, pg_temp.iseed(55, gc.id)), 1), ST_PointOnSurface(gc.geom)) AS geom
  FROM urban.grid_cells gc JOIN g_district gd ON gd.adcode = gc.district_code
  WHERE pg_temp.rnd(50, gc.id) < 0.25 AND gc.area_m2 >= 100
) e;
