// nginx (Debian's) serving tile files from a directory: the reference for the cached-tile throughput.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { childrenOf, freePort } from './load.ts';

export const NGINX = '/usr/sbin/nginx';

export interface Nginx {
  port: number;
  /** Worker processes (they do the serving). */
  workers(): number[];
  stop(): Promise<void>;
}

/** Start nginx in the foreground with its root at `<dir>/www`; all its files stay under dir. */
export async function startNginx(dir: string): Promise<Nginx> {
  const port = await freePort();
  const tmp = path.join(dir, 'nginx-tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${tmp}/${t};`).join('\n');
  fs.writeFileSync(
    conf,
    `daemon off;
worker_processes 2;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  types { }
  default_type application/vnd.mapbox-vector-tile;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
${temps}
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
    location / { try_files $uri =404; }
  }
}
`,
  );
  const child = spawn(NGINX, ['-c', conf, '-p', `${dir}/`, '-e', `${dir}/nginx-error.log`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited at start: ${stderr.trim() || readLog(dir)}`);
    if (await accepts(port)) break;
    if (Date.now() > deadline) throw new Error(`nginx does not accept connections on ${port}: ${readLog(dir)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    workers: () => childrenOf(child.pid!),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function readLog(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, 'nginx-error.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '(no error log)';
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}
