import fs from 'node:fs';
import { ImportError } from '../errors.ts';
import type { InputFile } from '../formats/source.ts';
import type { FixLog, RawFix } from './read.ts';
import { zonedEpoch } from './time.ts';

/**
 * Raw logs of JT/T 808 terminals (道路运输车辆卫星定位系统终端通讯协议, 2013 and 2019 headers): hex frames
 * `7e … 7e`, one or more per line, as platforms and terminal tools dump them. Location reports (0x0200) and
 * batch uploads (0x0704) become fixes; other messages (registration, heartbeats, replies) carry no position and
 * are skipped. Layouts and units from vehicle-tracking.md §2: escaping 7d02 → 7e and 7d01 → 7d, XOR checksum,
 * latitude/longitude in 1e-6 degrees with the hemisphere in status bits 2 and 3, speed in 0.1 km/h, time as BCD
 * YYMMDDhhmmss in GMT+8 wall clock (read in the configured zone, default Asia/Shanghai).
 */
export function looksLikeJt808(head: string): boolean {
  const line = head.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  return /^\s*7e[0-9a-f\s]{20,}7e\b/i.test(line);
}

export function readJt808Log(input: InputFile, opts: { timezone: string }): FixLog & { terminals: string[]; skipped: number } {
  const text = fs.readFileSync(input.path, 'latin1');
  const fixes: RawFix[] = [];
  const terminals = new Set<string>();
  let skipped = 0;
  let frameNo = 0;
  text.split(/\r?\n/).forEach((line, li) => {
    const hex = line.replace(/[^0-9a-fA-F]/g, '');
    for (const m of hex.matchAll(/7e((?:[0-9a-f]{2})+?)7e/gi)) {
      frameNo++;
      const row = li + 1;
      let frame: Frame;
      try {
        frame = parseFrame(Buffer.from(m[1]!, 'hex'));
      } catch (err) {
        fixes.push({ row, lon: NaN, lat: NaN, time: null, problem: `JT/T 808 frame ${frameNo}: ${(err as Error).message}` });
        continue;
      }
      terminals.add(frame.phone);
      const bodies = frame.id === 0x0200 ? [frame.body] : frame.id === 0x0704 ? batchItems(frame.body) : [];
      if (bodies.length === 0) skipped++;
      for (const body of bodies) fixes.push(location(body, row, opts.timezone));
    }
  });
  if (frameNo === 0) throw new ImportError(`${input.name} holds no JT/T 808 frames (7e…7e)`);
  return { format: 'jt808' as FixLog['format'], encoding: null, fixes, terminals: [...terminals], skipped };
}

interface Frame {
  id: number;
  phone: string;
  body: Buffer;
}

function parseFrame(escaped: Buffer): Frame {
  // Unescape: 7d 02 → 7e, 7d 01 → 7d.
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    const b = escaped[i]!;
    if (b === 0x7d && i + 1 < escaped.length) bytes.push(escaped[++i] === 0x02 ? 0x7e : 0x7d);
    else bytes.push(b);
  }
  const f = Buffer.from(bytes);
  if (f.length < 13) throw new Error('too short for a header');
  let xor = 0;
  for (let i = 0; i < f.length - 1; i++) xor ^= f[i]!;
  if (xor !== f[f.length - 1]) throw new Error(`checksum ${hex2(f[f.length - 1]!)} does not match the bytes (${hex2(xor)})`);
  const id = f.readUInt16BE(0);
  const attr = f.readUInt16BE(2);
  const v2019 = (attr & 0x4000) !== 0;
  const packed = (attr & 0x2000) !== 0;
  const phoneAt = v2019 ? 5 : 4;
  const phoneLen = v2019 ? 10 : 6;
  const bodyAt = phoneAt + phoneLen + 2 + (packed ? 4 : 0);
  const length = attr & 0x3ff;
  if (bodyAt + length > f.length - 1) throw new Error(`its body (${length} bytes) runs past the frame`);
  return { id, phone: f.subarray(phoneAt, phoneAt + phoneLen).toString('hex'), body: f.subarray(bodyAt, bodyAt + length) };
}

/** 0x0704: item count WORD, type BYTE, then per item a length WORD and a 0x0200 body. */
function batchItems(body: Buffer): Buffer[] {
  const items: Buffer[] = [];
  const count = body.readUInt16BE(0);
  let at = 3;
  for (let i = 0; i < count && at + 2 <= body.length; i++) {
    const len = body.readUInt16BE(at);
    items.push(body.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return items;
}

function location(b: Buffer, row: number, zone: string): RawFix {
  if (b.length < 28) return { row, lon: NaN, lat: NaN, time: null, problem: `location report of ${b.length} bytes (28 needed)` };
  const status = b.readUInt32BE(4);
  const lat = (b.readUInt32BE(8) / 1e6) * (status & 0x4 ? -1 : 1);
  const lon = (b.readUInt32BE(12) / 1e6) * (status & 0x8 ? -1 : 1);
  const bcd = [...b.subarray(22, 28)].map((x) => (x >> 4) * 10 + (x & 0x0f));
  const [yy, mo, d, h, mi, s] = bcd as [number, number, number, number, number, number];
  const valid = mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && s < 61;
  return {
    row,
    lon,
    lat,
    time: valid ? zonedEpoch(2000 + yy, mo, d, h, mi, s, 0, zone) : null,
    altitudeM: b.readInt16BE(16),
    speedKmh: b.readUInt16BE(18) / 10,
    course: b.readUInt16BE(20),
    // Status bit 1: positioned. Without it the coordinates are the last known or zero.
    problem: status & 0x2 ? undefined : 'the terminal reports no fix (JT/T 808 status bit 1 is 0)',
  };
}

const hex2 = (n: number) => `0x${n.toString(16).padStart(2, '0').toUpperCase()}`;
