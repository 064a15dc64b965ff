-- The cases' code tables, as data (sources in ../shared/reference/domain-standards.md §1.3–1.5). Changing a time
-- limit, a route, a working period or adding a year of holidays is an edit of these rows, never of code.

-- ---------------------------------------------------------------------------------------------------------------
-- Categories: every 小类 of the pinned CJ/T 214 editions already loaded for the themes (0004), kind-prefixed.
-- ---------------------------------------------------------------------------------------------------------------
INSERT INTO cases.categories (code, kind, major, major_name, class_code, name, edition)
SELECT 'BJ' || code, '部件', major, major_name, code, name, edition FROM urban.component_classes
UNION ALL
SELECT 'SJ' || code, '事件', major, major_name, code, name, edition FROM urban.event_classes;

-- A wider net for things people report from further away or days apart.
UPDATE cases.categories SET duplicate_radius_m = 100 WHERE code IN ('SJ0101', 'SJ0111', 'SJ0105');
UPDATE cases.categories SET duplicate_window_h = 72 WHERE code IN ('SJ0101', 'SJ0107');
-- 重大危险源 and 人防工事 are not for the public's eyes.
UPDATE cases.categories SET published = false WHERE code IN ('BJ0601', 'BJ0502');

-- ---------------------------------------------------------------------------------------------------------------
-- Routing: category → department where the category says who answers; everything else goes to the 责任网格's
-- own department (urban.responsibility_areas.department_id).
-- ---------------------------------------------------------------------------------------------------------------
INSERT INTO cases.routing (major, category_code, department_id, note) VALUES
  ('BJ02', NULL, 'jtj', '道路交通部件: 交通运输局'),
  (NULL, 'BJ0308', 'sthj', '环保监测站: 生态环境局'),
  (NULL, 'BJ0502', 'rfb', '人防工事: 人防办');

-- ---------------------------------------------------------------------------------------------------------------
-- Working time: 08:00–12:00 and 14:00–18:00 (smart_cityguard work_time_config), in the city's zone.
-- ---------------------------------------------------------------------------------------------------------------
INSERT INTO cases.work_periods (starts, ends) VALUES ('08:00', '12:00'), ('14:00', '18:00');
INSERT INTO cases.settings (key, value) VALUES ('time_zone', 'Asia/Shanghai');

-- 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04), cross-checked against holiday-cn, chinese-calendar and
-- python-holidays (reference §1.5, confidence V): days off, and the weekend days that are working days (调休).
INSERT INTO cases.calendar (day, workday, name)
SELECT d::date, false, name FROM (VALUES
  ('2026-01-01', '2026-01-03', '元旦'),
  ('2026-02-15', '2026-02-23', '春节'),
  ('2026-04-04', '2026-04-06', '清明节'),
  ('2026-05-01', '2026-05-05', '劳动节'),
  ('2026-06-19', '2026-06-21', '端午节'),
  ('2026-09-25', '2026-09-27', '中秋节'),
  ('2026-10-01', '2026-10-07', '国庆节')
) AS h (first, last, name), generate_series(first::date, last::date, interval '1 day') AS d
UNION ALL
SELECT day::date, true, name || '调休上班' FROM (VALUES
  ('2026-01-04', '元旦'), ('2026-02-14', '春节'), ('2026-02-28', '春节'), ('2026-05-09', '劳动节'),
  ('2026-09-20', '国庆节'), ('2026-10-10', '国庆节')
) AS m (day, name);

