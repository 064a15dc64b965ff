// Provisions and runs a private PostgreSQL + PostGIS cluster in a directory (npm start, tests).
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedCluster {
  /** postgres:// URL for 127.0.0.1:<port>, user `citybase` (superuser), password from the cluster's password file, database `citybase`. */
  readonly url: string;
  readonly dataDir: string;
  readonly port: number;
  /** The last start() found the server already running (started by someone else, who owns stopping it). */
  readonly reused: boolean;
  /** Start the server again after stop() (same port if free, else a new free port; url updates accordingly). */
  start(): Promise<void>;
  /** pg_ctl stop -m fast if this handle owns the server (started it or took it over); idempotent. */
  stop(): Promise<void>;
  /** Restart the postmaster when it dies (backoff, bounded tries, logged); see embeddedClusterStatus(). */
  supervise(intervalMs?: number): void;
  status(): ClusterStatus;
}
export interface EmbeddedOptions {
  dataDir: string; // absolute path
  log?: (msg: string) => void; // progress messages (default: nothing)
  settings?: Record<string, string>; // extra postgresql.conf settings, e.g. { max_connections: '100' }
}
export class EmbeddedClusterError extends Error {
  override name = 'EmbeddedClusterError';
}

const SUPERUSER = 'citybase';
const DATABASE = 'citybase';
const MARKER = '# ---- CityBase embedded cluster settings (rewritten on every start) ----';

interface Ctx {
  bin: string;
  /** Set when we are root: initdb refuses to run as root, so the server runs as the `postgres` OS user. */
  pgUser: { uid: number; gid: number } | null;
  log: (msg: string) => void;
  settings: Record<string, string>;
}
interface RunResult { code: number; stdout: string; stderr: string }

const tail = (s: string, lines = 15) => s.trim().split('\n').slice(-lines).join('\n');

function run(cmd: string, args: string[], opts: { asPostgres?: boolean; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  const [file, argv] = opts.asPostgres ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return new Promise((resolve) => {
    // cwd '/': the postgres user may be unable to enter the caller's cwd (e.g. /root).
    execFile(file, argv, { cwd: '/', env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = !err ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr: stderr || (err && code === -1 ? err.message : '') });
      });
  });
}

function check(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new EmbeddedClusterError(`${what} failed (exit ${r.code}):\n${tail(r.stderr || r.stdout)}`);
  return r;
}

const pgRun = (ctx: Ctx, tool: string, args: string[]) => run(path.join(ctx.bin, tool), args, { asPostgres: ctx.pgUser !== null });

async function findBinaries(): Promise<{ bin: string; share: string; major: string }> {
  const usable = (dir: string) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'));
  let bin: string | undefined;
  let share: string | undefined;
  // pg_config may belong to libpq-dev only (bindir /usr/bin without initdb), hence the fallback.
  const cfg = await run('pg_config', ['--bindir', '--sharedir']);
  const [cfgBin, cfgShare] = cfg.stdout.trim().split('\n');
  if (cfg.code === 0 && cfgBin && usable(cfgBin)) [bin, share] = [cfgBin, cfgShare];
  else {
    const root = '/usr/lib/postgresql';
    const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v) && usable(path.join(root, v, 'bin'))) : [];
    const best = versions.sort((a, b) => Number(b) - Number(a))[0];
    if (best) bin = path.join(root, best, 'bin');
  }
  if (!bin) throw new EmbeddedClusterError('PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package postgresql-15');
  const version = check(await run(path.join(bin, 'pg_ctl'), ['--version']), 'pg_ctl --version');
  const major = /\(PostgreSQL\)\s+(\d+)/.exec(version.stdout)?.[1];
  if (!major) throw new EmbeddedClusterError(`cannot parse PostgreSQL version from: ${version.stdout.trim()}`);
  return { bin, share: share || `/usr/share/postgresql/${major}`, major };
}

