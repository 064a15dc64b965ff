import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import yauzl from 'yauzl';
import { ImportError } from '../errors.ts';
import { entryName, zipNameEncoding } from './zip-names.ts';

/**
 * Unpack a .zip (or .kmz) into a fresh directory, refusing what a hostile or broken archive carries: names that
 * climb out of the directory or are absolute (yauzl rejects those), symbolic links (written as plain files, never
 * followed), more than 10,000 entries, and more than `maxBytes` of content. The size limit is enforced on the
 * bytes actually inflated, not on what the headers claim, so a zip bomb stops at the limit.
 */
export interface UnzipLimits {
  maxBytes: number;
  maxEntries?: number;
}

export async function unzip(file: string, name: string, dir: string, limits: UnzipLimits): Promise<string[]> {
  const maxEntries = limits.maxEntries ?? 10_000;
  // Names are decoded here, not by yauzl: without the UTF-8 flag they are GBK from a Chinese PC (zip-names.ts).
  const names = await zipNameEncoding(file).catch((err: Error) => {
    throw bad(name, err);
  });
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: true, strictFileNames: false, validateEntrySizes: true, decodeStrings: false }, (err, z) =>
      err ? reject(bad(name, err)) : resolve(z!),
    ),
  );
  const written: string[] = [];
  let total = 0;
  try {
    if (zip.entryCount > maxEntries) throw new ImportError(`${name} holds ${zip.entryCount} entries (at most ${maxEntries} are read)`);
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (err: Error) => reject(bad(name, err)));
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        void (async () => {
          const fileName = entryName(entry, names);
          const unsafe = yauzl.validateFileName(fileName);
          if (unsafe) throw bad(name, new Error(unsafe));
          // Control characters (a NUL cuts a path short in the OS) are never part of a real file's name.
          if (/[\u0000-\u001f\u007f]/.test(fileName))
            throw new ImportError(`${name} holds an entry whose name has control characters (${JSON.stringify(fileName).slice(0, 80)}): is the archive damaged?`);
          if (/\/$/.test(fileName)) return zip.readEntry();
          if (entry.uncompressedSize + total > limits.maxBytes) throw tooBig(name, limits.maxBytes);
          const target = path.join(dir, fileName);
          if (!target.startsWith(dir + path.sep)) throw new ImportError(`${name} holds an unsafe file name: ${fileName}`);
          await fs.promises.mkdir(path.dirname(target), { recursive: true });
          const stream = await new Promise<NodeJS.ReadableStream>((res, rej) =>
            zip.openReadStream(entry, (err, s) => (err ? rej(bad(name, err)) : res(s!))),
          );
          let inflated = 0;
          const limit = new Transform({
            transform(chunk: Buffer, _e, cb) {
              total += chunk.length;
              inflated += chunk.length;
              if (total > limits.maxBytes) return cb(tooBig(name, limits.maxBytes));
              // Real data compresses 2–20×; beyond 1 MB, a ratio over MAX_RATIO is a bomb, whatever the total.
              if (inflated > 2 ** 20 && inflated > MAX_RATIO * Math.max(1, entry.compressedSize))
                return cb(new ImportError(`${name}: ${entry.fileName} inflates more than ${MAX_RATIO}× (a zip bomb?); nothing was imported`));
              cb(null, chunk);
            },
          });
          // 'wx': never write through an existing file or link.
          await pipeline(stream, limit, fs.createWriteStream(target, { flags: 'wx' })).catch((err: Error) => {
            throw err instanceof ImportError ? err : bad(name, err);
          });
          written.push(fileName);
          zip.readEntry();
        })().catch(reject);
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return written;
}

/** Largest inflation ratio of an entry over 1 MB. */
const MAX_RATIO = 500;

function tooBig(name: string, max: number): ImportError {
  return new ImportError(`${name} unpacks to more than ${Math.round(max / 2 ** 20)} MB (a zip bomb?); nothing was imported`);
}

function bad(name: string, err: Error): ImportError {
  const m = err.message;
  if (/invalid relative path|absolute path|invalid characters in fileName/.test(m)) return new ImportError(`${name} holds an unsafe file name (${m})`);
  if (/too many bytes|too few bytes|invalid|unexpected|end of central directory|not found|signature/i.test(m))
    return new ImportError(`${name} is not a readable zip archive: ${m}`);
  return new ImportError(`${name}: ${m}`);
}
