import type { ColumnType } from '../columns.ts';
import type { SourceSrs } from '../crs/srs.ts';
import type { Geometry, Ordinates } from '../geometry/types.ts';

/**
 * One format = one module that opens a file and streams its features (lesson 1 of the code-style anchors: the
 * importer's equivalent of a tile source). Everything after reading — cleaning, CRS, types, COPY, the table
 * swap — is the loader's and is the same for every format.
 */
export interface Field {
  /** Name in the source. */
  name: string;
  /** Type the source declares (DBF, GeoPackage); absent when values decide (CSV, JSON). */
  type?: ColumnType | undefined;
  /** Strings may hold numbers (CSV). */
  fromText?: boolean | undefined;
}

export interface FeatureRecord {
  /** Where a person finds the feature in the source: spreadsheet row for CSV, feature number otherwise (1-based). */
  row: number;
  geometry: Geometry | null;
  /** Attribute values in `fields` order when the source has a schema, else the feature's properties object. */
  values: unknown[] | Record<string, unknown>;
  /** Why the reader could not make a geometry from this row (e.g. "longitude 'abc' is not a number"). */
  problem?: string | undefined;
}

export interface FeatureSource {
  /** geojson, csv, shapefile, geopackage, kml, gpx */
  readonly format: string;
  /** The text encoding used and how it was chosen, e.g. "gbk (detected)"; null for binary formats without text. */
  readonly encoding: string | null;
  /** Fields when the source has a fixed schema; null = schema-less properties (JSON). */
  readonly fields: Field[] | null;
  /** The ordinates of the positions this source's geometries carry ('auto': GeoJSON-style, a third value is Z). */
  readonly ordinates: Ordinates | 'auto';
  /** The sublayer read (GeoPackage table, GPX part, KML folder, shapefile in a zip), when there is a choice. */
  readonly sublayer: string | null;
  /** Things worth telling the person importing, e.g. deleted DBF records skipped. */
  readonly warnings: string[];
  /** Size of the input in bytes, for progress. */
  readonly totalBytes: number;
  /**
   * The CRS the file declares (.prj, GeoPackage srs_id, GeoJSON crs), or null. Asked before the first record
   * and again after the last (a GeoJSON `crs` member may come after the features).
   */
  srs(): SourceSrs | null;
  /**
   * The records in order, in batches (a chunk's worth, up to a few thousand): one await per batch rather than per
   * record keeps a million-row file's reading cheap. Calling it again reads the file again from the start.
   */
  batches(): AsyncIterable<FeatureRecord[]>;
  /** Bytes consumed so far, for progress. */
  bytesRead(): number;
  close(): Promise<void>;
}

/** A file to read: where it is, and the name people know it by (the upload's name, a path inside a zip). */
export interface InputFile {
  path: string;
  name: string;
}
