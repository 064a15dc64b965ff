// `npm run cluster:local`: on one machine, what deploy/ describes on several — a PostgreSQL primary, a streaming
// replica (pg_basebackup), two CityBase instances reading from the replica, and nginx in front (HTTP with the
// WebSocket upgrade, and a TCP stream for JT/T 808). For demos, and for test/cluster/*.cluster.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedCluster, startEmbeddedReplica, type EmbeddedCluster } from '../db/embedded.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const NGINX = '/usr/sbin/nginx';
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export interface LocalInstance {
  readonly name: string;
  readonly port: number;
  readonly jt808Port: number;
  readonly pid: number | undefined;
  /** Start the process (again, after a kill), and wait for its /health. */
  start(): Promise<void>;
  /** Send a signal and wait for the process to end. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** What it has printed (its pino log), for a failing test's message. */
  output(): string;
}

export interface LocalCluster {
  /** nginx: the address users and terminals are given. */
  readonly url: string;
  readonly jt808Port: number;
  readonly primary: EmbeddedCluster;
  readonly replica: EmbeddedCluster;
  readonly instances: LocalInstance[];
  stop(): Promise<void>;
}

export interface LocalClusterOptions {
  /** Everything lives here: data directories, logs, nginx's files. */
  dir: string;
  /** nginx's ports (0 = any free one). */
  httpPort?: number;
  jt808Port?: number;
  instances?: number;
  /** Environment of every instance (LAYERS_DIR, LOAD_SAMPLES, METRICS_TOKEN…), over the cluster's own. */
  env?: Record<string, string>;
  /** postgresql.conf settings of both database servers. */
  pgSettings?: Record<string, string>;
  log?: (msg: string) => void;
  /** Runs against the primary (its URL) before the instances start: migrations, vehicles, people for a test. */
  beforeInstances?: (primaryUrl: string) => Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, failed: () => string | null): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const why = failed();
    if (why) throw new Error(`${what}: ${why}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`${what}: not ready within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const healthy = async (port: number) => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200;

function instance(name: string, port: number, jt808Port: number, env: Record<string, string>, logFile: string): LocalInstance {
  let child: ChildProcess | null = null;
  let out = '';
  return {
    name,
    port,
    jt808Port,
    get pid() {
      return child?.pid;
    },
    output: () => out,
    async start() {
      const log = fs.openSync(logFile, 'a');
      child = spawn(process.execPath, ['--initial-old-space-size=128', '--import', 'tsx', path.join(root, 'tile-server/src/main.ts')], {
        cwd: root,
        env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', JT808_PORT: String(jt808Port), INSTANCE_ID: name },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (d: Buffer) => {
        out = (out + d.toString()).slice(-200_000);
        fs.writeSync(log, d);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      child.once('exit', () => fs.closeSync(log));
      const c = child;
      await waitFor(`instance ${name}`, () => healthy(port), 120_000, () => (c.exitCode !== null || c.signalCode ? `exited (${c.exitCode ?? c.signalCode}):\n${out.slice(-2000)}` : null));
    },
    async kill(signal = 'SIGTERM') {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode) return;
      const ended = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill(signal);
      await ended;
    },
  };
}

function nginxConf(dir: string, httpPort: number, jt808Port: number, instances: LocalInstance[]): string {
  const tmp = path.join(dir, 'nginx-tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${tmp}/${t};`).join('\n');
  // The same rules as deploy/nginx/citybase.conf, with this machine's ports.
  return `${fs.existsSync(STREAM_MODULE) ? `load_module ${STREAM_MODULE};\n` : ''}daemon off;
worker_processes 2;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
${temps}
  upstream citybase {
    least_conn;
${instances.map((i) => `    server 127.0.0.1:${i.port} max_fails=1 fail_timeout=5s;`).join('\n')}
    keepalive 64;
  }
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  server {
    listen 127.0.0.1:${httpPort};
    client_max_body_size 210m;
    location / {
      proxy_pass http://citybase;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Upgrade $http_upgrade;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 2s;
      proxy_read_timeout 60s;
      proxy_request_buffering off;
    }
  }
}
stream {
  upstream citybase_jt808 {
    hash $remote_addr consistent;
${instances.map((i) => `    server 127.0.0.1:${i.jt808Port} max_fails=1 fail_timeout=10s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${jt808Port};
    proxy_pass citybase_jt808;
    proxy_timeout 10m;
    proxy_connect_timeout 2s;
  }
}
`;
}

async function startNginx(dir: string, conf: string, httpPort: number): Promise<() => Promise<void>> {
  if (!fs.existsSync(NGINX)) throw new Error(`${NGINX} not found: apt-get install nginx (Debian), with libnginx-mod-stream for the JT/T 808 stream`);
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, conf);
  const child = spawn(NGINX, ['-c', file, '-p', `${dir}/`, '-e', `${dir}/nginx-error.log`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    'nginx',
    () =>
      new Promise((resolve) => {
        const s = net.connect(httpPort, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      }),
    10_000,
    () => (child.exitCode !== null ? stderr.trim() || 'exited' : null),
  );
  return async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await ended;
  };
}

/** Primary, replica, instances one after another (the first loads the samples), then nginx. */
export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const dir = path.resolve(opts.dir);
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755); // the database servers run as the postgres OS user when we are root
  const log = opts.log ?? (() => {});
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err: Error) => log(`stopping: ${err.message}`));
    stops.length = 0;
  };
  try {
    const primary = await startEmbeddedCluster({ dataDir: path.join(dir, 'primary'), log, settings: opts.pgSettings ?? {} });
    stops.push(() => primary.stop());
    const replica = await startEmbeddedReplica({ primary, dataDir: path.join(dir, 'replica'), log, settings: opts.pgSettings ?? {} });
    stops.push(() => replica.stop());
    await opts.beforeInstances?.(primary.url);
    const httpPort = opts.httpPort || (await freePort());
    const jt808Port = opts.jt808Port || (await freePort());
    const instances: LocalInstance[] = [];
    for (let i = 0; i < (opts.instances ?? 2); i++) {
      const name = String.fromCharCode(97 + i);
      const env = { DATABASE_URL: primary.url, DATABASE_REPLICA_URLS: replica.url, TRUST_PROXY: 'loopback', DRAIN_DELAY_S: '1', ...opts.env };
      instances.push(instance(name, await freePort(), await freePort(), env, path.join(dir, `instance-${name}.log`)));
    }
    for (const inst of instances) {
      log(`starting instance ${inst.name} on 127.0.0.1:${inst.port} (JT/T 808 on ${inst.jt808Port})`);
      stops.push(() => inst.kill('SIGTERM'));
      await inst.start();
    }
    stops.push(await startNginx(dir, nginxConf(dir, httpPort, jt808Port, instances), httpPort));
    return { url: `http://127.0.0.1:${httpPort}`, jt808Port, primary, replica, instances, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = path.resolve(root, process.env.DATA_DIR ?? 'var', 'cluster');
  const cluster = await startLocalCluster({
    dir,
    httpPort: Number(process.env.PORT ?? 8080),
    jt808Port: Number(process.env.JT808_PORT ?? 7608),
    env: { LAYERS_DIR: path.join(root, 'layers') },
    log: (msg) => console.log(msg),
  }).catch((err: Error) => {
    console.error(`cluster:local: ${err.message}`);
    process.exit(1);
  });
  console.log(`CityBase cluster up: ${cluster.url}/ (nginx) → instances ${cluster.instances.map((i) => `${i.name} :${i.port}`).join(', ')}`);
  console.log(`  primary 127.0.0.1:${cluster.primary.port}, replica 127.0.0.1:${cluster.replica.port}; JT/T 808 on :${cluster.jt808Port}; logs in ${dir}`);
  console.log('  Ctrl-C stops everything');
  let stopping = false;
  const quit = async () => {
    if (stopping) return;
    stopping = true;
    await cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void quit());
  process.on('SIGTERM', () => void quit());
}
