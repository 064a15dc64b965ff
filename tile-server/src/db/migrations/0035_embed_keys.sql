-- Embed keys (map widgets in departments' own web sites): rows of citybase.api_keys of kind 'embed'. They are
-- public-by-design identifiers (they travel in an iframe's URL), bound to the origins that may use them, to the
-- layers they may show, and to a rate per client address. Read-only by construction: the only right is layer:read.
ALTER TABLE citybase.api_keys
  ADD COLUMN kind            text NOT NULL DEFAULT 'api' CHECK (kind IN ('api', 'embed')),
  -- Exact origins (https://sthjj.huaian.gov.cn) and patterns (https://*.huaian.gov.cn), normalised.
  ADD COLUMN origins         text[] NOT NULL DEFAULT '{}',
  ADD COLUMN layers          text[] NOT NULL DEFAULT '{}',
  ADD COLUMN rate_per_minute integer NOT NULL DEFAULT 600 CHECK (rate_per_minute BETWEEN 1 AND 1000000),
  ADD CONSTRAINT api_keys_embed_bound CHECK (
    CASE kind
      WHEN 'embed' THEN rights = '{layer:read}' AND cardinality(origins) > 0 AND cardinality(layers) > 0
      ELSE cardinality(origins) = 0 AND cardinality(layers) = 0
    END);
CREATE INDEX ON citybase.api_keys (department_id) WHERE kind = 'embed';
