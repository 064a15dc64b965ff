import fs from 'node:fs';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import iconv from 'iconv-lite';
import { ImportError } from '../errors.ts';

/** Helpers for the text formats (CSV, GeoJSON): the first bytes for sniffing, byte counting, strict decoding. */

export async function readHead(file: string, bytes: number): Promise<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Counts the bytes read through it (progress and ETA); each read of the file gets a fresh pass-through. */
export function byteCounter(): { stream(): Transform; readonly bytes: number } {
  let bytes = 0;
  return {
    stream: () =>
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          cb(null, chunk);
        },
      }),
    get bytes() {
      return bytes;
    },
  };
}

/**
 * Bytes → strings in the given encoding, failing (never garbling) on bytes that are not valid in it. A UTF-8 or
 * UTF-16 byte order mark is dropped.
 */
export function decodeStream(encoding: string, file: string): Transform {
  const invalid = () =>
    new ImportError(`${file}: the bytes are not valid ${encoding.toUpperCase()} text; pass --encoding with the file's real encoding (e.g. gbk, utf-8, big5)`);
  if (encoding === 'utf-8') {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    return new Transform({
      readableObjectMode: true,
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        try {
          cb(null, decoder.decode(chunk, { stream: true }));
        } catch {
          cb(invalid());
        }
      },
      flush(cb) {
        try {
          const rest = decoder.decode();
          cb(null, rest || undefined);
        } catch {
          cb(invalid());
        }
      },
    });
  }
  const decoder = iconv.getDecoder(encoding === 'gbk' ? 'gb18030' : encoding);
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      const s = decoder.write(chunk);
      if (s.includes('\ufffd')) return cb(invalid());
      cb(null, s || undefined);
    },
    flush(cb) {
      const s = decoder.end() ?? '';
      if (s.includes('\ufffd')) return cb(invalid());
      cb(null, s || undefined);
    },
  });
}

/**
 * A file's text as decoded chunks, counting bytes on the way, optionally through a parser; an error anywhere
 * surfaces in the iteration, and a consumer that stops early closes the file.
 */
export function readText(path: string, encoding: string, name: string, counter: { stream(): Transform }, parser?: NodeJS.ReadWriteStream): AsyncIterable<unknown> {
  // 64 KB reads: with 1 MB ones, a chunk's ~20,000 records outlive several young-generation collections while
  // they are consumed and get promoted, and the old generation grew to 200 MB of garbage (bench:import, RSS).
  const stages = [fs.createReadStream(path, { highWaterMark: 64 * 1024 }), counter.stream(), decodeStream(encoding, name), ...(parser ? [parser] : [])];
  return (pipeline as (...s: unknown[]) => NodeJS.ReadableStream)(...stages, () => {}) as unknown as AsyncIterable<unknown>;
}
