import fs from 'node:fs';
import net from 'node:net';
import test from 'ava';
import { createDatabase, eventually, loadFixtures } from '../helpers/platform.ts';
import { tileOf } from '../helpers/mvt.ts';
import { startServerProcess, type ServerProcess } from './server.ts';

/**
 * Stalled clients (issue 16 §7): 300 slowloris sockets trickling their headers and 20 clients that ask for a page
 * of features and never read it. What must hold: everyone else is served meanwhile, the slow-header sockets are
 * cut off once HTTP_HEADERS_TIMEOUT_S has passed, and the server's descriptors come back to where they were.
 */
let db: Awaited<ReturnType<typeof createDatabase>>;
let server: ServerProcess;
const fds = () => fs.readdirSync(`/proc/${server.child.pid}/fd`).length;

test.before(async () => {
  db = await createDatabase();
  await loadFixtures(db.url);
  server = await startServerProcess({ DATABASE_URL: db.url, HTTP_HEADERS_TIMEOUT_S: '2' });
});
test.after.always(async () => {
  await server?.stop();
  await db?.drop();
});

test('slow-header and never-reading clients starve no one and are let go', async (t) => {
  const { port } = new URL(server.base);
  const before = fds();
  const open = (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s = net.connect(Number(port), '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    });
  const slow: net.Socket[] = [];
  let closedByServer = 0;
  for (let i = 0; i < 300; i++) {
    const s = await open();
    s.write(`GET /health HTTP/1.1\r\nHost: x\r\n`);
    s.on('close', () => closedByServer++);
    s.on('error', () => {});
    slow.push(s);
  }
  const trickle = setInterval(() => {
    for (const s of slow) if (!s.destroyed) s.write('X-Slow: 1\r\n');
  }, 500);
  const readers: net.Socket[] = [];
  for (let i = 0; i < 20; i++) {
    const s = await open();
    s.on('error', () => {});
    s.pause(); // never reads what it asked for
    s.write(`GET /collections/fx_points/items?limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n`);
    readers.push(s);
  }
  try {
    // Everyone else is served meanwhile.
    const { z, x, y } = tileOf(119.05, 33.6, 14);
    for (let i = 0; i < 20; i++) {
      t.is((await fetch(`${server.base}/health`)).status, 200);
      t.is((await fetch(`${server.base}/tiles/fx_points/${z}/${x}/${y}.mvt`)).status, 200);
    }
    // The slow-header sockets are cut off by the server, however they trickle.
    await eventually(async () => closedByServer === slow.length, 30_000, 200);
    t.pass(`${closedByServer} slow-header sockets were closed by the server`);
  } finally {
    clearInterval(trickle);
    for (const s of [...slow, ...readers]) s.destroy();
  }
  await eventually(async () => fds() <= before + 5, 30_000, 200);
  t.true(fds() <= before + 5, `descriptors: ${before} before, ${fds()} after`);
  t.is((await fetch(`${server.base}/health`)).status, 200);
});
