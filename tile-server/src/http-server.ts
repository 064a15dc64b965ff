import http from 'node:http';
import type Koa from 'koa';
import type { AppState } from './app.ts';

/**
 * Longest request head accepted (request line with its URL, and headers). Node's default, 16 KiB, refuses a
 * district outline in a `filter=` with 431; the filter itself may be 64 KiB of text, and percent-encoding
 * makes it up to three times longer in the URL.
 */
export const MAX_HEADER_BYTES = 256 * 1024;

/** The HTTP server of an app, as main.ts and the benchmark run it. */
export function createHttpServer(app: Koa<AppState>): http.Server {
  const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, app.callback());
  // Longer than the idle timeouts of common proxies (nginx 60 s), so the proxy closes first, never mid-request.
  server.keepAliveTimeout = 75_000;
  return server;
}
