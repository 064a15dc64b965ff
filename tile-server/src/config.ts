import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * The one validated configuration object. Every setting comes from the environment with a documented default;
 * README.md's configuration table lists the same keys. Nothing else in the server reads process.env.
 */
const accessLevel = z.enum(['public', 'internal', 'restricted']);

/** A whole number written in decimal: z.coerce would take '' as 0 and '0x1F90' as 8080. */
const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const decimal = (min: number) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'a number')
    .transform(Number)
    .pipe(z.number().min(min));

const ianaZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone, e.g. Asia/Shanghai');

const schema = z.object({
  /** HTTP port. */
  PORT: int(0, 65535).default(8080),
  /** Interface to bind. */
  HOST: z.string().default('0.0.0.0'),
  /** External PostGIS; unset = the embedded cluster under var/pg. */
  DATABASE_URL: z.string().url().optional(),
  /**
   * Streaming replicas that reads (tiles, items, identify, query, analyses) may go to: comma-separated
   * postgres:// URLs; unset = every read on DATABASE_URL. Writes and the change listener stay on the primary.
   */
  DATABASE_REPLICA_URLS: z
    .string()
    .refine((v) => v.split(',').every((u) => /^postgres(ql)?:\/\/\S+$/.test(u.trim())), 'comma-separated postgres:// URLs')
    .transform((v) => v.split(',').map((u) => u.trim()))
    .optional(),
  /** A replica further behind the primary than this (ms) leaves the read rotation until it catches up. */
  REPLICA_MAX_LAG_MS: int(10, 3_600_000).default(5000),
  /** How often each replica's replayed position and lag are looked at (ms). */
  REPLICA_POLL_MS: int(10, 60_000).default(200),
  /** Directory for the embedded cluster and other state. */
  DATA_DIR: z.string().default('var'),
  /** In-memory tile cache size in MiB; 0 turns the cache off. */
  TILE_CACHE_MB: decimal(0).default(256),
  /** Public base URL used in TileJSON (e.g. https://gis.example.gov.cn/citybase); unset = derived per request. */
  PUBLIC_URL: z.string().url().optional(),
  /** Comma-separated allowed CORS origins, or * for any. */
  CORS_ORIGINS: z.string().default('*'),
  /** Access level of auto-published tables in schema contrib. */
  CONTRIB_ACCESS: accessLevel.default('internal'),
  /** Department that owns auto-published layers (sees them when CONTRIB_ACCESS is restricted). */
  CONTRIB_OWNER: z.string().regex(/^[a-z][a-z0-9_]*$/, 'a department id').default('dsj'),
  /** How often the contrib schema is rescanned for new or changed tables (ms). */
  CONTRIB_POLL_MS: int(100, 3_600_000).default(5000),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Cache-Control header for tiles. Default: revalidate with the ETag every time, so a change is never hidden. */
  TILE_CACHE_CONTROL: z.string().default('public, max-age=0, must-revalidate'),
  /** Per-statement time limit for tile and catalog queries (ms). */
  STATEMENT_TIMEOUT_MS: int(100, 3_600_000).default(10000),
  /** This process's name among the instances serving one database (default host:pid:random); see instances/lease.ts. */
  INSTANCE_ID: z.string().regex(/^[\w.:@-]{1,100}$/, 'letters, digits and . : @ - _ only (at most 100)').optional(),
  /**
   * On SIGTERM, how long /health answers 503 "draining" while requests are still served, so that a load
   * balancer's health check takes the instance out before it stops accepting connections (0: stop at once).
   */
  DRAIN_DELAY_S: int(0, 300).default(5),
  /** How long an instance may go unseen before the others take it for dead (its import jobs are failed). */
  INSTANCE_TTL_S: int(5, 3600).default(30),
  /** Upper bound of the connection pool; it is further capped by the server's max_connections. */
  DB_POOL_MAX: int(1, 1000).default(16),
  /** MVT extent and buffer (tile units). */
  TILE_EXTENT: int(256, 65536).default(4096),
  TILE_BUFFER: int(0, 4096).default(64),
  /** Load data-samples/ into an empty database on first start. */
  LOAD_SAMPLES: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** Directory of layer definitions. */
  LAYERS_DIR: z.string().default('layers'),
  /** Largest upload POST /api/imports accepts, in MiB (413 beyond). */
  /** Heap limit of an import's thread (MiB): a file that needs more fails its job instead of taking the server's memory. */
  /** Time a client has to send a request's headers (slow-header clients are cut off; nginx's client_header_timeout). */
  HTTP_HEADERS_TIMEOUT_S: int(1, 600).default(30),
  /** Time a client has to send a whole request, body included (a 200 MB upload on a slow district link needs minutes). */
  HTTP_REQUEST_TIMEOUT_S: int(1, 86_400).default(600),
  IMPORT_HEAP_MB: int(128, 65536).default(1536),
  IMPORT_MAX_MB: decimal(0.001).default(200),
  /**
   * The city's time zone: the database sessions run in it, so a date-only `datetime=` names a local day and
   * times in feature JSON carry its offset (+08:00) rather than UTC's.
   */
  TIMEZONE: ianaZone.default('Asia/Shanghai'),
  /** Zone of vehicle fix times written without one (terminal logs are GMT+8 wall clock); unset = TIMEZONE. */
  IMPORT_TIMEZONE: ianaZone.optional(),
  /** Vehicle fixes implying more than this speed from their neighbours are dropped as jumps (km/h). */
  IMPORT_MAX_SPEED_KMH: decimal(1).default(180),
  // ---- vehicle monitoring (issue 12) ----
  /** JT/T 808 gateway TCP port; 0 = no gateway in this process. */
  JT808_PORT: int(0, 65535).default(7608),
  /** Terminal connections held at once; further ones are closed on arrival. */
  JT808_MAX_CONNECTIONS: int(1, 1_000_000).default(20000),
  /** The terminals' heartbeat interval (s); a connection silent for three of them is closed. */
  JT808_HEARTBEAT_S: int(1, 3600).default(60),
  /** Messages per second one terminal may send; more are dropped, and a sustained flood closes the connection. */
  JT808_MAX_MESSAGES_PER_S: int(1, 10000).default(20),
  /** Days of positions kept; older day partitions are dropped. */
  POSITIONS_RETENTION_DAYS: int(1, 36500).default(180),
  /** Fixes per batch write (written at least every second). */
  POSITIONS_BATCH: int(1, 1_000_000).default(5000),
  /** Spool bounds while the database is unreachable: fixes in memory, then MiB on disk under DATA_DIR/spool. */
  SPOOL_MEMORY_FIXES: int(1, 10_000_000).default(200000),
  SPOOL_DISK_MB: int(0, 1_000_000).default(512),
  /** API key of the 人防办 demo department, for the restricted sample layer; unset = one is made and printed at first start. */
  /**
   * The city's own imagery (or 天地图 tiles it mirrors) as an XYZ raster template on this server's host, e.g.
   * /imagery/{z}/{x}/{y}.jpg served by the reverse proxy: the viewer offers it as a base map. A path, never
   * another host (the viewer's pages load nothing from elsewhere).
   */
  BASEMAP_RASTER_TILES: z
    .string()
    .regex(/^\/[^\s]*\{z\}[^\s]*\{x\}[^\s]*\{y\}/, 'a path on this host with {z}, {x} and {y}, e.g. /imagery/{z}/{x}/{y}.jpg')
    .optional(),
  BASEMAP_RASTER_ATTRIBUTION: z.string().max(200).optional(),
  /** Largest case photo accepted, in MiB (413 beyond); decoded images are also limited in pixels (sharp's limitInputPixels). */
  PHOTO_MAX_MB: decimal(0.001).default(20),
  DEMO_API_KEY: z.string().regex(/^cb_[A-Za-z0-9_-]{43}$/, 'an API key as `npm run key -- create` prints it (cb_ and 43 characters)').optional(),
  /**
   * Bearer token that opens GET /metrics and the details of GET /health to a monitoring system without an API
   * key (a principal with the system:read right gets them too); unset = only such principals.
   */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /**
   * Reverse proxies whose X-Forwarded-For/-Host/-Proto/-Prefix headers are believed: comma-separated IP
   * addresses, or `loopback`; unset = none (the headers of any client are ignored).
   */
  TRUST_PROXY: z
    .string()
    .default('')
    .refine((v) => proxyList(v).every((a) => isIP(a) !== 0), 'comma-separated IP addresses or loopback'),
  /** Requests per second per client address for ordinary requests (tiles, catalog…); 0 = not limited. */
  RATE_LIMIT_RPS: decimal(0).default(0),
  /** Expensive requests (POST /query, identify, filtered items) per second per address and per key; 0 = off. */
  RATE_LIMIT_EXPENSIVE_RPS: decimal(0).default(5),
  /** Failed authentications (401) per minute per address before its requests are refused with 429; 0 = off. */
  RATE_LIMIT_AUTH_FAILURES_PER_MIN: decimal(0).default(30),
  /** Addresses never rate limited: comma-separated IPs, `loopback`, or `none`. */
  RATE_LIMIT_EXEMPT: z
    .string()
    .default('loopback')
    .refine((v) => proxyList(v).every((a) => isIP(a) !== 0), 'comma-separated IP addresses or loopback'),
  /** Connections analyses (POST /query, identify, items, analyses) may hold at once; the rest stay for tiles and health. Unset = half of DB_POOL_MAX. */
  ANALYSIS_MAX_CONNECTIONS: int(1, 1000).optional(),
  /** Cost bound of POST /query, checked before any SQL: vertices of the geometry, and its area (bounding box, buffer included). */
  QUERY_MAX_VERTICES: int(4, 10_000_000).default(20_000),
  QUERY_MAX_AREA_KM2: decimal(0.001).default(100_000),
  // --- People and sessions (identity) ---
  /** Minutes without a request after which a session ends. */
  SESSION_IDLE_MIN: int(1, 24 * 60).default(30),
  /** Hours after sign-in after which a session ends whatever its use. */
  SESSION_MAX_HOURS: int(1, 24 * 30).default(12),
  /** Failed sign-ins of one login within AUTH_LOCK_MIN that lock it for AUTH_LOCK_MIN. */
  AUTH_MAX_FAILURES: int(1, 100).default(5),
  AUTH_LOCK_MIN: int(1, 24 * 60).default(15),
  /** Failed sign-ins from one source address within AUTH_LOCK_MIN before it is refused (429). */
  AUTH_ADDR_MAX_FAILURES: int(1, 10_000).default(20),
  /** Administrators, security administrators and auditors must sign in with a TOTP second factor. */
  AUTH_TOTP_REQUIRED: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
});

