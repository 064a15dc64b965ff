import fs from 'node:fs';
import path from 'node:path';
import { matchPrj } from '../crs/prj.ts';
import { epsg, type SourceSrs } from '../crs/srs.ts';
import type { Queryable } from '../db.ts';
import { ImportError } from '../errors.ts';
import { Dbf } from './dbf.ts';
import { ordinatesOf, readShape, ShapeError } from './shp-geometry.ts';
import { findSidecar } from './sidecar.ts';
import type { FeatureRecord, FeatureSource, InputFile } from './source.ts';

/**
 * ESRI shapefiles: .shp + .shx + .dbf (all three required, as the format says), .prj and .cpg when present,
 * sidecars matched case-insensitively. The files are checked against each other before anything is read (a
 * truncated .shp, a .dbf whose record count differs from the .shx, a missing part stop the import with the
 * file named); a single corrupt shape record is rejected with its row number.
 */
export async function openShapefile(input: InputFile, opts: { encoding?: string | undefined }, sql: Queryable): Promise<FeatureSource> {
  const shpName = input.name;
  const sidecar = (ext: string) => findSidecar(input.path, ext);
  const shx = sidecar('.shx');
  const dbfPath = sidecar('.dbf');
  const base = shpName.replace(/\.shp$/i, '');
  if (!shx) throw new ImportError(`${base}.shx is missing: a shapefile needs its .shp, .shx and .dbf (put them together, or in one .zip)`);
  if (!dbfPath) throw new ImportError(`${base}.dbf is missing: a shapefile needs its .shp, .shx and .dbf (put them together, or in one .zip)`);

  const shpSize = fs.statSync(input.path).size;
  const head = Buffer.alloc(100);
  const shp = await fs.promises.open(input.path, 'r');
  let dbf: Dbf | null = null;
  try {
    await shp.read(head, 0, 100, 0);
    if (shpSize < 100 || head.readInt32BE(0) !== 9994) throw new ImportError(`${shpName} is not a shapefile (no 9994 file code)`);
    const declared = head.readInt32BE(24) * 2;
    if (shpSize < declared) throw new ImportError(`${shpName} is truncated: its header says ${declared} bytes, the file has ${shpSize}`);
    const shapeType = head.readInt32LE(32);
    if (![0, 1, 3, 5, 8, 11, 13, 15, 18, 21, 23, 25, 28].includes(shapeType)) throw new ImportError(`${shpName} has an unknown shape type ${shapeType}`);
    const index = await fs.promises.readFile(shx);
    if (index.length < 100 || index.readInt32BE(0) !== 9994 || (index.length - 100) % 8 !== 0)
      throw new ImportError(`${base}.shx is not a shapefile index (or is truncated)`);
    const count = (index.length - 100) / 8;
    const cpgPath = sidecar('.cpg');
    dbf = await Dbf.open(dbfPath, `${base}.dbf`, {
      encoding: opts.encoding,
      cpg: cpgPath ? { text: fs.readFileSync(cpgPath, 'utf8'), name: `${base}.cpg` } : undefined,
    });
    if (dbf.info.records !== count)
      throw new ImportError(`${base}.dbf has ${dbf.info.records} records but ${base}.shx indexes ${count} shapes: the files do not belong together or one is damaged`);
    let srs: SourceSrs | null = null;
    const prjPath = sidecar('.prj');
    if (prjPath) {
      const m = await matchPrj(fs.readFileSync(prjPath, 'utf8'), sql, `${base}.prj`);
      srs = epsg(m.srid, 'file', `${base}.prj "${m.name}", matched by ${m.how}`);
    }
    const warnings = [...dbf.info.warnings];
    const types = dbf.columnTypes();
    const fields = dbf.info.fields.map((f, i) => ({ name: f.name, type: types[i] }));
    let consumed = 0;
    const table = dbf;

    return {
      format: 'shapefile',
      encoding: `${dbf.info.encoding} (${dbf.info.encodingHow})`,
      fields,
      ordinates: ordinatesOf(shapeType),
      sublayer: null,
      warnings,
      totalBytes: shpSize,
      srs: () => srs,
      bytesRead: () => consumed,
      async close() {
        await shp.close().catch(() => {});
        await table.close();
      },
      async *batches(): AsyncGenerator<FeatureRecord[]> {
        const reader = new BlockReader(shp, shpSize);
        let deleted = 0;
        let i = 0;
        let batch: FeatureRecord[] = [];
        for await (const rec of table.records()) {
          if (batch.length >= 1000) {
            yield batch;
            batch = [];
          }
          const offset = index.readInt32BE(100 + i * 8) * 2;
          const length = index.readInt32BE(104 + i * 8) * 2;
          const row = ++i;
          if (offset < 100 || offset + 8 + length > shpSize)
            throw new ImportError(`${shpName} is truncated or damaged: shape ${row} lies outside the file (offset ${offset}, ${length} bytes)`);
          const content = await reader.read(offset + 8, length);
          consumed = offset + 8 + length;
          if (rec.deleted) {
            deleted++;
            continue;
          }
          try {
            batch.push({ row, geometry: readShape(content, shapeType), values: rec.values });
          } catch (err) {
            if (!(err instanceof ShapeError)) throw err;
            batch.push({ row, geometry: null, values: rec.values, problem: `shape record is damaged: ${err.message}` });
          }
        }
        if (batch.length) yield batch;
        if (deleted) warnings.push(`${deleted} records marked deleted in ${base}.dbf were skipped`);
      },
    };
  } catch (err) {
    await shp.close().catch(() => {});
    await dbf?.close();
    throw err;
  }
}

/** Reads byte ranges of the .shp through a 1 MB window: records are almost always in file order. */
class BlockReader {
  private buf = Buffer.alloc(0);
  private start = 0;
  constructor(
    private readonly fh: fs.promises.FileHandle,
    private readonly size: number,
  ) {}

  async read(at: number, length: number): Promise<Buffer> {
    if (at < this.start || at + length > this.start + this.buf.length) {
      const want = Math.min(Math.max(length, 1 << 20), this.size - at);
      const buf = Buffer.alloc(want);
      const { bytesRead } = await this.fh.read(buf, 0, want, at);
      this.buf = buf.subarray(0, bytesRead);
      this.start = at;
      if (bytesRead < length) throw new ImportError(`the .shp ends inside a record at byte ${at + bytesRead}`);
    }
    return this.buf.subarray(at - this.start, at - this.start + length);
  }
}
