// The tile server as the benchmark runs it: a child process configured from the environment (DATABASE_URL,
// LAYERS_DIR, TILE_CACHE_MB, ...), listening on 127.0.0.1:<free port>. Prints one line
// `BENCH_SERVER {"port":…,"sql":{layer: tile SQL}}` on stdout when ready; exits on SIGTERM or when stdin closes.
import { loadConfig } from '../tile-server/src/config.ts';
import { createHttpServer } from '../tile-server/src/http-server.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { shutdown, startPlatform } from '../tile-server/src/platform.ts';
import { PostgisTableSource } from '../tile-server/src/sources/postgis-table.ts';

const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', ...process.env });
if (!config.DATABASE_URL) throw new Error('bench/server.ts needs DATABASE_URL');
const log = createLogger(config.LOG_LEVEL);
const platform = await startPlatform(config, config.DATABASE_URL, log);

const sql: Record<string, string> = {};
for (const source of platform.registry.list()) if (source instanceof PostgisTableSource) sql[source.meta.id] = source.sql;
const unavailable = Object.fromEntries(platform.registry.unavailable);

const server = createHttpServer(platform.app, config).listen(config.PORT, config.HOST, () => {
  const addr = server.address();
  const port = addr && typeof addr === 'object' ? addr.port : 0;
  process.stdout.write(`BENCH_SERVER ${JSON.stringify({ port, sql, unavailable })}\n`);
});

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await shutdown(server, platform, log, 2_000).catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop()).resume(); // the benchmark went away
