import zlib from 'node:zlib';
import type { Middleware } from 'koa';
import compress from 'koa-compress';

/** JSON of any flavour (GeoJSON, TileJSON, schema) and text. Tiles negotiate their own (cached, compressed once). */
const COMPRESSIBLE = /^(application\/([\w.-]+\+)?json|text\/)/;

/**
 * Compression of JSON and text answers by Accept-Encoding: a 1,000-feature GeoJSON page is ~150 KB and shrinks
 * to a fifth, which matters on a district office's link. Brotli at quality 4 and gzip at level 5: most of the
 * gain for a fraction of the default settings' CPU (brotli's default, 11, is far too slow for a live response).
 * Answers under 2 KB go as they are.
 */
export function compression(): Middleware {
  return compress({
    filter: (type) => COMPRESSIBLE.test(type),
    threshold: 2048,
    br: { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } },
    gzip: { level: 5 },
    deflate: false,
    // zstd (Node >= 22.15) would run at its default level, not the settings chosen here; browsers all take br.
    zstd: false,
  } as Parameters<typeof compress>[0]);
}
