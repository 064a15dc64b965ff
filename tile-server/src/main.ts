import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDemoKey } from '../../data-samples/demo-key.ts';
import { loadSamplesOnce } from '../../data-samples/load.ts';
import { ConfigError, loadConfig } from './config.ts';
import { startEmbeddedCluster, type EmbeddedCluster } from './db/embedded.ts';
import { createHttpServer } from './http-server.ts';
import { createLogger } from './log.ts';
import { shutdown, startPlatform } from './platform.ts';
import { startGateway, type Gateway } from './vehicles/gateway/gateway.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `npm start`: configuration → database (external or embedded) → platform → listen; stop cleanly on a signal. */
async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, LAYERS_DIR: process.env.LAYERS_DIR ?? path.join(root, 'layers') });
  const log = createLogger(config.LOG_LEVEL);

  let cluster: EmbeddedCluster | null = null;
  let url = config.DATABASE_URL;
  if (!url) {
    const dataDir = path.resolve(root, config.DATA_DIR, 'pg');
    log.info({ dataDir }, 'no DATABASE_URL: using the embedded PostGIS cluster');
    cluster = await startEmbeddedCluster({ dataDir, log: (msg) => log.info(msg) });
    if (cluster.reused && !cluster.status().owner) log.info('the embedded cluster belongs to another running CityBase process: this one attaches and leaves it running when it stops');
    cluster.supervise();
    url = cluster.url;
  }
  const stopCluster = async () => {
    if (cluster) await cluster.stop().catch((err) => log.error({ err }, 'stopping the embedded cluster failed'));
  };

  let platform;
  try {
    platform = await startPlatform(config, url, log);
    const firstStart = config.LOAD_SAMPLES && (await loadSamplesOnce(platform.pool, log));
    if (firstStart) log.info('data-samples loaded (first start)');
    await ensureDemoKey(platform.pool, config.DEMO_API_KEY, firstStart, log);
    const { rows } = await platform.pool.query(`SELECT 1 FROM citybase.users LIMIT 1`);
    if (rows.length === 0)
      log.info('no users yet: create the first administrator with `npm run user -- create --login admin --role admin` (it prints a one-time password)');
  } catch (err) {
    await stopCluster();
    throw err;
  }

  // The JT/T 808 gateway in the same process (JT808_PORT=0 leaves it to `npm run gateway` elsewhere).
  let gateway: Gateway | null = null;
  if (config.JT808_PORT > 0)
    gateway = await startGateway(platform.vehicles, {
      port: config.JT808_PORT,
      host: config.HOST,
      maxConnections: config.JT808_MAX_CONNECTIONS,
      heartbeatSeconds: config.JT808_HEARTBEAT_S,
      messagesPerSecond: config.JT808_MAX_MESSAGES_PER_S,
      log,
    });

  const server = createHttpServer(platform.app, config);
  platform.vehicles.channel?.attach(server); // WebSocket /api/vehicles/live
  server.listen(config.PORT, config.HOST, () => {
    log.info({ url: `http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${config.PORT}/` }, 'CityBase is up');
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await gateway?.close();
    // A service manager or orchestrator stops with SIGTERM: drain first. Ctrl-C (SIGINT) stops at once.
    await shutdown(server, platform, log, 10_000, signal === 'SIGTERM' ? config.DRAIN_DELAY_S * 1000 : 0);
    await stopCluster();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  // Startup problems are the operator's to fix: say what is wrong, no stack trace for the expected ones.
  const expected = err instanceof ConfigError || (err instanceof Error && err.constructor.name.endsWith('Error') && err.constructor !== Error);
  console.error(`CityBase failed to start: ${err instanceof Error ? err.message : String(err)}`);
  if (!expected && err instanceof Error && err.stack) console.error(err.stack);
  process.exit(1);
});
