-- The events layer filters by report time (the features API's datetime=): expose the instant itself, not only
-- its local text. CREATE OR REPLACE VIEW may only add columns at the end.
CREATE OR REPLACE VIEW urban.events_map AS
SELECT e.id, e.code, e.class_code, k.name AS class_name, k.major_name, e.status, s.name_zh AS status_name, s.closed,
       e.source, to_char(e.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS reported_local, e.grid_code, e.geom,
       e.reported_at
FROM urban.events e JOIN urban.event_classes k ON k.code = e.class_code JOIN urban.event_statuses s ON s.code = e.status;
