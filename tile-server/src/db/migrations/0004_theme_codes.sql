-- Code tables of the themes, as data. Each block names its edition and source (see
-- ../shared/reference/domain-standards.md for the confidence of each). A new edition is a new migration that
-- adds rows with its own `edition`, never an edit of this one.

-- ---------------------------------------------------------------------------------------------------------------
-- 管理部件 classes, pinned edition: the CJ/T 214 / GB/T 30428.2 4-digit numbering as in the Shenzhen "BJ" table
-- ("list A", verbatim, gaps included). GB/T 47678.5-2026 (5-digit classes) replaced it on 2026-07-01, but its
-- full class table was not found; it will come as another edition. List B (Yuncheng) numbers differently and is
-- deliberately not mixed in.
-- ---------------------------------------------------------------------------------------------------------------
INSERT INTO urban.component_classes (code, major, major_name, name, edition)
SELECT code, left(code, 2), m.major_name, name, 'CJ/T 214 (list A)'
FROM (VALUES
  ('0101', '上水井盖'), ('0102', '污水井盖'), ('0103', '雨水井盖'), ('0104', '雨水箅子'), ('0105', '电力井盖'),
  ('0106', '路灯井盖'), ('0107', '通讯井盖'), ('0108', '电视井盖'), ('0109', '网络井盖'), ('0111', '燃气井盖'),
  ('0112', '公安井盖'), ('0113', '消防设施'), ('0114', '无主井盖'), ('0115', '通讯交接箱'), ('0116', '电力设施'),
  ('0117', '立杆'), ('0118', '路灯'), ('0119', '地灯'), ('0120', '景观灯'), ('0121', '报刊亭'), ('0122', '电话亭'),
  ('0123', '邮筒'), ('0124', '信息亭'), ('0125', '自动售货机'), ('0126', '健身设施'), ('0127', '中水井盖'),
  ('0128', '公交井盖'), ('0129', '输油(气)井盖'), ('0130', '特殊井盖'), ('0131', '民用水井'), ('0132', '供水器'),
  ('0133', '高压线铁塔'), ('0134', '变压器(箱)'), ('0135', '燃气调压站(箱)'), ('0136', '监控电子眼'),
  ('0137', '售货亭'), ('0138', '治安岗亭'),
  ('0201', '停车场'), ('0203', '公交站亭'), ('0204', '出租车站牌'), ('0205', '过街天桥'), ('0206', '地下通道'),
  ('0207', '高架立交桥'), ('0208', '跨河桥'), ('0209', '交通标志牌'), ('0210', '交通信号灯'), ('0211', '交通护栏'),
  ('0212', '存车支架'), ('0213', '路名牌'), ('0214', '交通信号设施'), ('0215', '道路信息显示屏'),
  ('0216', '道路隔音屏'), ('0217', '交通岗亭'),
  ('0301', '公共厕所'), ('0302', '化粪池'), ('0303', '公厕指示牌'), ('0304', '垃圾间(楼)'), ('0305', '垃圾箱'),
  ('0306', '灯箱霓虹灯'), ('0307', '广告牌匾'), ('0308', '环保监测站'), ('0309', '气象监测站'), ('0310', '污水口监测站'),
  ('0401', '古树名木'), ('0402', '行道树'), ('0403', '护树设施'), ('0404', '花架花钵'), ('0405', '绿地'),
  ('0406', '雕塑'), ('0407', '街头坐椅'), ('0408', '绿地护栏'), ('0409', '绿地维护设施'), ('0410', '喷泉'),
  ('0501', '宣传栏'), ('0502', '人防工事'),
  ('0601', '重大危险源'), ('0602', '工地'), ('0603', '水域附属设施'), ('0604', '水域护栏'), ('0606', '防洪墙')
) AS c (code, name)
JOIN (VALUES ('01', '公用设施'), ('02', '道路交通'), ('03', '市容环境'), ('04', '园林绿化'), ('05', '房屋土地'), ('06', '其他设施'))
  AS m (major, major_name) ON m.major = left(c.code, 2);

