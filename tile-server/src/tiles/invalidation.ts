import pg from 'pg';
import type { Logger } from 'pino';
import type { LonLatBox } from './coords.ts';

/** What a change trigger reports: the table and either the changed boxes (WGS84) or "everything". */
export interface TableChange {
  table: string;
  boxes?: LonLatBox[];
  all?: boolean;
}

export interface ChangeHandlers {
  /** A committed change in a watched table. */
  onChange(change: TableChange): void;
  /** DDL in schema contrib: the catalog should be looked at now. */
  onCatalogChange(): void;
  /** Users, sessions or keys changed: cached principals must be looked up again. */
  onIdentityChange?(): void;
  /** Vehicle fixes were stored (by this or another instance). */
  onVehicleChange?(): void;
  /** Vehicle fences were made, changed or deleted (by this or another instance). */
  onFenceChange?(): void;
  /** Connected (again): changes may have been missed while we were not listening. */
  onListening(): void;
  /** Lost the connection: from now on nothing may be served from memory. */
  onDeaf(): void;
}

/**
 * A dedicated connection that LISTENs for the change triggers' notifications. It reconnects by itself with
 * backoff; while it is down the cache is switched off, and when it is back the cache starts empty, because a
 * change made while nobody listened is never reported again.
 */
export class ChangeListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retryMs = 250;
  private syncing: Promise<boolean> | null = null;
  private nextSync: Promise<boolean> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly handlers: ChangeHandlers,
    private readonly log: Logger,
  ) {}

  get listening(): boolean {
    return this.client !== null;
  }

  /**
   * Resolves once every change committed before this call has been handled, true if so. NOTIFY reaches us a
   * moment after the commit, so a request right after a commit could otherwise be served the old tile. A round
   * trip on this connection settles it: the server sends pending notifications before the reply. The round
   * trip is an empty query (no parse, plan or executor: the cheapest message PostgreSQL answers). Requests
   * arriving together share one round trip; one that arrives while a round trip is under way waits for the
   * next, since the running one may have started before its change committed.
   */
  sync(): Promise<boolean> {
    if (!this.client) return Promise.resolve(false);
    if (!this.syncing) {
      const client = this.client;
      this.syncing = client
        .query('')
        .then(() => this.client === client)
        .catch(() => false)
        .finally(() => (this.syncing = null));
      return this.syncing;
    }
    this.nextSync ??= this.syncing.then(() => {
      this.nextSync = null;
      return this.sync();
    });
    return this.nextSync;
  }

  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.url, application_name: 'citybase-listener', connectionTimeoutMillis: 3_000 });
    client.on('notification', (msg) => this.dispatch(msg.channel, msg.payload ?? ''));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query('LISTEN citybase_tiles');
      await client.query('LISTEN citybase_catalog');
      await client.query('LISTEN citybase_identity');
      await client.query('LISTEN citybase_vehicles');
      await client.query('LISTEN citybase_fences');
    } catch (err) {
      await client.end().catch(() => {});
      this.schedule(err as Error);
      return;
    }
    this.client = client;
    this.retryMs = 250;
    this.log.info('listening for data changes');
    this.handlers.onListening();
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.client !== client) return;
    this.client = null;
    this.handlers.onDeaf();
    this.schedule(err);
  }

  private schedule(err: Error): void {
    if (this.stopped) return;
    this.log.warn({ err: err.message, retryMs: this.retryMs }, 'change listener disconnected; tile cache off until it is back');
    this.timer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
  }

  private dispatch(channel: string, payload: string): void {
    if (channel === 'citybase_catalog') return this.handlers.onCatalogChange();
    if (channel === 'citybase_identity') return this.handlers.onIdentityChange?.();
    if (channel === 'citybase_vehicles') return this.handlers.onVehicleChange?.();
    if (channel === 'citybase_fences') return this.handlers.onFenceChange?.();
    try {
      const change = JSON.parse(payload) as TableChange;
      this.handlers.onChange(change);
    } catch (err) {
      this.log.error({ err, payload }, 'unreadable change notification');
    }
  }
}
