// Uploads leave nothing behind (issue 16 §2): a client that leaves mid-upload, and a server that crashed mid-job.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { AddressInfo } from 'node:net';
import { eventually, startTestPlatform, type TestPlatform } from './helpers/platform.ts';

let p: TestPlatform;
let key: string;
test.before(async () => {
  p = await startTestPlatform({ IMPORT_MAX_MB: '4' });
  key = (await p.platform.keys.create('dsj', 'uploads test', ['layer:read', 'layer:import'])).key;
});
test.after.always(async () => {
  await p?.close();
});

const ours = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`citybase-upload-${process.pid}-`));

test.serial('a client that aborts an upload leaves no temporary file or open descriptor', async (t) => {
  const server = p.platform.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  try {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const head = `--b\r\nContent-Disposition: form-data; name="layer"\r\n\r\naborted\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\nname,lon,lat\r\n`;
    socket.write(
      `POST /api/imports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${3 * 2 ** 20}\r\n\r\n${head}`,
    );
    socket.write('a,119,33.5\r\n'.repeat(20_000));
    await eventually(async () => ours().length === 1, 10_000, 20);
    socket.destroy();
    await eventually(async () => ours().length === 0, 10_000, 50);
    const link = (fd: string) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`, { encoding: 'utf8' });
      } catch {
        return ''; // closed meanwhile (the directory listing's own descriptor)
      }
    };
    const fds = fs.readdirSync('/proc/self/fd').map(link).filter((l) => l.includes('citybase-upload-'));
    t.deepEqual(fds, []);
  } finally {
    server.close();
  }
});

test.serial('upload directories a crashed server left (its pid is gone) are removed at the next start; live ones are kept', async (t) => {
  const dead = fs.mkdtempSync(path.join(os.tmpdir(), 'citybase-upload-2147483-'));
  fs.writeFileSync(path.join(dead, 'half.csv'), 'name,lon');
  const live = fs.mkdtempSync(path.join(os.tmpdir(), `citybase-upload-${process.ppid}-`));
  try {
    await p.platform.imports.recover();
    t.false(fs.existsSync(dead));
    t.true(fs.existsSync(live));
  } finally {
    fs.rmSync(dead, { recursive: true, force: true });
    fs.rmSync(live, { recursive: true, force: true });
  }
});
