import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { eventually, fixturesDir, root } from '../helpers/platform.ts';

/** A free TCP port on 127.0.0.1 (bound and released: good enough for one test at a time). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

export interface ServerProcess {
  child: ChildProcess;
  base: string;
  /** Everything it printed (pino JSON lines). */
  output(): string;
  /** SIGKILL, as the OOM killer or a power cut would. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The server as deployed (`node --import tsx tile-server/src/main.ts`) in its own process, on an external database,
 * with the environment given. Resolves once it says it is up.
 */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'tile-server/src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOAD_SAMPLES: 'false',
      LAYERS_DIR: path.join(fixturesDir, 'layers'),
      LOG_LEVEL: 'info',
      JT808_PORT: '0',
      DRAIN_DELAY_S: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c));
  child.stderr!.on('data', (c: Buffer) => (out += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await eventually(async () => out.includes('CityBase is up') || child.exitCode !== null, 90_000, 100);
  if (child.exitCode !== null) throw new Error(`the server exited: ${out.slice(-2000)}`);
  return {
    child,
    base: `http://127.0.0.1:${port}`,
    output: () => out,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}
