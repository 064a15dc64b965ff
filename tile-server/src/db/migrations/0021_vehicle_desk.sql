-- The vehicle desk (issue 12): where a vehicle belongs beyond its department. district_code is the 行政区划 of its
-- registration (an operator limited to districts sees only their vehicles; null = a city-level fleet, seen only by
-- city-wide operators); fleet_group is the desk's grouping (车队/线路/企业分组) for lists and filters.
ALTER TABLE vehicles.vehicles
  ADD COLUMN district_code text CHECK (district_code ~ '^[0-9]{6}$'),
  ADD COLUMN fleet_group   text CHECK (length(fleet_group) BETWEEN 1 AND 64);