async function ensurePostgis(share: string, major: string, log: (m: string) => void): Promise<void> {
  const control = path.join(share, 'extension', 'postgis.control');
  if (fs.existsSync(control)) return;
  const pkg = `postgresql-${major}-postgis-3`;
  if (process.getuid?.() !== 0 || !fs.existsSync('/etc/debian_version')) throw new EmbeddedClusterError(`PostGIS is not installed: install the Debian package ${pkg}`);
  const opts = { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 15 * 60_000 };
  log(`PostGIS is not installed (${control} missing): running apt-get install -y ${pkg}`);
  let r = await run('apt-get', ['install', '-y', pkg], opts);
  if (r.code !== 0) {
    // Usually stale package lists (fresh containers have none): refresh once and retry.
    log('apt-get install failed; running apt-get update and retrying');
    check(await run('apt-get', ['update'], opts), 'apt-get update');
    r = await run('apt-get', ['install', '-y', pkg], opts);
  }
  check(r, `PostGIS is not installed and apt-get install -y ${pkg}`);
  if (!fs.existsSync(control)) throw new EmbeddedClusterError(`PostGIS is not installed: ${pkg} was installed but ${control} is still missing`);
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const r = await run('id', ['postgres']);
  const m = /uid=(\d+).*?gid=(\d+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new EmbeddedClusterError('running as root requires the `postgres` OS user (created by the Debian package postgresql-15)');
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

/** Root can create a data dir the postgres user cannot reach; say so instead of initdb's vaguer error. */
async function checkReachable(dataDir: string): Promise<void> {
  if ((await run('test', ['-x', dataDir], { asPostgres: true })).code === 0) return;
  throw new EmbeddedClusterError(`the postgres OS user cannot reach ${dataDir}: every parent directory needs o+x (chmod o+x), or put the data directory elsewhere`);
}

/** An empty data directory only the server's OS user may enter (initdb and pg_basebackup both need one). */
async function makeDataDir(ctx: Ctx, dataDir: string): Promise<void> {
  // Parents without an explicit mode: a recursive 0700 would make them untraversable for postgres.
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dataDir, 0o700);
  if (ctx.pgUser) {
    fs.chownSync(dataDir, ctx.pgUser.uid, ctx.pgUser.gid);
    await checkReachable(dataDir);
  }
}

async function initCluster(ctx: Ctx, dataDir: string, pwFile: string): Promise<void> {
  ctx.log(`initialising a new PostgreSQL cluster in ${dataDir}`);
  await makeDataDir(ctx, dataDir);
  const password = crypto.randomBytes(24).toString('base64url');
  fs.rmSync(pwFile, { force: true }); // writeFileSync's mode only applies to new files
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  const initPw = `${dataDir}.initpw`; // initdb (maybe as postgres) must read it; the password file stays ours only
  try {
    fs.writeFileSync(initPw, password, { mode: 0o600 });
    if (ctx.pgUser) fs.chownSync(initPw, ctx.pgUser.uid, ctx.pgUser.gid);
    const args = ['-D', dataDir, '-U', SUPERUSER, '--auth=scram-sha-256', `--pwfile=${initPw}`, '-E', 'UTF8'];
    let r = await pgRun(ctx, 'initdb', [...args, '--locale=C.UTF-8']);
    if (r.code !== 0) {
      ctx.log('initdb with --locale=C.UTF-8 failed; retrying with --locale=C');
      r = await pgRun(ctx, 'initdb', [...args, '--locale=C']); // initdb cleans up after itself on failure
    }
    check(r, 'initdb');
  } finally {
    fs.rmSync(initPw, { force: true });
  }
}

/** Settings live in a trailing block that is rewritten each start, so changed options take effect on restart. */
function writeConf(ctx: Ctx, dataDir: string): void {
  const conf = path.join(dataDir, 'postgresql.conf');
  const text = fs.readFileSync(conf, 'utf8');
  const i = text.indexOf(MARKER);
  const head = i >= 0 ? text.slice(0, i) : text.endsWith('\n') ? text : `${text}\n`;
  // Unix socket paths are limited to 107 bytes ("<dir>/.s.PGSQL.<port>"); TCP is all we need anyway.
  const sockets = Buffer.byteLength(dataDir) + 18 <= 107 ? dataDir : '';
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: sockets, max_connections: '100', shared_buffers: '256MB', ...ctx.settings };
  const lines = Object.entries(settings).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(k)) throw new EmbeddedClusterError(`invalid postgresql.conf setting name: ${k}`);
    return `${k} = '${v.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
  });
  fs.writeFileSync(conf, `${head}${MARKER}\n${lines.join('\n')}\n`); // existing file: owner/mode are kept
}

/** Port of the running server, or null when pg_ctl says none is running (a stale postmaster.pid counts as none). */
async function runningPort(ctx: Ctx, dataDir: string): Promise<number | null> {
  if ((await pgRun(ctx, 'pg_ctl', ['-D', dataDir, 'status'])).code !== 0) return null;
  const port = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[3]);
  if (!Number.isInteger(port) || port <= 0) throw new EmbeddedClusterError(`a server is running in ${dataDir} but its postmaster.pid has no port`);
  return port;
}

/** Resolves to the port if it can be bound on 127.0.0.1 (0 = any free port), else null. */
function probePort(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(null));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(addr && typeof addr === 'object' ? addr.port : null));
    });
  });
}

async function launch(ctx: Ctx, dataDir: string, logFile: string, preferred: number): Promise<number> {
  fs.closeSync(fs.openSync(logFile, 'a', 0o600));
  if (ctx.pgUser) fs.chownSync(logFile, ctx.pgUser.uid, ctx.pgUser.gid); // pg_ctl opens it as postgres
  for (let attempt = 1; ; attempt++) {
    const port = (attempt === 1 && preferred > 0 ? await probePort(preferred) : null) ?? (await probePort(0));
    if (!port) throw new EmbeddedClusterError('no free TCP port on 127.0.0.1');
    ctx.log(`starting PostgreSQL on 127.0.0.1:${port} (log: ${logFile})`);
    const logStart = fs.statSync(logFile).size;
    const r = await pgRun(ctx, 'pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', `-p ${port}`, 'start']);
    if (r.code === 0) return port;
    const serverLog = tail(fs.readFileSync(logFile).subarray(logStart).toString('utf8'));
    // Another process may grab the port between probing and binding: retry with a new one.
    if (attempt < 3 && /could not bind|already in use/i.test(serverLog)) continue;
    throw new EmbeddedClusterError(`pg_ctl start failed (exit ${r.code}):\n${tail(r.stderr || r.stdout)}\n--- ${logFile} ---\n${serverLog}`);
  }
}

async function connect(config: pg.ClientConfig, timeoutMs = 10_000): Promise<pg.Client> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ ...config, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => {});
      const e = err as Error & { code?: string };
      if (e.code === '28P01') throw new EmbeddedClusterError(`the password file does not match the cluster in use on port ${config.port}: ${e.message}`);
      if (Date.now() > deadline) throw new EmbeddedClusterError(`PostgreSQL on 127.0.0.1:${config.port} does not accept connections: ${e.message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Idempotent, so a crash between initdb and here is repaired on the next start. */
async function bootstrap(ctx: Ctx, port: number, password: string): Promise<void> {
  const base = { host: '127.0.0.1', port, user: SUPERUSER, password };
  const admin = await connect({ ...base, database: 'postgres' });
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!found.rowCount) {
      ctx.log(`creating database ${DATABASE} with PostGIS`);
      await admin.query(`CREATE DATABASE ${DATABASE}`).catch((e: { code?: string }) => {
        if (e.code !== '42P04') throw e; // created concurrently by another starter
      });
    }
  } finally {
    await admin.end();
  }
  const db = await connect({ ...base, database: DATABASE });
  await db.query('CREATE EXTENSION IF NOT EXISTS postgis')
    .catch((e: Error) => { throw new EmbeddedClusterError(`CREATE EXTENSION postgis failed: ${e.message}`); })
    .finally(() => db.end());
}

