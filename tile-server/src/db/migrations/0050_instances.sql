-- Several CityBase processes may serve one database (issue 17). Each registers here and keeps its row fresh;
-- work a process owns (import jobs) names it, so the others can tell a job whose process died from one that is
-- still running elsewhere.
CREATE TABLE citybase.instances (
  id         text PRIMARY KEY,          -- host:pid:random, INSTANCE_ID when set
  host       text NOT NULL,
  pid        integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  seen_at    timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE citybase.import_jobs ADD COLUMN instance_id text;
