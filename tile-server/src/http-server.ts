import http from 'node:http';
import type Koa from 'koa';
import type { AppState } from './app.ts';
import type { Config } from './config.ts';
import { MAX_QUERY_BYTES } from './features/spatial-query.ts';
import { MAX_READINGS_BYTES } from './routes/analyses.ts';
import { maxUploadBytes } from './routes/imports.ts';

/**
 * Longest request head accepted (request line with its URL, and headers). Node's default, 16 KiB, refuses a
 * district outline in a `filter=` with 431; the filter itself may be 64 KiB of text, and percent-encoding
 * makes it up to three times longer in the URL.
 */
export const MAX_HEADER_BYTES = 256 * 1024;

/** The largest body a request to this path may declare (its route refuses larger ones with 413 as well). */
export function bodyLimit(config: Pick<Config, 'IMPORT_MAX_MB'>, path: string): number {
  if (path.startsWith('/api/imports')) return maxUploadBytes(config.IMPORT_MAX_MB);
  if (path.startsWith('/api/env/air/readings')) return MAX_READINGS_BYTES;
  if (path.startsWith('/query')) return MAX_QUERY_BYTES;
  return 1 << 20;
}

/**
 * The HTTP server of an app, as main.ts and the benchmark run it. With the configuration, a request sent with
 * `Expect: 100-continue` whose Content-Length is over its path's limit is answered 413 at once, before the
 * client sends the body (Node would otherwise say 100 Continue, and the client upload it all to be refused).
 */
export function createHttpServer(
  app: Koa<AppState>,
  config?: Pick<Config, 'IMPORT_MAX_MB'> & Partial<Pick<Config, 'HTTP_HEADERS_TIMEOUT_S' | 'HTTP_REQUEST_TIMEOUT_S'>>,
): http.Server {
  const handle = app.callback();
  // Stalled clients (slow headers, a body that never ends) are cut off, checked every second: a thousand
  // slowloris sockets must not hold the server's descriptors for Node's default minutes.
  const server = http.createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: (config?.HTTP_HEADERS_TIMEOUT_S ?? 30) * 1000,
      requestTimeout: (config?.HTTP_REQUEST_TIMEOUT_S ?? 600) * 1000,
      connectionsCheckingInterval: 1000,
    },
    handle,
  );
  if (config)
    server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const declared = Number(req.headers['content-length'] ?? 0);
      const limit = bodyLimit(config, (req.url ?? '/').split('?')[0]!);
      if (declared > limit) {
        const body = JSON.stringify({ error: 'payload_too_large', message: `the body (${declared} bytes) is larger than this endpoint accepts (${limit} bytes)` });
        res.writeHead(413, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
        res.end(body);
        return;
      }
      res.writeContinue();
      void handle(req, res);
    });
  // Longer than the idle timeouts of common proxies (nginx 60 s), so the proxy closes first, never mid-request.
  server.keepAliveTimeout = 75_000;
  return server;
}