/** Is a process alive? (Signal 0 checks without sending; EPERM means it exists under another user.) */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The postmaster's pid from postmaster.pid, or null when there is none. */
function postmasterPid(dataDir: string): number | null {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** What the supervisor sees, for /health. */
export interface ClusterStatus {
  /** running; restarting (the postmaster died, tries with backoff); waiting (for the process that owns it); failed (gave up); stopped. */
  state: 'running' | 'restarting' | 'waiting' | 'failed' | 'stopped';
  /** This process started the server and is the one to stop and restart it. */
  owner: boolean;
  port: number;
  restarts: number;
  attempt: number;
  lastError: string | null;
}

/** The supervised cluster of this process, for /health (null with DATABASE_URL or before supervise()). */
let supervised: Cluster | null = null;

const RESTART_TRIES = 10;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15_000, 30_000];

class Cluster implements EmbeddedCluster {
  constructor(private readonly ctx: Ctx, readonly dataDir: string, private readonly logFile: string, private readonly password: string, private currentPort = 0) {}

  reused = false;
  /** This handle started the running server: only it stops it (a second process merely attached). */
  private owned = false;
  private supervisor: NodeJS.Timeout | null = null;
  private checking = false;
  private nextTry = 0;
  private readonly health: ClusterStatus = { state: 'stopped', owner: false, port: 0, restarts: 0, attempt: 0, lastError: null };

