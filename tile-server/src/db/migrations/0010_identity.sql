-- People, sessions, scopes and the audit trail (等保 2.0 level 3: 身份鉴别, 访问控制, 安全审计).

-- Scopes are 行政区划 codes of the platform's own boundaries: the city, a 区县 (6 digits), a 乡镇/街道 (9).
CREATE VIEW citybase.admin_areas AS
  SELECT adcode AS code, 'city' AS level, name, geom FROM basemap.prefecture
  UNION ALL SELECT adcode, 'district', name, geom FROM basemap.districts
  UNION ALL SELECT code, 'township', name, geom FROM basemap.streets;

-- The boundary of a set of scopes in a given SRID (NULL when the set is NULL: not limited). STABLE, so an
-- uncorrelated call in a WHERE clause is evaluated once per statement and its prepared geometry reused.
CREATE FUNCTION citybase.scope_area(codes text[], srid integer) RETURNS geometry
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  SELECT ST_Transform(ST_Union(geom), srid) FROM citybase.admin_areas WHERE code = ANY (codes)
$fn$;

CREATE TABLE citybase.users (
  id                   serial PRIMARY KEY,
  login                text NOT NULL CHECK (login ~ '^[a-z][a-z0-9_.-]{1,63}$'),
  display_name         text NOT NULL DEFAULT '',
  department_id        text NOT NULL REFERENCES citybase.departments (id),
  phone                text CHECK (phone ~ '^\+?[0-9 -]{5,20}$'),
  roles                text[] NOT NULL DEFAULT '{}',
  -- 行政区划 codes; '{320800}' is the whole city.
  scopes               text[] NOT NULL DEFAULT '{320800}' CHECK (cardinality(scopes) > 0),
  state                text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'locked', 'disabled')),
  locked_until         timestamptz,
  password_hash        text NOT NULL,
  -- The previous hashes, newest first (the policy refuses the last 5 passwords).
  password_history     text[] NOT NULL DEFAULT '{}',
  must_change_password boolean NOT NULL DEFAULT true,
  password_changed_at  timestamptz NOT NULL DEFAULT now(),
  totp_secret          text,
  totp_enabled         boolean NOT NULL DEFAULT false,
  last_login_at        timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX ON citybase.users (login);

-- Sessions: the cookie holds a random id; only its SHA-256 is kept, so a stolen table opens no session.
CREATE TABLE citybase.sessions (
  id_hash      text PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
  user_id      integer NOT NULL REFERENCES citybase.users (id) ON DELETE CASCADE,
  csrf_token   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  ended_reason text,
  source_addr  text,
  user_agent   text
);
CREATE INDEX ON citybase.sessions (user_id) WHERE revoked_at IS NULL;

