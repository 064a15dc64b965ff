// Load generation and process accounting for the tile benchmark.
import fs from 'node:fs';
import net from 'node:net';

export interface Tile {
  layer: string;
  z: number;
  x: number;
  y: number;
  /** URL path, the same on the tile server and on nginx. */
  path: string;
}

/** mulberry32: a small seeded PRNG, so every run asks for the same tiles. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const lon2x = (lon: number, z: number) => ((lon + 180) / 360) * 2 ** z;
const lat2y = (lat: number, z: number) => {
  const r = (lat * Math.PI) / 180;
  return ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 2 ** z;
};

/** `count` distinct tiles per zoom whose centres lie in the box, shuffled, alternating between the layers. */
export function tileList(bbox: readonly number[], counts: Record<number, number>, layers: readonly string[], seed: number): Tile[] {
  const rnd = mulberry32(seed);
  const [w, s, e, n] = bbox as [number, number, number, number];
  const picked: Array<[number, number, number]> = [];
  for (const [zs, count] of Object.entries(counts)) {
    const z = Number(zs);
    const [x0, x1, y0, y1] = [lon2x(w, z), lon2x(e, z), lat2y(n, z), lat2y(s, z)];
    const seen = new Set<string>();
    while (seen.size < count) {
      // Centres x+0.5 in [x0, x1): x in [x0-0.5, x1-0.5).
      const x = Math.floor(x0 - 0.5 + rnd() * (x1 - x0));
      const y = Math.floor(y0 - 0.5 + rnd() * (y1 - y0));
      if (x + 0.5 < x0 || x + 0.5 >= x1 || y + 0.5 < y0 || y + 0.5 >= y1 || seen.has(`${x}/${y}`)) continue;
      seen.add(`${x}/${y}`);
      picked.push([z, x, y]);
    }
  }
  for (let i = picked.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [picked[i], picked[j]] = [picked[j]!, picked[i]!];
  }
  return picked.map(([z, x, y], i) => {
    const layer = layers[i % layers.length]!;
    return { layer, z, x, y, path: `/tiles/${layer}/${z}/${x}/${y}.mvt` };
  });
}

/** Run fn over the list once at the given concurrency (the warm-up pass); errors propagate. */
export async function onePass(list: readonly Tile[], concurrency: number, fn: (t: Tile, i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const i = next++;
      await fn(list[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export interface Timing {
  count: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
  bytes: number;
}

/**
 * Cycle through the list at the given concurrency for at least `seconds`, stopping at the end of a whole pass,
 * so every measurement sees the same mix of tiles (their costs differ a hundredfold). fn returns the bytes received.
 */
export async function timedPasses(
  list: readonly Tile[],
  concurrency: number,
  seconds: number,
  fn: (t: Tile) => Promise<number>,
): Promise<Timing> {
  const latencies: number[] = [];
  let next = 0;
  let bytes = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const passDone = () => next > 0 && next % list.length === 0;
  const worker = async () => {
    while (!(passDone() && performance.now() >= deadline)) {
      const t = list[next++ % list.length]!;
      const t0 = performance.now();
      const n = await fn(t); // not `bytes += await …`: that reads bytes before the await
      bytes += n;
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { count: latencies.length, seconds: elapsed, rate: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99), bytes };
}

/** VmRSS of a process in MB (0 when it is gone). */
export function rssMB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Fields of /proc/<pid>/stat after the command name (index 0 = state), or null when the process is gone. */
function stat(pid: number): string[] | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime of a process in seconds (USER_HZ = 100 on Linux); with `reaped`, also its waited-for children's. */
export function cpuSeconds(pid: number, reaped = false): number {
  const f = stat(pid);
  if (!f) return 0;
  return (Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0)) / 100;
}

/** Parent pid (e.g. the postmaster of a backend), or null when the process is not on this machine. */
export function parentOf(pid: number): number | null {
  const f = stat(pid);
  return f ? Number(f[1]) : null;
}

/** CPU seconds of a process tree one level deep: the parent, its live children and its exited children. */
export function treeCpuSeconds(ppid: number): number {
  return cpuSeconds(ppid, true) + childrenOf(ppid).reduce((a, p) => a + cpuSeconds(p), 0);
}

/** Busy CPU seconds of the whole machine, summed over all cores. */
export function machineBusySeconds(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return (f.slice(0, 8).reduce((a, b) => a + b, 0) - idle) / 100;
}

/** Child processes of a pid (nginx workers). */
export function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    if (Number(stat(Number(d))?.[1]) === ppid) out.push(Number(d));
  }
  return out;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}