  /** The pid of the process that owns the running server, next to the data directory. */
  private get ownerFile(): string { return `${this.dataDir}.owner`; }
  get port(): number { return this.currentPort; }
  get url(): string {
    return `postgres://${SUPERUSER}:${encodeURIComponent(this.password)}@127.0.0.1:${this.currentPort}/${DATABASE}`;
  }

  status(): ClusterStatus {
    return { ...this.health, owner: this.owned, port: this.currentPort };
  }

  async start(): Promise<void> {
    const running = await runningPort(this.ctx, this.dataDir);
    this.reused = running !== null;
    if (running) {
      this.ctx.log(`reusing the PostgreSQL server already running on 127.0.0.1:${running} (it is stopped by the process that started it)`);
      this.currentPort = running;
      // Its starter is gone (killed without stopping it): the server is ours to stop and restart now.
      this.owned = !this.ownerAlive();
      if (this.owned) this.claim();
    } else {
      writeConf(this.ctx, this.dataDir);
      this.currentPort = await launch(this.ctx, this.dataDir, this.logFile, this.currentPort);
      this.owned = true;
      this.claim();
    }
    this.health.state = 'running';
    // A standby copies the primary's databases and refuses writes: wait for it to take connections, no more.
    if (fs.existsSync(path.join(this.dataDir, 'standby.signal')))
      await connect({ host: '127.0.0.1', port: this.currentPort, user: SUPERUSER, password: this.password, database: DATABASE }, 60_000).then((c) => c.end());
    else await bootstrap(this.ctx, this.currentPort, this.password);
  }

