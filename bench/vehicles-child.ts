// The gateway under test for bench:vehicles, in its own process (its RSS and file descriptors are its own):
// VehicleService + JT/T 808 gateway + the live WebSocket channel on an HTTP server, as `npm start` wires them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import pg from 'pg';
import { KeyStore, keyFromRequest } from '../tile-server/src/access/keys.ts';
import { migrate } from '../tile-server/src/db/migrate.ts';
import { createQueryRunner } from '../tile-server/src/db/query.ts';
import { createLogger } from '../tile-server/src/log.ts';
import { startGateway } from '../tile-server/src/vehicles/gateway/gateway.ts';
import { VehicleService } from '../tile-server/src/vehicles/service.ts';

const log = createLogger('warn');
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 6 });
await migrate(pool, log);
const keys = new KeyStore(createQueryRunner(pool));
const vehicles = await new VehicleService({
  pool,
  log,
  dataDir: process.env.BENCH_DATA_DIR ?? os.tmpdir(),
  retentionDays: 180,
  batchSize: 5000,
  spoolMemoryFixes: 1_000_000,
  spoolDiskMb: 0,
  maxSpeedKmh: 180,
}).start();
const channel = vehicles.openChannel((req) => keys.principal(keyFromRequest(req.headers.authorization, new URL(req.url ?? '/', 'http://x').searchParams.get('key') ?? undefined)));
const server = http.createServer((_req, res) => res.end());
channel.attach(server);
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const gateway = await startGateway(vehicles, { port: 0, host: '127.0.0.1', maxConnections: 19_000, heartbeatSeconds: 600, messagesPerSecond: 10_000, log });

process.on('message', (m: { cmd: string }) => {
  void (async () => {
    if (m.cmd === 'refresh') await vehicles.refreshFleet();
    if (m.cmd === 'flush') await vehicles.writer.flush();
    process.send!({ cmd: m.cmd, written: vehicles.writer.stats.written, lost: vehicles.writer.stats.lost, rss: process.memoryUsage().rss, sessions: gateway.sessions.size, cpu: process.cpuUsage() });
  })();
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0)); // exits normally, so --cpu-prof (BENCH_CHILD_NODE_ARGS) writes its profile
process.send!({ cmd: 'ready', gatewayPort: gateway.port, httpPort: (server.address() as AddressInfo).port });
