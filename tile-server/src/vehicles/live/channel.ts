import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Principal } from '../../access/access.ts';
import { HttpError } from '../../errors.ts';
import type { FleetState, LiveVehicle } from './fleet-state.ts';
import { canWatch, visibleTo } from './access.ts';

export const LIVE_PATH = '/api/vehicles/live';

/**
 * Alarms and other events pushed beside positions: `{ kind: "alarm", alarm, repeated }` (about a vehicle) and
 * `{ kind: "fence", op: "saved", fence }` / `{ kind: "fence", op: "deleted", id }` (to every desk of the department,
 * as the fence list; VehicleService.readFences).
 */
export interface LiveEvent {
  /** Sent only to desks of this department. */
  department: string;
  /** The vehicle it is about: sent only to desks that see that vehicle (department and scope). */
  vehicleId?: string;
  [key: string]: unknown;
}

interface Client {
  ws: WebSocket;
  principal: Principal;
  sees: (v: LiveVehicle) => boolean;
  /** Changes were skipped while it lagged: it gets a whole snapshot once it has caught up. */
  stale: boolean;
}

/**
 * The desk's push channel (WebSocket at /api/vehicles/live). On connect: `{ type: "snapshot", vehicles }`, the
 * whole fleet the principal may watch; then at most once per `intervalMs` `{ type: "changes", vehicles, events }`
 * with what changed since the last push. A client that reconnects gets a fresh snapshot: that is the resync.
 * Access: the `vehicle:watch` right, then the vehicles of the principal's department within its scopes
 * (live/access.ts), for positions and for events about a vehicle alike.
 */
export class LiveChannel {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  private readonly clients = new Set<Client>();
  private readonly timer: NodeJS.Timeout;
  private events: LiveEvent[] = [];

  constructor(
    private readonly live: FleetState,
    private readonly principalOf: (req: http.IncomingMessage) => Promise<Principal>,
    private readonly opts: { intervalMs?: number; allowedOrigins?: readonly string[] | '*' } = {},
  ) {
    this.timer = setInterval(() => this.push(), opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Take WebSocket upgrades of LIVE_PATH on an HTTP server (other paths are left to other listeners). */
  attach(server: http.Server): void {
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== LIVE_PATH) return;
      void this.upgrade(req, socket, head);
    });
  }

  /** An event for the next push (to the clients of its department). */
  publish(event: LiveEvent): void {
    this.events.push(event);
  }

  close(): void {
    clearInterval(this.timer);
    // 1012 "service restart": the desk reconnects (through the load balancer, to another instance) at once.
    for (const c of this.clients) c.ws.close(1012, 'server restarting: reconnect');
    this.wss.close();
  }

  private async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    try {
      // A browser page of another site may not open the channel with the operator's credentials.
      const origin = req.headers.origin;
      if (origin && new URL(origin).host !== req.headers.host && !(Array.isArray(this.opts.allowedOrigins) && this.opts.allowedOrigins.includes(origin)))
        throw new HttpError(403, 'forbidden_origin', `pages of ${origin} may not open the live channel`);
      const principal = await this.principalOf(req);
      if (!canWatch(principal)) {
        if (principal.kind === 'anonymous') throw new HttpError(401, 'unauthenticated', 'sign in or give an API key: the live channel needs the right vehicle:watch');
        throw new HttpError(403, 'forbidden', 'this key lacks the right vehicle:watch');
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.join(ws, principal));
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(500, 'internal', 'the live channel could not be opened');
      const body = JSON.stringify({ error: e.code, message: e.message });
      socket.end(
        `HTTP/1.1 ${e.status} ${e.status === 401 ? 'Unauthorized' : e.status === 403 ? 'Forbidden' : e.status === 400 ? 'Bad Request' : 'Internal Server Error'}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
  }

  private join(ws: WebSocket, principal: Principal): void {
    const client: Client = { ws, principal, sees: visibleTo(principal), stale: false };
    this.clients.add(client);
    ws.on('close', () => this.clients.delete(client));
    ws.on('error', () => ws.terminate());
    // The desk only listens; anything it sends is ignored (maxPayload bounds it).
    this.snapshot(client);
  }

  private sees(c: Client, vehicleId: string): boolean {
    const v = this.live.get(vehicleId);
    return v !== undefined && c.sees(v);
  }

  private snapshot(c: Client): void {
    const vehicles = [...this.live.all()].filter(c.sees).map(wire);
    c.ws.send(JSON.stringify({ type: 'snapshot', at: Date.now(), vehicles }));
    c.stale = false;
  }

  private push(): void {
    const changes = this.live.takeChanges();
    const events = this.events;
    this.events = [];
    const at = Date.now();
    for (const c of this.clients) {
      if (c.stale && c.ws.bufferedAmount < 1024 * 1024) this.snapshot(c);
      const vehicles = changes.filter(c.sees).map(wire);
      const mine = events.filter((e) => e.department === c.principal.department && (e.vehicleId === undefined || this.sees(c, e.vehicleId)));
      if (vehicles.length === 0 && mine.length === 0) continue;
      // A desk that cannot keep up (a slow link) is skipped rather than buffered without bound, then resynced.
      if (c.ws.bufferedAmount > 8 * 1024 * 1024) {
        c.stale = true;
        continue;
      }
      c.ws.send(JSON.stringify({ type: 'changes', at, vehicles, events: mine }));
    }
  }
}

/** A vehicle as the desk receives it. */
function wire(v: LiveVehicle) {
  return {
    id: v.id,
    plate: v.plate,
    type: v.type,
    company: v.company,
    district: v.district,
    group: v.group,
    status: v.status,
    lon: v.lon,
    lat: v.lat,
    speedKmh: v.speedKmh,
    course: v.course,
    time: v.time,
    alarm: v.alarm,
  };
}
