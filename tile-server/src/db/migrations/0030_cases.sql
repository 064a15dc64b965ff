-- 数字城管 cases (issue 11): categories, routing, SLA rules, working time and the holiday calendar, the workflow
-- as data, cases with their timeline, steps and photos. The rows of the code tables are data (0031); this file
-- holds structure and the SQL that computes deadlines, so every endpoint and the tile layers read one truth.

CREATE SCHEMA IF NOT EXISTS cases;

-- ---------------------------------------------------------------------------------------------------------------
-- Categories (CJ/T 214 部件 / 事件 大类 → 小类), routing and time limits
-- ---------------------------------------------------------------------------------------------------------------

-- One row per 小类. `code` is kind-prefixed (BJ 部件 / SJ 事件) because both tables number from 0101; it is the
-- Open311 service_code. Duplicate detection radius and window are per category (FixMyStreet's setting).
CREATE TABLE cases.categories (
  code                  text PRIMARY KEY CHECK (code ~ '^(BJ|SJ)\d{4,5}$'),
  kind                  text NOT NULL CHECK (kind IN ('部件', '事件')),
  major                 text NOT NULL,
  major_name            text NOT NULL,
  class_code            text NOT NULL,
  name                  text NOT NULL,
  edition               text NOT NULL,
  duplicate_radius_m    numeric NOT NULL DEFAULT 50 CHECK (duplicate_radius_m > 0),
  duplicate_window_h    numeric NOT NULL DEFAULT 24 CHECK (duplicate_window_h > 0),
  published             boolean NOT NULL DEFAULT true -- offered to the public (Open311 services)
);

-- category (or its 大类, or its kind) + 责任网格 → department. The most specific matching row wins; with no row
-- the 责任网格's own department (urban.responsibility_areas) is responsible.
CREATE TABLE cases.routing (
  id                  serial PRIMARY KEY,
  kind                text CHECK (kind IN ('部件', '事件')),
  major               text, -- a category code prefix: 'BJ02' = 部件 大类 02
  category_code       text REFERENCES cases.categories (code),
  responsibility_area text,
  department_id       text NOT NULL REFERENCES citybase.departments (id),
  note                text NOT NULL DEFAULT ''
);

-- Working periods of a working day (local wall clock) and the zone they are read in.
CREATE TABLE cases.work_periods (
  starts time NOT NULL,
  ends   time NOT NULL CHECK (ends > starts),
  PRIMARY KEY (starts)
);
CREATE TABLE cases.settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);

-- Days that differ from the week's rule (Monday–Friday work): holidays (workday false) and 调休 make-up working
-- days on a weekend (workday true). Adding a year is adding its rows.
CREATE TABLE cases.calendar (
  day     date PRIMARY KEY,
  workday boolean NOT NULL,
  name    text NOT NULL
);

-- The workflow's steps that carry a time limit.
CREATE TABLE cases.steps (
  code    text PRIMARY KEY,
  name_zh text NOT NULL
);

-- CJ/T 315 time limits: per (小类, step, area type, urgency), NULL = any. The most specific rule wins.
CREATE TABLE cases.sla_rules (
  id            serial PRIMARY KEY,
  category_code text REFERENCES cases.categories (code),
  major         text, -- a category code prefix: 'SJ01' = 事件 大类 01
  step          text NOT NULL REFERENCES cases.steps (code),
  area_type     text,
  urgency       text CHECK (urgency IN ('一般', '紧急')),
  amount        numeric NOT NULL CHECK (amount > 0),
  unit          text NOT NULL CHECK (unit IN ('紧急工作时', '工作时', '工作日', '自然日'))
);

-- ---------------------------------------------------------------------------------------------------------------
-- The workflow as data: states, and the transitions allowed between them with the right each needs
-- ---------------------------------------------------------------------------------------------------------------

CREATE TABLE cases.states (
  code    text PRIMARY KEY,
  name_zh text NOT NULL,
  closed  boolean NOT NULL,
  step    text REFERENCES cases.steps (code), -- the time-limited step running while a case is in this state
  open311 text NOT NULL CHECK (open311 IN ('open', 'closed'))
);

-- `to_state` NULL: the action keeps the state (督办, 挂账, 延期 …). `needs_reason`: refused without one.
CREATE TABLE cases.transitions (
  action       text NOT NULL,
  from_state   text NOT NULL REFERENCES cases.states (code),
  to_state     text REFERENCES cases.states (code),
  required_right text NOT NULL CHECK (required_right LIKE 'case:%'),
  needs_reason boolean NOT NULL DEFAULT false,
  name_zh      text NOT NULL,
  PRIMARY KEY (action, from_state)
);