-- 事件 classes: the major classes of the CJ/T 214 family; subclass names as listed in the reference, numbered
-- locally in that order (the numbering differs between cities and editions, so it is this platform's own).
INSERT INTO urban.event_classes (code, major, major_name, name, edition)
SELECT code, left(code, 2), m.major_name, name, 'CityBase local numbering (CJ/T 214 names)'
FROM (VALUES
  ('0101', '私搭乱建'), ('0102', '暴露垃圾'), ('0103', '积存垃圾渣土'), ('0104', '道路不洁'), ('0105', '水域不洁'),
  ('0106', '绿地脏乱'), ('0107', '废弃车辆'), ('0108', '废弃家具设施'), ('0109', '非装饰性树挂'), ('0110', '道路破损'),
  ('0111', '河堤破损'), ('0112', '道路遗撒'), ('0113', '建筑物外立面不洁'), ('0114', '水域秩序问题'),
  ('0115', '焚烧树叶/垃圾'), ('0116', '油烟污染'), ('0117', '动物尸体清理'), ('0118', '私自饲养家禽家畜'), ('0199', '其他'),
  ('0201', '非法小广告'), ('0202', '违章张贴悬挂广告牌匾'), ('0203', '占道广告牌'), ('0204', '街头散发广告'),
  ('0205', '广告招牌破损'),
  ('0501', '无照经营游商'), ('0502', '机动车乱停放'), ('0503', '店外经营'), ('0504', '占道经营'), ('0505', '乱堆物堆料')
) AS c (code, name)
JOIN (VALUES ('01', '市容环境'), ('02', '宣传广告'), ('03', '施工管理'), ('04', '突发事件'), ('05', '街面秩序'), ('06', '其他事件'))
  AS m (major, major_name) ON m.major = left(c.code, 2);

INSERT INTO urban.event_statuses (code, name_zh, stage, closed) VALUES
  ('reported', '上报', 1, false),
  ('accepted', '立案', 2, false),
  ('dispatched', '派遣', 3, false),
  ('handling', '处置', 4, false),
  ('feedback', '反馈', 5, false),
  ('closed', '结案', 6, true),
  ('cancelled', '作废', 0, true);

-- ---------------------------------------------------------------------------------------------------------------
-- 国土空间调查、规划、用途管制用地用海分类 (2023): 24 first-level classes; second and third levels where the
-- reference gives them; colours from 《市级国土空间总体规划制图规范》附录B (given for some second-level classes
-- only: the others show their nearest coded ancestor's colour, see planning.land_use_map).
-- ---------------------------------------------------------------------------------------------------------------
INSERT INTO planning.land_use_classes (code, level, parent, name, color)
SELECT code, length(code) / 2, CASE WHEN length(code) > 2 THEN left(code, length(code) - 2) END, name, color
FROM (VALUES
  ('01', '耕地', '#F5F8DC'), ('02', '园地', '#BFE9AA'), ('03', '林地', '#68B167'), ('04', '草地', '#CDF57A'),
  ('05', '湿地', '#65CDAA'), ('06', '农业设施建设用地', '#D8D79F'),
  ('07', '居住用地', NULL),
    ('0701', '城镇住宅用地', '#FFFF2D'),
      ('070101', '一类城镇住宅用地', NULL), ('070102', '二类城镇住宅用地', NULL), ('070103', '三类城镇住宅用地', NULL),
    ('0702', '城镇社区服务设施用地', NULL), ('0703', '农村宅基地', '#FFD380'), ('0704', '农村社区服务设施用地', NULL),
  ('08', '公共管理与公共服务用地', NULL),
    ('0801', '机关团体用地', '#FF00FF'), ('0802', '科研用地', '#E6005C'), ('0803', '文化用地', '#FF7F00'),
      ('080301', '图书与展览用地', NULL), ('080302', '文化活动用地', NULL),
    ('0804', '教育用地', '#FF85C9'), ('0805', '体育用地', '#00A57C'), ('0806', '医疗卫生用地', '#FF7F7E'),
    ('0807', '社会福利用地', '#FF9F7F'),
  ('09', '商业服务业用地', '#FF0000'),
    ('0901', '商业用地', NULL),
      ('090101', '零售商业用地', NULL), ('090102', '批发市场用地', NULL), ('090103', '餐饮用地', NULL),
      ('090104', '旅馆用地', NULL), ('090105', '公用设施营业网点用地', NULL),
    ('0902', '商务金融用地', NULL), ('0903', '娱乐用地', NULL), ('0904', '其他商业服务业用地', NULL),
  ('10', '工矿用地', NULL),
    ('1001', '工业用地', '#BB9674'),
      ('100101', '一类工业用地', NULL), ('100102', '二类工业用地', NULL), ('100103', '三类工业用地', NULL),
    ('1002', '采矿用地', '#9E6C54'), ('1003', '盐田', '#0000FF'),
  ('11', '仓储用地', '#8761D3'),
    ('1101', '物流仓储用地', NULL),
      ('110101', '一类物流仓储用地', NULL), ('110102', '二类物流仓储用地', NULL), ('110103', '三类物流仓储用地', NULL),
    ('1102', '储备库用地', '#9999FF'),
  ('12', '交通运输用地', '#B7B7B7'),
    ('1201', '铁路用地', NULL), ('1202', '公路用地', '#ADADAD'), ('1203', '机场用地', NULL), ('1204', '港口码头用地', NULL),
    ('1205', '管道运输用地', '#999999'), ('1206', '城市轨道交通用地', NULL), ('1207', '城镇村道路用地', '#A3A3A3'),
    ('1208', '交通场站用地', NULL),
      ('120801', '对外交通场站用地', NULL), ('120802', '公共交通场站用地', NULL), ('120803', '社会停车场用地', NULL),
    ('1209', '其他交通设施用地', NULL),
  ('13', '公用设施用地', '#006380'),
    ('1301', '供水用地', NULL), ('1302', '排水用地', NULL), ('1303', '供电用地', NULL), ('1304', '供燃气用地', NULL),
    ('1305', '供热用地', NULL), ('1306', '通信用地', NULL), ('1307', '邮政用地', NULL), ('1308', '广播电视设施用地', NULL),
    ('1309', '环卫用地', NULL), ('1310', '消防用地', NULL), ('1311', '水工设施用地', NULL), ('1312', '其他公用设施用地', NULL),
  ('14', '绿地与开敞空间用地', NULL),
    ('1401', '公园绿地', '#00FF00'), ('1402', '防护绿地', '#148D4A'), ('1403', '广场用地', '#ACFFCF'),
  ('15', '特殊用地', '#859156'),
    ('1501', '军事设施用地', NULL), ('1502', '使领馆用地', NULL), ('1503', '宗教用地', NULL), ('1504', '文物古迹用地', NULL),
    ('1505', '监教场所用地', NULL), ('1506', '殡葬用地', NULL), ('1507', '其他特殊用地', NULL),
  ('16', '留白用地', '#FFFFFF'),
  ('17', '陆地水域', '#338EC0'),
    ('1701', '河流水面', NULL), ('1702', '湖泊水面', NULL), ('1703', '水库水面', NULL), ('1704', '坑塘水面', NULL),
    ('1705', '沟渠', NULL), ('1706', '冰川及常年积雪', NULL),
  ('18', '渔业用海', '#94D5EB'), ('19', '工矿通信用海', '#56A6D3'), ('20', '交通运输用海', '#6C8BD1'),
  ('21', '游憩用海', '#1AAAE6'), ('22', '特殊用海', '#83BCD6'),
  ('23', '其他土地', '#EEEEEE'),
    ('2301', '空闲地', NULL), ('2302', '田坎', NULL), ('2303', '田间道', NULL), ('2304', '盐碱地', NULL),
    ('2305', '沙地', NULL), ('2306', '裸土地', NULL), ('2307', '裸岩石砾地', NULL),
  ('24', '其他海域', '#D6EAF3')
) AS c (code, name, color)
ORDER BY length(code), code;

-- Built-up area for the 人防 siren coverage: land with buildings people are in (居住, 公共服务, 商业, 工矿, 仓储,
-- 公用设施, 特殊). A planning choice, so data: change it with an UPDATE.
UPDATE planning.land_use_classes SET built_up = true WHERE left(code, 2) IN ('07', '08', '09', '10', '11', '13', '15');

-- ---------------------------------------------------------------------------------------------------------------
-- 人防 planning parameters whose norms could not be verified (domain-standards §3): data, not code.
-- ---------------------------------------------------------------------------------------------------------------
INSERT INTO civil_defence.parameters (key, value, unit, note) VALUES
  ('shelter_service_distance_m', 500, 'm',
   'Residential land farther than this from every shelter in use counts as uncovered. Default of the platform; GB 50808-2013 is commonly quoted as 200 m (unverified).'),
  ('shelter_area_per_person_m2', 1.0, 'm²/人',
   'Usable shelter area per person: the usual benchmark (GB 50038, unverified).');

-- ---------------------------------------------------------------------------------------------------------------
-- GB 3838-2002 表1 基本项目 (mg/L; pH dimensionless). DO is a lower bound; TP differs for rivers and for lakes and
-- reservoirs (湖、库); TN is evaluated for lakes and reservoirs only.
-- ---------------------------------------------------------------------------------------------------------------
INSERT INTO environment.gb3838_limits (factor, water_type, class, lower, upper, unit, name_zh)
SELECT f.factor, f.water_type, c.class, f.lower_by_class[c.class], f.upper_by_class[c.class], f.unit, f.name_zh
FROM (VALUES
  ('ph',    'all',   ARRAY[6, 6, 6, 6, 6]::numeric[],         ARRAY[9, 9, 9, 9, 9]::numeric[],                '无量纲', 'pH'),
  ('do',    'all',   ARRAY[7.5, 6, 5, 3, 2]::numeric[],       NULL::numeric[],                                'mg/L', '溶解氧'),
  ('codmn', 'all',   NULL,                                    ARRAY[2, 4, 6, 10, 15]::numeric[],              'mg/L', '高锰酸盐指数'),
  ('cod',   'all',   NULL,                                    ARRAY[15, 15, 20, 30, 40]::numeric[],           'mg/L', '化学需氧量'),
  ('bod5',  'all',   NULL,                                    ARRAY[3, 3, 4, 6, 10]::numeric[],               'mg/L', '五日生化需氧量'),
  ('nh3n',  'all',   NULL,                                    ARRAY[0.15, 0.5, 1.0, 1.5, 2.0]::numeric[],     'mg/L', '氨氮'),
  ('tp',    'river', NULL,                                    ARRAY[0.02, 0.1, 0.2, 0.3, 0.4]::numeric[],     'mg/L', '总磷'),
  ('tp',    'lake',  NULL,                                    ARRAY[0.01, 0.025, 0.05, 0.1, 0.2]::numeric[],  'mg/L', '总磷'),
  ('tn',    'lake',  NULL,                                    ARRAY[0.2, 0.5, 1.0, 1.5, 2.0]::numeric[],      'mg/L', '总氮')
) AS f (factor, water_type, lower_by_class, upper_by_class, unit, name_zh)
CROSS JOIN generate_series(1, 5) AS c (class);

-- Names and colours per the 地表水环境质量评价办法 convention (unverified: data).
INSERT INTO environment.gb3838_classes (class, label, quality, color) VALUES
  (1, 'I', '优', '#33CCFF'),
  (2, 'II', '优', '#0066FF'),
  (3, 'III', '良好', '#00CC00'),
  (4, 'IV', '轻度污染', '#FFFF00'),
  (5, 'V', '中度污染', '#FF9900'),
  (6, '劣V', '重度污染', '#FF0000');

-- ---------------------------------------------------------------------------------------------------------------
-- GB 3096-2008 声环境功能区 limits, LAeq dB(A) (4b night 60: single source). Colours are the platform's own.
-- ---------------------------------------------------------------------------------------------------------------
INSERT INTO environment.gb3096_limits (zone_class, day_db, night_db, description, color) VALUES
  ('0', 50, 40, '康复疗养区等特别需要安静的区域', '#2E7D32'),
  ('1', 55, 45, '居民住宅、医疗卫生、文化教育、科研设计、行政办公为主', '#8BC34A'),
  ('2', 60, 50, '商业金融、集市贸易为主，或居住、商业、工业混杂', '#FFEB3B'),
  ('3', 65, 55, '工业生产、仓储物流为主', '#FF9800'),
  ('4a', 70, 55, '高速公路、一级二级公路、城市快速路主干路次干路、城市轨道交通地面段、内河航道两侧', '#F44336'),
  ('4b', 70, 60, '铁路干线两侧', '#9C27B0');

INSERT INTO environment.gb3096_rules (key, value, note) VALUES
  ('night_burst_excess_db', 15, '夜间突发噪声的最大声级超过环境噪声限值的幅度不得高于 15 dB(A)'),
  ('day_starts_hour', 6, '昼间 06:00–22:00'),
  ('night_starts_hour', 22, '夜间 22:00–06:00');
