-- Map widgets saved by the builder (issue 13): `/embed/{id}` shows the widget with these options. The id is
-- random (96 bits) because it stands for the widget's embed key in host pages and in the widget's own requests
-- (`?key=w_…`): like the key it is public by design, bound to the key's origins, and must not be guessable. A
-- widget belongs to its key's department; giving it another key (after a revocation) keeps every site that
-- embeds `/embed/{id}` working. Deleted widgets are gone: the audit trail keeps what they were.
CREATE TABLE citybase.embed_widgets (
  id            text PRIMARY KEY CHECK (id ~ '^w_[A-Za-z0-9_-]{16}$'),
  department_id text NOT NULL REFERENCES citybase.departments (id),
  key_id        integer NOT NULL REFERENCES citybase.api_keys (id),
  label         text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
  -- Empty: every layer of the key.
  layers        text[] NOT NULL DEFAULT '{}',
  -- [lon, lat]; NULL: the widget's default view.
  center        double precision[] CHECK (center IS NULL OR (cardinality(center) = 2
                  AND center[1] BETWEEN -180 AND 180 AND center[2] BETWEEN -90 AND 90)),
  zoom          double precision CHECK (zoom BETWEEN 0 AND 22),
  controls      text[] NOT NULL CHECK (controls <@ '{zoom,scale,legend,layers,identify,fullscreen}'::text[]),
  lang          text NOT NULL DEFAULT 'zh' CHECK (lang IN ('zh', 'en')),
  -- The snippet's frame size in CSS pixels (the page itself fills whatever frame it is in).
  width         integer NOT NULL DEFAULT 640 CHECK (width BETWEEN 200 AND 4000),
  height        integer NOT NULL DEFAULT 420 CHECK (height BETWEEN 150 AND 4000),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON citybase.embed_widgets (department_id);
CREATE INDEX ON citybase.embed_widgets (key_id);

-- A widget id resolves to its key's principal, cached by every instance: a change (deleted, another key) must
-- reach them all at the next request, as for keys (0010's citybase_identity).
CREATE TRIGGER identity_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON citybase.embed_widgets
  FOR EACH STATEMENT EXECUTE FUNCTION citybase.notify_identity_change();
