-- Fences on several instances (issue 12): a fence made, changed or deleted on one instance (or by SQL, a CSV
-- load) tells every instance at once, so each alarm engine works with the new fence and each desk redraws it.
-- Once per statement (NOTIFY folds repeats within a transaction); the instances read the fences again and send
-- the desks what differs from what they had.
CREATE FUNCTION vehicles.notify_fences() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('citybase_fences', '');
  RETURN NULL;
END
$fn$;

CREATE TRIGGER notify_fences AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vehicles.fences
  FOR EACH STATEMENT EXECUTE FUNCTION vehicles.notify_fences();
