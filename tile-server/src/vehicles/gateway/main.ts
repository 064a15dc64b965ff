import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../config.ts';
import { migrate } from '../../db/migrate.ts';
import { openPool } from '../../db/pool.ts';
import { createLogger } from '../../log.ts';
import { ChangeListener } from '../../tiles/invalidation.ts';
import { VehicleService } from '../service.ts';
import { startGateway } from './gateway.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/**
 * `npm run gateway`: the JT/T 808 gateway alone, for a separate machine, writing into the platform's database
 * (DATABASE_URL is required: the embedded cluster belongs to `npm start`). Live positions reach the desk of the
 * HTTP server through vehicles.latest, not through this process's memory.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger(config.LOG_LEVEL);
  if (!config.DATABASE_URL) throw new ConfigError('npm run gateway needs DATABASE_URL (the platform database)');
  if (config.JT808_PORT === 0) throw new ConfigError('JT808_PORT is 0: nothing to run');
  const pool = await openPool({
    url: config.DATABASE_URL,
    maxConnections: Math.min(config.DB_POOL_MAX, 4),
    statementTimeoutMs: config.STATEMENT_TIMEOUT_MS,
    timeZone: config.TIMEZONE,
    log,
  });
  await migrate(pool, log);
  const vehicles = await new VehicleService({
    pool,
    log,
    dataDir: path.resolve(root, config.DATA_DIR),
    retentionDays: config.POSITIONS_RETENTION_DAYS,
    batchSize: config.POSITIONS_BATCH,
    spoolMemoryFixes: config.SPOOL_MEMORY_FIXES,
    spoolDiskMb: config.SPOOL_DISK_MB,
    maxSpeedKmh: config.IMPORT_MAX_SPEED_KMH,
  }).start();
  // Fences changed on the platform (NOTIFY citybase_fences): this gateway's alarm engine uses them at once.
  const listener = new ChangeListener(
    config.DATABASE_URL,
    { onChange: () => {}, onCatalogChange: () => {}, onFenceChange: () => vehicles.fencesChanged(), onListening: () => vehicles.fencesChanged(), onDeaf: () => {} },
    log,
  );
  await listener.start();
  const gateway = await startGateway(vehicles, {
    port: config.JT808_PORT,
    host: config.HOST,
    maxConnections: config.JT808_MAX_CONNECTIONS,
    heartbeatSeconds: config.JT808_HEARTBEAT_S,
    messagesPerSecond: config.JT808_MAX_MESSAGES_PER_S,
    log,
  });
  const stop = async () => {
    await gateway.close();
    await listener.stop();
    await vehicles.close();
    await pool.end();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(`the JT/T 808 gateway failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
