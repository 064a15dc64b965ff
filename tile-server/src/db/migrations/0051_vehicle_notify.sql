-- Several instances (issue 17): a terminal's connection lives on one instance, and every instance's desks and
-- vehicles_live tiles must see its fixes. A batch written to vehicles.latest tells the others (once per statement;
-- NOTIFY folds repeats within a transaction), and they read what came in since.
CREATE FUNCTION vehicles.notify_latest() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('citybase_vehicles', '');
  RETURN NULL;
END
$fn$;

CREATE TRIGGER notify_latest AFTER INSERT OR UPDATE ON vehicles.latest
  FOR EACH STATEMENT EXECUTE FUNCTION vehicles.notify_latest();

CREATE INDEX latest_received ON vehicles.latest (received_at);
