-- Case photos are JPEG, PNG or WebP: already compressed. With the default STORAGE EXTENDED, every insert made
-- PostgreSQL's TOAST try pglz on the original (megabytes) and both sizes, which gains nothing on such bytes and
-- gives up only after compressing most of the value: about half as much CPU again as the photo's own decoding
-- and resizing (bench:cases). EXTERNAL stores them out of line without the attempt; rows already stored keep
-- their form (both read the same).
ALTER TABLE cases.photos
  ALTER COLUMN original SET STORAGE EXTERNAL,
  ALTER COLUMN display SET STORAGE EXTERNAL,
  ALTER COLUMN thumb SET STORAGE EXTERNAL;