  /** Stops the server if this handle owns it (started it, or took it over); a handle that attached leaves it running. */
  async stop(): Promise<void> {
    if (this.supervisor) clearInterval(this.supervisor);
    this.supervisor = null;
    this.health.state = 'stopped';
    if (!this.owned) return;
    this.owned = false;
    try {
      if (!fs.existsSync(this.dataDir) || (await runningPort(this.ctx, this.dataDir)) === null) return;
      this.ctx.log(`stopping PostgreSQL in ${this.dataDir}`);
      const r = await pgRun(this.ctx, 'pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
      if ((await runningPort(this.ctx, this.dataDir)) !== null) check(r, 'pg_ctl stop');
    } finally {
      if (this.ownerPid() === process.pid) fs.rmSync(this.ownerFile, { force: true });
    }
  }

  /**
   * Watch the postmaster (every second: is its pid alive?) and start it again when it died (OOM killer,
   * kill -9, crash): with backoff, at most RESTART_TRIES tries, each logged, on the same port so the pool's
   * URL stays right. A process that only attached waits while the owner lives, and takes over when it is gone.
   */
  supervise(intervalMs = 1000): void {
    if (this.supervisor) return;
    supervised = this;
    this.supervisor = setInterval(() => void this.check(), intervalMs);
    this.supervisor.unref();
  }

  private async check(): Promise<void> {
    if (this.checking || !this.supervisor) return;
    this.checking = true;
    try {
      const pid = postmasterPid(this.dataDir);
      if (pid !== null && alive(pid)) {
        if (this.health.state !== 'running') this.ctx.log(`PostgreSQL is running again on 127.0.0.1:${this.currentPort}`);
        Object.assign(this.health, { state: 'running', attempt: 0 });
        return;
      }
      if (!this.owned && this.ownerAlive()) {
        this.health.state = 'waiting';
        return;
      }
      if (this.health.state === 'failed' || Date.now() < this.nextTry) return;
      const attempt = ++this.health.attempt;
      if (attempt > RESTART_TRIES) {
        this.health.state = 'failed';
        this.ctx.log(`PostgreSQL could not be restarted after ${RESTART_TRIES} tries; giving up (see ${this.logFile}): ${this.health.lastError}`);
        return;
      }
      this.health.state = 'restarting';
      this.ctx.log(`PostgreSQL in ${this.dataDir} is not running: restarting it (try ${attempt} of ${RESTART_TRIES})`);
      try {
        writeConf(this.ctx, this.dataDir);
        this.currentPort = await launch(this.ctx, this.dataDir, this.logFile, this.currentPort);
        this.owned = true;
        this.claim();
        this.health.restarts++;
        Object.assign(this.health, { state: 'running', attempt: 0, lastError: null });
        this.ctx.log(`PostgreSQL restarted on 127.0.0.1:${this.currentPort}`);
      } catch (err) {
        this.health.lastError = (err as Error).message.split('\n')[0] ?? null;
        const wait = BACKOFF_MS[Math.min(attempt - 1, BACKOFF_MS.length - 1)]!;
        this.nextTry = Date.now() + wait;
        this.ctx.log(`restarting PostgreSQL failed (try ${attempt} of ${RESTART_TRIES}, next in ${wait / 1000} s): ${this.health.lastError}`);
      }
    } finally {
      this.checking = false;
    }
  }

  private ownerPid(): number | null {
    try {
      const pid = Number(fs.readFileSync(this.ownerFile, 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  private ownerAlive(): boolean {
    const pid = this.ownerPid();
    return pid !== null && pid !== process.pid && alive(pid);
  }

  private claim(): void {
    fs.writeFileSync(this.ownerFile, `${process.pid}\n`, { mode: 0o600 });
  }
}

export function embeddedClusterStatus(): ClusterStatus | null {
  return supervised?.status() ?? null;
}

export async function startEmbeddedCluster(opts: EmbeddedOptions): Promise<EmbeddedCluster> {
  const dataDir = path.resolve(opts.dataDir);
  const log = opts.log ?? (() => {});
  const { bin, share, major } = await findBinaries();
  await ensurePostgis(share, major, log);
  const ctx: Ctx = { bin, log, settings: opts.settings ?? {}, pgUser: process.getuid?.() === 0 ? await postgresUser() : null };
  const pwFile = `${dataDir}.password`; // next to the data dir: initdb wants an empty directory
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) await initCluster(ctx, dataDir, pwFile);
  if (!fs.existsSync(pwFile)) throw new EmbeddedClusterError(`password file ${pwFile} is missing: restore it, or delete ${dataDir} to start afresh`);
  const password = fs.readFileSync(pwFile, 'utf8').trim();
  const cluster = new Cluster(ctx, dataDir, `${dataDir}.log`, password);
  await cluster.start();
  return cluster;
}

export interface EmbeddedReplicaOptions extends EmbeddedOptions {
  /** The running embedded primary to copy and follow. */
  primary: EmbeddedCluster;
}

/**
 * A streaming replica of an embedded cluster (cluster:local, tests): pg_basebackup of the primary with -R (it
 * writes standby.signal and the primary_conninfo), then started like any embedded cluster, on its own port.
 * The replica reads the primary's password from its password file; it never appears on a command line.
 */
export async function startEmbeddedReplica(opts: EmbeddedReplicaOptions): Promise<EmbeddedCluster> {
  const dataDir = path.resolve(opts.dataDir);
  const log = opts.log ?? (() => {});
  const { bin } = await findBinaries();
  const ctx: Ctx = { bin, log, settings: { hot_standby: 'on', ...opts.settings }, pgUser: process.getuid?.() === 0 ? await postgresUser() : null };
  const pwFile = `${dataDir}.password`;
  const primaryPwFile = `${path.resolve(opts.primary.dataDir)}.password`;
  const password = fs.readFileSync(primaryPwFile, 'utf8').trim();
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`copying the primary on port ${opts.primary.port} into ${dataDir} (pg_basebackup)`);
    await makeDataDir(ctx, dataDir);
    const args = ['-h', '127.0.0.1', '-p', String(opts.primary.port), '-U', SUPERUSER, '-D', dataDir, '-R', '-X', 'stream', '-c', 'fast', '-w'];
    const r = await run(path.join(bin, 'pg_basebackup'), args, { asPostgres: ctx.pgUser !== null, env: { ...process.env, PGPASSWORD: password } });
    if (r.code !== 0) fs.rmSync(dataDir, { recursive: true, force: true });
    check(r, 'pg_basebackup');
  }
  fs.rmSync(pwFile, { force: true });
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  const cluster = new Cluster(ctx, dataDir, `${dataDir}.log`, password);
  await cluster.start();
  return cluster;
}
