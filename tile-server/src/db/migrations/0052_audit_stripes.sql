-- The audit chain in stripes (issue 11's transition latency). One chain meant one head row, locked by every
-- append until its transaction committed: every case transition, sign-in and change in the city queued behind
-- the one before (at 16 concurrent transitions most of the time went to waiting on that row). Now there are 32
-- chains. An append takes a free stripe (the one its connection prefers first, without waiting while another is
-- free); every append of one transaction goes to the same stripe, so a transaction holds at most one.
--
-- Each stripe is a chain of its own, exactly as the one chain was: a record's hash covers its fields and the hash
-- of the record before it in its stripe. An edited record no longer matches its hash; a deleted record breaks the
-- link of the next one in its stripe; records deleted from the end of a stripe no longer match its head. Ids come
-- from a sequence (so they are unique and increase within each stripe, in the order the records were chained) and
-- order the records across stripes.
ALTER TABLE citybase.audit_log ADD COLUMN stripe smallint NOT NULL DEFAULT 0;
CREATE INDEX ON citybase.audit_log (stripe, id);

CREATE SEQUENCE citybase.audit_id AS bigint;
SELECT setval('citybase.audit_id', greatest(last_id, 1), last_id > 0) FROM citybase.audit_head;

ALTER TABLE citybase.audit_head DROP CONSTRAINT audit_head_pkey;
ALTER TABLE citybase.audit_head DROP COLUMN one;
-- The existing chain is stripe 0; the others start from the zero hash.
ALTER TABLE citybase.audit_head ADD COLUMN stripe smallint NOT NULL DEFAULT 0;
ALTER TABLE citybase.audit_head ALTER COLUMN stripe DROP DEFAULT;
ALTER TABLE citybase.audit_head ADD PRIMARY KEY (stripe);
INSERT INTO citybase.audit_head (stripe, last_id, last_hash) SELECT s, 0, repeat('0', 64) FROM generate_series(1, 31) AS s;

CREATE OR REPLACE FUNCTION citybase.audit_append(
  p_actor_kind text, p_actor_id integer, p_actor text, p_role text, p_source_addr text,
  p_action text, p_target text, p_outcome text, p_details jsonb) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
  head   citybase.audit_head;
  -- This transaction's stripe, once it has one ('' or NULL before: a local setting ends with its transaction).
  mine   text := current_setting('citybase.audit_stripe', true);
  prefer smallint := pg_backend_pid() % 32;
  now_   timestamptz := clock_timestamp();
  id_    bigint;
  h      text;
BEGIN
  IF coalesce(mine, '') <> '' THEN
    SELECT * INTO head FROM citybase.audit_head WHERE stripe = mine::smallint FOR UPDATE;
  ELSE
    SELECT * INTO head FROM citybase.audit_head ORDER BY stripe = prefer DESC, stripe FOR UPDATE SKIP LOCKED LIMIT 1;
    IF NOT FOUND THEN
      -- Every stripe is busy: wait for this connection's own (this transaction holds none, so no deadlock here).
      SELECT * INTO head FROM citybase.audit_head WHERE stripe = prefer FOR UPDATE;
    END IF;
    PERFORM set_config('citybase.audit_stripe', head.stripe::text, true);
  END IF;
  PERFORM citybase.audit_partition((now_ AT TIME ZONE 'UTC')::date);
  id_ := nextval('citybase.audit_id');
  h := encode(sha256(convert_to(citybase.audit_record_text(id_, now_, p_actor_kind, p_actor_id,
         coalesce(p_actor, ''), coalesce(p_role, ''), coalesce(p_source_addr, ''), p_action, coalesce(p_target, ''),
         p_outcome, coalesce(p_details, '{}'), head.last_hash), 'UTF8')), 'hex');
  INSERT INTO citybase.audit_log (id, at, actor_kind, actor_id, actor, role, source_addr, action, target, outcome, details, prev_hash, hash, stripe)
  VALUES (id_, now_, p_actor_kind, p_actor_id, coalesce(p_actor, ''), coalesce(p_role, ''), coalesce(p_source_addr, ''),
          p_action, coalesce(p_target, ''), p_outcome, coalesce(p_details, '{}'), head.last_hash, h, head.stripe);
  UPDATE citybase.audit_head SET last_id = id_, last_hash = h WHERE stripe = head.stripe;
  RETURN id_;
END
$fn$;
