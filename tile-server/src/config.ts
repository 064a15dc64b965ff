import { z } from 'zod';

/**
 * The one validated configuration object. Every setting comes from the environment with a documented default;
 * README.md's configuration table lists the same keys. Nothing else in the server reads process.env.
 */
const accessLevel = z.enum(['public', 'internal', 'restricted']);

const schema = z.object({
  /** HTTP port. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Interface to bind. */
  HOST: z.string().default('0.0.0.0'),
  /** External PostGIS; unset = the embedded cluster under var/pg. */
  DATABASE_URL: z.string().url().optional(),
  /** Directory for the embedded cluster and other state. */
  DATA_DIR: z.string().default('var'),
  /** In-memory tile cache size in MiB; 0 turns the cache off. */
  TILE_CACHE_MB: z.coerce.number().min(0).default(256),
  /** Public base URL used in TileJSON (e.g. https://gis.example.gov.cn/citybase); unset = derived per request. */
  PUBLIC_URL: z.string().url().optional(),
  /** Comma-separated allowed CORS origins, or * for any. */
  CORS_ORIGINS: z.string().default('*'),
  /** Access level of auto-published tables in schema contrib. */
  CONTRIB_ACCESS: accessLevel.default('internal'),
  /** How often the contrib schema is rescanned for new or changed tables (ms). */
  CONTRIB_POLL_MS: z.coerce.number().int().min(100).default(5000),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Cache-Control header for tiles. Default: revalidate with the ETag every time, so a change is never hidden. */
  TILE_CACHE_CONTROL: z.string().default('public, max-age=0, must-revalidate'),
  /** Per-statement time limit for tile and catalog queries (ms). */
  STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(10000),
  /** Upper bound of the connection pool; it is further capped by the server's max_connections. */
  DB_POOL_MAX: z.coerce.number().int().min(1).default(16),
  /** MVT extent and buffer (tile units). */
  TILE_EXTENT: z.coerce.number().int().min(256).max(65536).default(4096),
  TILE_BUFFER: z.coerce.number().int().min(0).max(4096).default(64),
  /** Load data-samples/ into an empty database on first start. */
  LOAD_SAMPLES: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** Directory of layer definitions. */
  LAYERS_DIR: z.string().default('layers'),
});

export type Config = Readonly<z.infer<typeof schema>> & { readonly corsOrigins: readonly string[] | '*' };

export class ConfigError extends Error {}

/** Parse and validate configuration; every problem is reported at once with its key. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const relevant = Object.fromEntries(
    Object.keys(schema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  const parsed = schema.safeParse(relevant);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const corsOrigins =
    c.CORS_ORIGINS.trim() === '*' ? ('*' as const) : c.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean);
  return Object.freeze({ ...c, corsOrigins });
}