const LOOPBACK = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];
function proxyList(v: string): string[] {
  if (v === '' || v === 'false' || v === 'none') return [];
  return v.split(',').map((s) => s.trim()).filter(Boolean).flatMap((a) => (a === 'loopback' ? LOOPBACK : [a]));
}

export type Config = Readonly<Omit<z.infer<typeof schema>, 'IMPORT_TIMEZONE'>> & {
  readonly IMPORT_TIMEZONE: string;
  readonly corsOrigins: readonly string[] | '*';
  /** TRUST_PROXY as addresses (IPv4 also in its IPv6-mapped form, as Node reports it on a dual-stack socket). */
  readonly trustedProxies: readonly string[];
  readonly rateLimitExempt: readonly string[];
};

export class ConfigError extends Error {}

/** Parse and validate configuration; every problem is reported at once with its key. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // A blank value means "not set" (a common slip in .env files and systemd units), not zero.
  const relevant = Object.fromEntries(
    Object.keys(schema.shape)
      .map((k) => [k, env[k]?.trim()] as const)
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = schema.safeParse(relevant);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const corsOrigins =
    c.CORS_ORIGINS.trim() === '*' ? ('*' as const) : c.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean);
  const addresses = (v: string) => proxyList(v).flatMap((a) => (isIP(a) === 4 ? [a, `::ffff:${a}`] : [a]));
  const trustedProxies = addresses(c.TRUST_PROXY);
  const rateLimitExempt = addresses(c.RATE_LIMIT_EXEMPT);
  return Object.freeze({ ...c, IMPORT_TIMEZONE: c.IMPORT_TIMEZONE ?? c.TIMEZONE, corsOrigins, trustedProxies, rateLimitExempt });
}
