import { hash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { CachedTile } from './cache.ts';

export type Encoding = 'br' | 'gzip' | 'identity';

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

/** Below this, compression costs more than it saves. */
const MIN_COMPRESS_BYTES = 256;

/** The best encoding the client accepts (q > 0): brotli, then gzip, then none. */
export function negotiate(acceptEncoding: string | undefined): Encoding {
  if (!acceptEncoding) return 'identity';
  const accepted = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    accepted.set(name!.trim(), q ? Number(q.slice(2)) || 0 : 1);
  }
  const ok = (e: string) => (accepted.get(e) ?? accepted.get('*') ?? 0) > 0;
  if (ok('br')) return 'br';
  if (ok('gzip')) return 'gzip';
  return 'identity';
}

/** A tile: raw bytes and a strong validator derived from them (same data, same ETag), cached or not. */
export function makeTile(raw: Buffer, kept = true): CachedTile {
  // crypto.hash: the one-shot form, without a Hash object per tile.
  return { raw, etag: hash('sha1', raw, 'base64url'), kept };
}

/**
 * The bytes to send for an encoding, compressing on first use and remembering the result in the tile.
 * Returns the encoding actually used (small tiles go uncompressed) and whether a new form was made.
 */
export async function encoded(tile: CachedTile, want: Encoding): Promise<{ body: Buffer; encoding: Encoding; added: boolean }> {
  if (want === 'identity' || tile.raw.length < MIN_COMPRESS_BYTES) return { body: tile.raw, encoding: 'identity', added: false };
  if (want === 'br') {
    if (tile.br) return { body: tile.br, encoding: 'br', added: false };
    // Quality 5 for a tile made once and served from memory many times: most of brotli's gain at gzip's speed
    // (11, the default, is far too slow). A tile made for one response only gets the cheapest setting.
    tile.br = await brotli(tile.raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: tile.kept ? 5 : 1 } });
    return { body: tile.br, encoding: 'br', added: true };
  }
  if (tile.gzip) return { body: tile.gzip, encoding: 'gzip', added: false };
  tile.gzip = await gzip(tile.raw, { level: tile.kept ? 6 : 1 });
  return { body: tile.gzip, encoding: 'gzip', added: true };
}

/**
 * Strong ETag of one representation: a different encoding is a different byte sequence, so a different tag; so
 * is the same encoding at another setting (a tile made for one response is compressed at the fastest level).
 */
export function etagFor(tile: CachedTile, encoding: Encoding): string {
  return encoding === 'identity' ? `"${tile.etag}"` : `"${tile.etag}-${encoding}${tile.kept ? '' : '-fast'}"`;
}

/** If-None-Match matches when it names any representation of the same tile content (or is *). */
export function notModified(ifNoneMatch: string | undefined, tile: CachedTile): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch
    .split(',')
    .map((t) => t.trim().replace(/^W\//, '').replace(/^"|"$/g, ''))
    .some((t) => t === tile.etag || t.startsWith(`${tile.etag}-`));
}
