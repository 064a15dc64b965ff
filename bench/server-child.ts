import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The node flags `npm start` gives the server (package.json scripts.start, `node <flags> --import tsx …`), so the
 * benchmark measures the server as it is deployed, heap settings included.
 */
export function startFlags(): string[] {
  const start: string = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.start;
  const m = /^node((?: --[\w-]+(?:=\S+)?)*) --import tsx /.exec(start);
  if (!m) throw new Error(`package.json scripts.start is not "node [flags] --import tsx …": ${start}`);
  return m[1]!.split(' ').filter(Boolean).filter((f) => f !== '--import');
}

export interface ServerChild {
  pid: number;
  port: number;
  /** Each layer's prepared tile SQL, for the raw-SQL reference. */
  sql: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Stop unless this process runs with the server's node flags: the raw-SQL references run in the benchmark's own
 * process, and a reference without the heap setting the server has would be a handicapped one.
 */
export function requireStartFlags(): void {
  const missing = startFlags().filter((f) => !process.execArgv.includes(f));
  if (missing.length) throw new Error(`run the benchmark with npm start's node flags (missing ${missing.join(' ')}): use npm run bench:…`);
}

/**
 * The server under test in a child process (bench/server.ts), as in a deployment: its CPU is apart from the load
 * generator's. Resolves once it prints its BENCH_SERVER line; fails if any of `layers` is not served.
 */
export async function startServerChild(
  env: Record<string, string>,
  layers: readonly string[],
  cleanups: Array<() => unknown>,
): Promise<ServerChild> {
  // BENCH_SERVER_NODE_ARGS reach only the server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...startFlags(), ...nodeArgs, '--import', 'tsx', path.join(root, 'bench', 'server.ts')], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  cleanups.push(stop);
  const ready = await new Promise<{ port: number; sql: Record<string, string>; unavailable: Record<string, string> }>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('BENCH_SERVER ')) resolve(JSON.parse(line.slice('BENCH_SERVER '.length)));
      else process.stderr.write(`[server] ${line}\n`);
    });
    void exited.then(() => reject(new Error(`the server exited before it was ready (code ${child.exitCode})`)));
  });
  const missing = layers.filter((id) => !ready.sql[id]);
  if (missing.length) throw new Error(`layers not served: ${missing.map((id) => `${id} (${ready.unavailable[id] ?? '?'})`).join(', ')}`);
  return { pid: child.pid!, port: ready.port, sql: ready.sql, stop };
}