-- ---------------------------------------------------------------------------------------------------------------
-- Cases, their timeline, SLA steps and photos
-- ---------------------------------------------------------------------------------------------------------------

CREATE TABLE cases.code_counters (
  day  date PRIMARY KEY,
  last integer NOT NULL
);

CREATE TABLE cases.cases (
  id                  bigserial PRIMARY KEY,
  code                text NOT NULL UNIQUE CHECK (code ~ '^320800\d{8}\d{4,}$'),
  client_id           text UNIQUE, -- a client-generated id: the same report sent twice is one case
  category_code       text NOT NULL REFERENCES cases.categories (code),
  state               text NOT NULL REFERENCES cases.states (code),
  source              text NOT NULL CHECK (source IN ('监督员上报', '12345热线', '公众/Open311', '视频', '领导交办')),
  urgency             text NOT NULL DEFAULT '一般' CHECK (urgency IN ('一般', '紧急')),
  area_type           text NOT NULL DEFAULT '一般区域',
  description         text NOT NULL DEFAULT '',
  address             text NOT NULL DEFAULT '',
  geom                geometry(Point, 4326) NOT NULL,
  -- found from the point by urban.locate (codes as text: the sample tables may be rebuilt underneath)
  grid_code           text,
  community_code      text,
  street_code         text,
  district_code       text,
  responsibility_area text,
  routed_department   text REFERENCES citybase.departments (id),
  department_id       text REFERENCES citybase.departments (id), -- the one it is dispatched to
  reporter            text NOT NULL,            -- 'user:<id>' or 'key:<id>'
  reporter_department text,
  assignee            text,                     -- the inspector of an open 核实 / 核查 task
  credited_reporters  text[] NOT NULL DEFAULT '{}', -- reporters of duplicates merged into this case
  merged_into         bigint REFERENCES cases.cases (id),
  parked              boolean NOT NULL DEFAULT false, -- 挂账
  supervised          boolean NOT NULL DEFAULT false, -- 督办
  rework_count        integer NOT NULL DEFAULT 0,     -- 返工
  returned_count      integer NOT NULL DEFAULT 0,     -- 回退
  extension_request   jsonb,                          -- a pending 延期 request {amount, reason, by}
  contact             jsonb,                          -- Open311 / hotline caller (never published)
  version             integer NOT NULL DEFAULT 1,
  reported_at         timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  closed_at           timestamptz
);
CREATE INDEX ON cases.cases USING gist (geom);
CREATE INDEX ON cases.cases (state);
CREATE INDEX ON cases.cases (category_code, reported_at);
CREATE INDEX ON cases.cases (district_code);

