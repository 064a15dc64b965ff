-- A case's timeline entry and its audit record in one call, and a transition's writes in one statement (issue
-- 11's transition latency). cases/audit.ts wrote the timeline row and then called citybase.audit_append: two
-- round trips, each statement parsed and planned again, after the UPDATE and cases.enter_step (two more).
-- These functions are planned once per connection (PL/pgSQL keeps its plans), and workflow.ts now sends the
-- UPDATE of the case with cases.record_transition in one statement. What is written is unchanged.

-- The timeline row and the platform's audit record of one act on a case; returns the timeline row's id.
CREATE FUNCTION cases.append_timeline(
  p_case bigint, p_actor text, p_role text, p_action text, p_from text, p_to text, p_note text, p_reason text,
  p_outcome text, p_details jsonb, p_audit_kind text, p_audit_id integer, p_audit_details jsonb) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
  tl bigint;
BEGIN
  INSERT INTO cases.timeline (case_id, actor, actor_role, action, from_state, to_state, note, reason, outcome, details)
  VALUES (p_case, p_actor, p_role, p_action, p_from, p_to, p_note, p_reason, p_outcome, p_details)
  RETURNING id INTO tl;
  PERFORM citybase.audit_append(p_audit_kind, p_audit_id, p_actor, p_role, '', 'case.' || p_action, 'case:' || p_case,
                                CASE WHEN p_outcome = 'ok' THEN 'success' ELSE 'failure' END, p_audit_details);
  RETURN tl;
END
$fn$;

-- A transition's bookkeeping: the SLA clock moved to the new state's step when the state changes
-- (cases.enter_step), then the timeline entry and the audit record. Returns the timeline row's id.
CREATE FUNCTION cases.record_transition(
  p_case bigint, p_state_changed boolean, p_step text,
  p_actor text, p_role text, p_action text, p_from text, p_to text, p_note text, p_reason text,
  p_outcome text, p_details jsonb, p_audit_kind text, p_audit_id integer, p_audit_details jsonb) RETURNS bigint
LANGUAGE plpgsql AS $fn$
BEGIN
  IF p_state_changed THEN
    PERFORM cases.enter_step(p_case, p_step, now());
  END IF;
  RETURN cases.append_timeline(p_case, p_actor, p_role, p_action, p_from, p_to, p_note, p_reason, p_outcome, p_details,
                               p_audit_kind, p_audit_id, p_audit_details);
END
$fn$;
