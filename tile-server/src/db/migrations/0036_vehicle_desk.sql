-- The vehicle desk (issue 12): where a vehicle belongs beyond its department. district_code is the 行政区划 of its
-- registration (an operator limited to districts sees only their vehicles; null = a city-level fleet, seen only by
-- city-wide operators); fleet_group is the desk's grouping (车队/线路/企业分组) for lists and filters.
ALTER TABLE vehicles.vehicles
  ADD COLUMN district_code text CHECK (district_code ~ '^[0-9]{6}$'),
  ADD COLUMN fleet_group   text CHECK (length(fleet_group) BETWEEN 1 AND 64);

-- Alarm rules that are not fences (疲劳驾驶, 违规停车), as data: parameters per department and vehicle type
-- (null = every type), merged over the defaults in vehicles/alarms/rules.ts.
CREATE TABLE vehicles.alarm_rules (
  department_id text NOT NULL REFERENCES citybase.departments (id),
  vehicle_type  text CHECK (vehicle_type IN ('muck_truck', 'dangerous_goods', 'school_bus', 'bus', 'taxi', 'other')),
  rule          text NOT NULL CHECK (rule IN ('fatigue_driving', 'stop_outside_area')),
  params        jsonb NOT NULL CHECK (jsonb_typeof(params) = 'object'),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alarm_rules_one ON vehicles.alarm_rules (department_id, coalesce(vehicle_type, ''), rule);
