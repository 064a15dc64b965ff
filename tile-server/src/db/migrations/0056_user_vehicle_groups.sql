-- Vehicle desk operators limited to vehicle groups (issue 12 §3: the live channel, the fleet, playback and reports
-- filtered by the operator's department, vehicle groups and scope). NULL: every group of the department.
ALTER TABLE citybase.users ADD COLUMN vehicle_groups text[] CHECK (vehicle_groups IS NULL OR cardinality(vehicle_groups) > 0);