-- ---------------------------------------------------------------------------------------------------------------
-- Steps with time limits, and the limits (CJ/T 315 style, set locally; the values are the reference's examples)
-- ---------------------------------------------------------------------------------------------------------------
INSERT INTO cases.steps (code, name_zh) VALUES
  ('accept', '受理立案'), ('verify', '核实'), ('dispatch', '派遣'), ('handle', '处置'), ('check', '核查');

INSERT INTO cases.sla_rules (category_code, major, step, area_type, urgency, amount, unit) VALUES
  -- defaults for every category
  (NULL, NULL, 'accept', NULL, NULL, 1, '工作时'),
  (NULL, NULL, 'verify', NULL, NULL, 2, '工作时'),
  (NULL, NULL, 'dispatch', NULL, NULL, 1, '工作时'),
  (NULL, NULL, 'handle', NULL, NULL, 5, '工作日'),
  (NULL, NULL, 'handle', NULL, '紧急', 2, '紧急工作时'),
  (NULL, NULL, 'check', NULL, NULL, 2, '工作时'),
  -- 井盖 (Yuncheng 立结案标准): 破损 4 工作时, 缺失/移位 (urgent) 2 紧急工作时
  (NULL, 'BJ01', 'handle', NULL, '一般', 4, '工作时'),
  (NULL, 'BJ01', 'handle', NULL, '紧急', 2, '紧急工作时'),
  -- 事件 examples of another city: 暴露垃圾 4 工作时 (2 on main roads), 道路不洁 2 工作时, 私搭乱建 20 工作日,
  -- 绿地脏乱 5 工作日
  ('SJ0102', NULL, 'handle', NULL, NULL, 4, '工作时'),
  ('SJ0102', NULL, 'handle', '主要道路', NULL, 2, '工作时'),
  ('SJ0104', NULL, 'handle', NULL, NULL, 2, '工作时'),
  ('SJ0101', NULL, 'handle', NULL, NULL, 20, '工作日'),
  ('SJ0106', NULL, 'handle', NULL, NULL, 5, '工作日');

-- ---------------------------------------------------------------------------------------------------------------
-- The workflow: states and transitions (each with the right it needs, from tile-server/src/access/rights.ts)
-- ---------------------------------------------------------------------------------------------------------------
INSERT INTO cases.states (code, name_zh, closed, step, open311) VALUES
  ('reported', '上报', false, 'accept', 'open'),
  ('verifying', '待核实', false, 'verify', 'open'),
  ('accepted', '已立案', false, 'dispatch', 'open'),
  ('rejected', '不予立案', true, NULL, 'closed'),
  ('dispatched', '已派遣', false, 'handle', 'open'),
  ('handling', '处置中', false, 'handle', 'open'),
  ('checking', '处置完成·待核查', false, 'check', 'open'),
  ('closed', '结案', true, NULL, 'closed'),
  ('cancelled', '作废', true, NULL, 'closed'),
  ('merged', '已合并', true, NULL, 'closed');

INSERT INTO cases.transitions (action, from_state, to_state, required_right, needs_reason, name_zh)
SELECT action, f, to_state, required_right, needs_reason, name_zh FROM (VALUES
  ('request_verify', '{reported}'::text[], 'verifying', 'case:accept', false, '派发核实'),
  ('verify', '{verifying}', 'reported', 'case:verify', false, '核实反馈'),
  ('accept', '{reported,verifying}', 'accepted', 'case:accept', false, '立案'),
  ('reject', '{reported,verifying}', 'rejected', 'case:accept', true, '不予立案'),
  ('dispatch', '{accepted}', 'dispatched', 'case:dispatch', false, '派遣'),
  ('take', '{dispatched}', 'handling', 'case:handle', false, '接收处置'),
  ('return', '{dispatched,handling}', 'accepted', 'case:handle', true, '回退'),
  ('finish', '{handling}', 'checking', 'case:handle', false, '处置完成'),
  ('check_pass', '{checking}', 'closed', 'case:verify', false, '核查通过·结案'),
  ('check_fail', '{checking}', 'handling', 'case:verify', true, '核查不通过·返工'),
  ('request_extension', '{dispatched,handling}', NULL, 'case:handle', true, '延期申请'),
  ('approve_extension', '{dispatched,handling}', NULL, 'case:supervise', false, '延期批准'),
  ('park', '{reported,verifying,accepted,dispatched,handling,checking}', NULL, 'case:supervise', true, '挂账'),
  ('unpark', '{reported,verifying,accepted,dispatched,handling,checking}', NULL, 'case:supervise', false, '解除挂账'),
  ('supervise', '{reported,verifying,accepted,dispatched,handling,checking}', NULL, 'case:supervise', true, '督办'),
  ('cancel', '{reported,verifying,accepted,dispatched,handling,checking}', 'cancelled', 'case:supervise', true, '作废'),
  ('merge', '{reported,verifying,accepted}', 'merged', 'case:dispatch', false, '合并重复案件')
) AS t (action, froms, to_state, required_right, needs_reason, name_zh), unnest(froms) AS f;