-- Every transition, in order: who (and with what roles), when, from, to, note, reason, details.
CREATE TABLE cases.timeline (
  id         bigserial PRIMARY KEY,
  case_id    bigint NOT NULL REFERENCES cases.cases (id),
  at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor      text NOT NULL,
  actor_role text NOT NULL DEFAULT '',
  action     text NOT NULL,
  from_state text,
  to_state   text,
  note       text NOT NULL DEFAULT '',
  reason     text NOT NULL DEFAULT '',
  outcome    text NOT NULL DEFAULT 'ok',
  details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ON cases.timeline (case_id, id);

-- One row per time-limited step a case went through; the open one has ended_at NULL.
CREATE TABLE cases.case_steps (
  id         bigserial PRIMARY KEY,
  case_id    bigint NOT NULL REFERENCES cases.cases (id),
  step       text NOT NULL REFERENCES cases.steps (code),
  started_at timestamptz NOT NULL,
  amount     numeric NOT NULL,
  unit       text NOT NULL,
  due_at     timestamptz NOT NULL,
  warn_at    timestamptz NOT NULL,
  extended   numeric NOT NULL DEFAULT 0,
  ended_at   timestamptz
);
CREATE UNIQUE INDEX case_steps_one_open ON cases.case_steps (case_id) WHERE ended_at IS NULL;
CREATE INDEX ON cases.case_steps (step, started_at);

-- Photos by content hash (SHA-256 of the original bytes): the same photo sent twice is stored once. The
-- original is kept as evidence; display and thumb are re-encoded without metadata.
CREATE TABLE cases.photos (
  hash          text PRIMARY KEY CHECK (hash ~ '^[0-9a-f]{64}$'),
  original      bytea NOT NULL,
  original_type text NOT NULL,
  display       bytea NOT NULL,
  thumb         bytea NOT NULL,
  width         integer NOT NULL,
  height        integer NOT NULL,
  lon           double precision,
  lat           double precision,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE cases.case_photos (
  case_id     bigint NOT NULL REFERENCES cases.cases (id),
  hash        text NOT NULL REFERENCES cases.photos (hash),
  phase       text NOT NULL CHECK (phase IN ('上报', '处置', '核实', '核查')),
  timeline_id bigint REFERENCES cases.timeline (id),
  PRIMARY KEY (case_id, hash, phase)
);

-- The workflow is enforced here too: a state change that is not a transition of the table is refused, whoever
-- writes it (the API, SQL, a department's script).
CREATE FUNCTION cases.check_transition() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF NEW.state IS DISTINCT FROM OLD.state AND NOT EXISTS (
    SELECT 1 FROM cases.transitions WHERE from_state = OLD.state AND to_state = NEW.state
  ) THEN
    RAISE EXCEPTION 'case %: no transition from % to %', OLD.code, OLD.state, NEW.state USING ERRCODE = 'check_violation';
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END
$fn$;
CREATE TRIGGER cases_check_transition BEFORE UPDATE ON cases.cases FOR EACH ROW EXECUTE FUNCTION cases.check_transition();

-- ---------------------------------------------------------------------------------------------------------------
-- Working-time arithmetic: deadlines are computed here, never by a timer
-- ---------------------------------------------------------------------------------------------------------------

CREATE FUNCTION cases.time_zone() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT value FROM cases.settings WHERE key = 'time_zone'), 'Asia/Shanghai')
$$;

-- A working day: the calendar's word for the day, else Monday to Friday.
CREATE FUNCTION cases.is_workday(d date) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT workday FROM cases.calendar WHERE day = d), extract(isodow FROM d) < 6)
$$;