-- Failed sign-ins, by login and by source address: 5 for one login in 15 minutes lock it for 15 minutes.
CREATE TABLE citybase.sign_in_failures (
  id          bigserial PRIMARY KEY,
  login       text NOT NULL,
  source_addr text NOT NULL,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON citybase.sign_in_failures (login, at);
CREATE INDEX ON citybase.sign_in_failures (source_addr, at);

ALTER TABLE citybase.api_keys
  ADD COLUMN expires_at timestamptz,
  ADD COLUMN scopes text[] NOT NULL DEFAULT '{320800}';
UPDATE citybase.api_keys SET rights = (
  SELECT coalesce(array_agg(CASE r WHEN 'read' THEN 'layer:read' WHEN 'import' THEN 'layer:import' ELSE r END), '{}')
  FROM unnest(rights) AS r);
ALTER TABLE citybase.api_keys ALTER COLUMN rights SET DEFAULT '{layer:read}';

-- Who may act changes take effect on the next request: every instance drops its cached principals on this.
CREATE FUNCTION citybase.notify_identity_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('citybase_identity', TG_TABLE_NAME);
  RETURN NULL;
END
$fn$;
CREATE TRIGGER identity_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON citybase.users
  FOR EACH STATEMENT EXECUTE FUNCTION citybase.notify_identity_change();
CREATE TRIGGER identity_change AFTER UPDATE OF revoked_at OR DELETE OR TRUNCATE ON citybase.sessions
  FOR EACH STATEMENT EXECUTE FUNCTION citybase.notify_identity_change();
CREATE TRIGGER identity_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON citybase.api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION citybase.notify_identity_change();

-- The audit trail: append-only, partitioned by month, each record chained to the previous one by SHA-256.
CREATE TABLE citybase.audit_log (
  id          bigint NOT NULL,
  at          timestamptz NOT NULL,
  actor_kind  text NOT NULL CHECK (actor_kind IN ('anonymous', 'key', 'user', 'embed', 'system')),
  actor_id    integer,
  actor       text NOT NULL DEFAULT '',
  role        text NOT NULL DEFAULT '',
  source_addr text NOT NULL DEFAULT '',
  action      text NOT NULL,
  target      text NOT NULL DEFAULT '',
  outcome     text NOT NULL CHECK (outcome IN ('success', 'failure')),
  details     jsonb NOT NULL DEFAULT '{}',
  prev_hash   text NOT NULL,
  hash        text NOT NULL,
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE INDEX ON citybase.audit_log (at);
CREATE INDEX ON citybase.audit_log (actor, at);
CREATE INDEX ON citybase.audit_log (action, at);

-- The head of the chain: one row, locked by each append, so records are numbered and chained in commit order.
CREATE TABLE citybase.audit_head (
  one       boolean PRIMARY KEY DEFAULT true CHECK (one),
  last_id   bigint NOT NULL,
  last_hash text NOT NULL
);
INSERT INTO citybase.audit_head VALUES (true, 0, repeat('0', 64));

-- The text a record's hash covers: every field, in a fixed order and format (UTC time, jsonb's canonical text).
CREATE FUNCTION citybase.audit_record_text(
  id bigint, at timestamptz, actor_kind text, actor_id integer, actor text, role text, source_addr text,
  action text, target text, outcome text, details jsonb, prev_hash text) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT concat_ws(E'\x1f', id::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor_kind,
                   coalesce(actor_id::text, ''), actor, role, source_addr, action, target, outcome, details::text, prev_hash)
$fn$;

CREATE FUNCTION citybase.audit_partition(month date) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  first date := date_trunc('month', month)::date;
  name  text := format('audit_log_%s', to_char(first, 'YYYYMM'));
BEGIN
  IF to_regclass(format('citybase.%I', name)) IS NULL THEN
    EXECUTE format('CREATE TABLE citybase.%I PARTITION OF citybase.audit_log FOR VALUES FROM (%L) TO (%L)',
                   name, first::timestamptz AT TIME ZONE 'UTC', (first + interval '1 month')::timestamptz AT TIME ZONE 'UTC');
  END IF;
END
$fn$;

-- Append one record; returns its id. The only way records are written.
CREATE FUNCTION citybase.audit_append(
  p_actor_kind text, p_actor_id integer, p_actor text, p_role text, p_source_addr text,
  p_action text, p_target text, p_outcome text, p_details jsonb) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
  head citybase.audit_head;
  now_ timestamptz := clock_timestamp();
  h    text;
BEGIN
  SELECT * INTO head FROM citybase.audit_head FOR UPDATE;
  PERFORM citybase.audit_partition((now_ AT TIME ZONE 'UTC')::date);
  h := encode(sha256(convert_to(citybase.audit_record_text(head.last_id + 1, now_, p_actor_kind, p_actor_id,
         coalesce(p_actor, ''), coalesce(p_role, ''), coalesce(p_source_addr, ''), p_action, coalesce(p_target, ''),
         p_outcome, coalesce(p_details, '{}'), head.last_hash), 'UTF8')), 'hex');
  INSERT INTO citybase.audit_log VALUES (head.last_id + 1, now_, p_actor_kind, p_actor_id, coalesce(p_actor, ''),
    coalesce(p_role, ''), coalesce(p_source_addr, ''), p_action, coalesce(p_target, ''), p_outcome,
    coalesce(p_details, '{}'), head.last_hash, h);
  UPDATE citybase.audit_head SET last_id = head.last_id + 1, last_hash = h;
  RETURN head.last_id + 1;
END
$fn$;

-- Append-only: no UPDATE, DELETE or TRUNCATE, whoever asks (a superuser who disables the trigger still breaks
-- the chain, which `npm run audit -- verify` finds). Dropping a whole month past retention is the one way out.
CREATE FUNCTION citybase.audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON citybase.audit_log
  FOR EACH ROW EXECUTE FUNCTION citybase.audit_refuse_change();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON citybase.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION citybase.audit_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON citybase.audit_log FROM PUBLIC;
DO $do$
BEGIN
  -- A non-superuser application role is denied by privilege too (a superuser is stopped by the trigger).
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON citybase.audit_log FROM %I', current_user);
  END IF;
END
$do$;

SELECT citybase.audit_partition((now() AT TIME ZONE 'UTC')::date);
SELECT citybase.audit_partition(((now() AT TIME ZONE 'UTC') + interval '1 month')::date);
