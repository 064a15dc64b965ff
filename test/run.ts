// `npm test` entry: provides a database (DATABASE_URL, or a throwaway embedded PostGIS cluster) and runs ava.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedCluster, type EmbeddedCluster } from '../tile-server/src/db/embedded.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const signals = os.constants.signals as Record<string, number>;
let tmp: string | undefined;
let cluster: EmbeddedCluster | undefined;
let child: ChildProcess | undefined;
let signalled: number | undefined;
let finishing = false;

async function finish(code: number): Promise<void> {
  if (finishing) return;
  finishing = true;
  try {
    await cluster?.stop();
  } catch (err) {
    console.error(`[test-db] ${err instanceof Error ? err.message : String(err)}`);
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(code);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    signalled ??= 128 + (signals[sig] ?? 0);
    // ava's exit then runs finish(); while the cluster is still starting, main() finishes once it is up.
    if (child) child.kill(sig);
    else if (!tmp) void finish(signalled);
  });
}

async function main(): Promise<void> {
  let url = process.env.DATABASE_URL;
  if (!url) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-test-'));
    fs.chmodSync(tmp, 0o755); // as root the server runs as the postgres OS user, which must traverse it
    cluster = await startEmbeddedCluster({
      dataDir: path.join(tmp, 'pg'),
      log: (msg) => console.error(`[test-db] ${msg}`),
      // Durability is pointless for a throwaway cluster.
      settings: { max_connections: '200', fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
    url = cluster.url;
  }
  if (signalled !== undefined) return finish(signalled);
  child = spawn(path.join(root, 'node_modules', '.bin', 'ava'), process.argv.slice(2), {
    cwd: root,
    stdio: 'inherit',
    // Password hashes at 4 MiB instead of 32 (auth/password.ts): the same scrypt, and the suite stays under 15 min.
    env: { PASSWORD_SCRYPT_LOG_N: '12', ...process.env, TEST_DATABASE_URL: url },
  });
  child.on('error', (err) => {
    console.error(`cannot run ava: ${err.message}`);
    void finish(1);
  });
  child.on('exit', (code, sig) => void finish(code ?? 128 + (sig ? (signals[sig] ?? 0) : 1)));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  return finish(1);
});