-- The instant `amount` of `unit` after `start`:
--   紧急工作时: continuous hours (nights and holidays count);
--   工作时: hours inside the working periods of working days;
--   工作日: that many full working days of working time (a day's working hours each);
--   自然日: calendar days.
CREATE FUNCTION cases.add_work_time(start timestamptz, amount numeric, unit text) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  tz        text := cases.time_zone();
  local_now timestamp := start AT TIME ZONE tz;
  remaining interval;
  day       date := local_now::date;
  p         record;
  from_t    timestamp;
  to_t      timestamp;
  day_hours interval;
BEGIN
  IF amount < 0 THEN RAISE EXCEPTION 'negative time limit %', amount; END IF;
  CASE unit
    WHEN '紧急工作时' THEN RETURN start + amount * interval '1 hour';
    WHEN '自然日' THEN RETURN ((local_now + amount * interval '1 day') AT TIME ZONE tz);
    WHEN '工作时' THEN remaining := amount * interval '1 hour';
    WHEN '工作日' THEN
      SELECT sum(ends - starts) INTO day_hours FROM cases.work_periods;
      remaining := amount * day_hours;
    ELSE RAISE EXCEPTION 'unknown time unit %', unit;
  END CASE;
  IF remaining = interval '0' THEN RETURN start; END IF;
  FOR i IN 0..1500 LOOP -- four years of days: a limit longer than that is a data error
    IF cases.is_workday(day) THEN
      FOR p IN SELECT starts, ends FROM cases.work_periods ORDER BY starts LOOP
        from_t := greatest(day + p.starts, local_now);
        to_t := day + p.ends;
        CONTINUE WHEN from_t >= to_t;
        IF to_t - from_t >= remaining THEN
          RETURN (from_t + remaining) AT TIME ZONE tz;
        END IF;
        remaining := remaining - (to_t - from_t);
      END LOOP;
    END IF;
    day := day + 1;
  END LOOP;
  RAISE EXCEPTION 'time limit % % does not end within four years', amount, unit;
END
$fn$;

-- The rule for a step of a case: most specific first (小类, then 大类, area type, urgency).
CREATE FUNCTION cases.sla_rule(p_category text, p_step text, p_area_type text, p_urgency text)
RETURNS TABLE (amount numeric, unit text) LANGUAGE sql STABLE AS $$
  SELECT r.amount, r.unit FROM cases.sla_rules r
  WHERE r.step = p_step
    AND (r.category_code IS NULL OR r.category_code = p_category)
    AND (r.major IS NULL OR p_category LIKE r.major || '%')
    AND (r.area_type IS NULL OR r.area_type = p_area_type)
    AND (r.urgency IS NULL OR r.urgency = p_urgency)
  ORDER BY (r.category_code IS NOT NULL) DESC, (r.major IS NOT NULL) DESC, (r.urgency IS NOT NULL) DESC,
           (r.area_type IS NOT NULL) DESC, r.id
  LIMIT 1
$$;

-- Close a case's open step and open `p_step` at `at` (NULL: none). Called by the transition, inside its
-- transaction; a state whose step is the one already running keeps it (its clock goes on).
CREATE FUNCTION cases.enter_step(p_case bigint, p_step text, at timestamptz) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  c cases.cases;
  r record;
  running text;
BEGIN
  SELECT step INTO running FROM cases.case_steps WHERE case_id = p_case AND ended_at IS NULL;
  IF running IS NOT DISTINCT FROM p_step THEN RETURN; END IF;
  UPDATE cases.case_steps SET ended_at = at WHERE case_id = p_case AND ended_at IS NULL;
  IF p_step IS NULL THEN RETURN; END IF;
  SELECT * INTO c FROM cases.cases WHERE id = p_case;
  SELECT * INTO r FROM cases.sla_rule(c.category_code, p_step, c.area_type, c.urgency);
  IF r.amount IS NULL THEN RETURN; END IF; -- no rule: the step has no time limit
  INSERT INTO cases.case_steps (case_id, step, started_at, amount, unit, due_at, warn_at)
  VALUES (p_case, p_step, at, r.amount, r.unit, cases.add_work_time(at, r.amount, r.unit), cases.add_work_time(at, r.amount * 0.8, r.unit));
END
$fn$;

-- 延期 approved: the running step's limit grows by `extra` of its own unit; deadline and warning move.
CREATE FUNCTION cases.extend_step(p_case bigint, extra numeric) RETURNS timestamptz LANGUAGE sql AS $$
  UPDATE cases.case_steps
  SET extended = extended + extra,
      due_at = cases.add_work_time(started_at, amount + extended + extra, unit),
      warn_at = cases.add_work_time(started_at, (amount + extended + extra) * 0.8, unit)
  WHERE case_id = p_case AND ended_at IS NULL
  RETURNING due_at
$$;

-- Every open step at an instant, with its deadline, the time remaining, 临期 (80% of the limit used) and 超期.
CREATE FUNCTION cases.step_clock(at timestamptz)
RETURNS TABLE (case_id bigint, step text, started_at timestamptz, due_at timestamptz, warn_at timestamptz,
               remaining_s double precision, warning boolean, overdue boolean)
LANGUAGE sql STABLE AS $$
  SELECT s.case_id, s.step, s.started_at, s.due_at, s.warn_at, extract(epoch FROM s.due_at - at),
         at >= s.warn_at AND at < s.due_at, at >= s.due_at
  FROM cases.case_steps s WHERE s.ended_at IS NULL
$$;

CREATE VIEW cases.open_steps AS SELECT * FROM cases.step_clock(now());

-- ---------------------------------------------------------------------------------------------------------------
-- Layers: open cases with their clock (internal), closed cases, and the public view (政务公开)
-- ---------------------------------------------------------------------------------------------------------------

CREATE VIEW cases.cases_map AS
SELECT c.id, c.code, c.category_code, k.name AS category_name, k.kind, k.major_name, c.state, s.name_zh AS state_name,
       s.closed, c.source, c.urgency, c.district_code, c.street_code, c.department_id, c.parked, c.supervised,
       c.rework_count, o.step, o.due_at, coalesce(o.overdue, false) AS overdue, coalesce(o.warning, false) AS warning,
       c.reported_at, c.closed_at, c.geom
FROM cases.cases c
JOIN cases.categories k ON k.code = c.category_code
JOIN cases.states s ON s.code = c.state
LEFT JOIN cases.open_steps o ON o.case_id = c.id;

-- What the public sees: category, state and the place rounded to its 单元网格 (the cell's centre), nothing else.
CREATE VIEW cases.public_cases AS
SELECT c.id, k.name AS category_name, k.kind, s.name_zh AS state_name, s.open311 AS status,
       to_char(c.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS reported_on,
       coalesce((SELECT ST_PointOnSurface(g.geom) FROM urban.grid_cells g WHERE g.code = c.grid_code),
                ST_SnapToGrid(c.geom, 0.002)) AS geom
FROM cases.cases c
JOIN cases.categories k ON k.code = c.category_code
JOIN cases.states s ON s.code = c.state
WHERE c.state NOT IN ('merged', 'cancelled');
