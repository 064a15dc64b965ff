import net from 'node:net';
import type { Logger } from 'pino';
import type { VehicleService } from '../service.ts';
import { Session, type SessionLimits } from './session.ts';

export interface GatewayOptions {
  /** 0 = any free port (tests, benchmarks); the configuration's 0 means "no gateway" and never gets here. */
  port: number;
  host?: string;
  maxConnections: number;
  /** The terminals' heartbeat interval; three missed ones close the connection. */
  heartbeatSeconds: number;
  messagesPerSecond: number;
  log: Logger;
}

export interface Gateway {
  port: number;
  sessions: Set<Session>;
  stats: Map<string, number>;
  close(): Promise<void>;
}

/**
 * The JT/T 808 TCP listener. Every bound is explicit: connections (`maxConnections`, further ones are closed at
 * once), bytes held per connection (one frame of at most MAX_ESCAPED bytes, split messages up to 64 KiB, a queue
 * of 64 frames before the socket is paused), idle time (3 heartbeats) and messages per second per terminal.
 */
export async function startGateway(vehicles: VehicleService, opts: GatewayOptions): Promise<Gateway> {
  const sessions = new Set<Session>();
  const stats = new Map<string, number>();
  const count = (event: string) => {
    stats.set(event, (stats.get(event) ?? 0) + 1);
    vehicles.metrics?.gatewayEvents.inc({ event });
  };
  const limits: SessionLimits = {
    idleMs: opts.heartbeatSeconds * 3 * 1000,
    messagesPerSecond: opts.messagesPerSecond,
    maxDropped: opts.messagesPerSecond * 10,
    subpackageBytes: 64 * 1024,
    subpackageTimeoutMs: 10_000,
    queueFrames: 64,
  };
  const server = net.createServer((socket) => {
    if (sessions.size >= opts.maxConnections) {
      count('refused_max_connections');
      socket.destroy();
      return;
    }
    const session = new Session(socket, {
      log: opts.log,
      limits,
      register: (r) => vehicles.register(r),
      authenticate: (phone, code) => vehicles.authenticate(phone, code),
      location: (vehicle, header, locations, backfill) => {
        let kept = true;
        const source = `jt808:${header.phone}`;
        for (const loc of locations) if (vehicles.pipeline.ingest(vehicle, loc, { backfill, source }) === 'lost') kept = false;
        return kept;
      },
      online: (s, vehicle) => vehicles.connected(s, vehicle),
      offline: (s, vehicle) => vehicles.disconnected(s, vehicle),
      count,
    });
    sessions.add(session);
    socket.on('close', () => sessions.delete(session));
  });
  server.maxConnections = opts.maxConnections + 16; // the count above answers first; this is the kernel-side backstop
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  vehicles.gatewayRunning = true;
  opts.log.info({ port }, 'JT/T 808 gateway listening');
  return {
    port,
    sessions,
    stats,
    async close() {
      vehicles.gatewayRunning = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sessions) s.close('shutdown');
      await closed;
    },
  };
}
