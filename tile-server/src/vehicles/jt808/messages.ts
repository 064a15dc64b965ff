import iconv from 'iconv-lite';
import type { ProtocolYear } from './frame.ts';

/**
 * Bodies of the JT/T 808 messages the gateway handles (vehicle-tracking.md §2.3–2.4). Decoders throw BodyError
 * for a body that does not have the message's layout; the terminal then gets 0x8001 result 2.
 */
export const MSG = {
  terminalReply: 0x0001,
  heartbeat: 0x0002,
  logout: 0x0003,
  register: 0x0100,
  authenticate: 0x0102,
  location: 0x0200,
  batch: 0x0704,
  platformReply: 0x8001,
  resend: 0x8003,
  registerReply: 0x8100,
} as const;

/** 0x8001 results. */
export const RESULT = { ok: 0, failure: 1, badMessage: 2, unsupported: 3, alarmConfirmed: 4 } as const;
/** 0x8100 results. */
export const REGISTER_RESULT = { ok: 0, vehicleTaken: 1, unknownVehicle: 2, terminalTaken: 3, unknownTerminal: 4 } as const;

export class BodyError extends Error {}

function need(b: Buffer, n: number, what: string): void {
  if (b.length < n) throw new BodyError(`${what}: ${b.length} bytes, ${n} needed`);
}

/** GBK text with NUL padding (and stray spaces) removed. */
export function gbk(b: Buffer): string {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0 || b[end - 1] === 0x20)) end--;
  let start = 0;
  while (start < end && b[start] === 0) start++;
  return iconv.decode(b.subarray(start, end), 'gb18030');
}

export function toGbk(s: string): Buffer {
  return iconv.encode(s, 'gb18030');
}

// ---- 0x0100 register ----

export interface Register {
  province: number;
  city: number;
  maker: string;
  model: string;
  terminalId: string;
  plateColor: number;
  plate: string;
}

/** Field widths of maker / model / terminal id: 2011 = 5/8/7, 2013 = 5/20/7, 2019 = 11/30/30. */
export function decodeRegister(b: Buffer, version: ProtocolYear): Register {
  const widths = version === 2019 ? [11, 30, 30] : b.length >= 37 ? [5, 20, 7] : [5, 8, 7];
  const [wMaker, wModel, wId] = widths as [number, number, number];
  const fixed = 4 + wMaker + wModel + wId + 1;
  need(b, fixed, 'register (0x0100)');
  let at = 4;
  const field = (w: number) => gbk(b.subarray(at, (at += w)));
  return {
    province: b.readUInt16BE(0),
    city: b.readUInt16BE(2),
    maker: field(wMaker),
    model: field(wModel),
    terminalId: field(wId),
    plateColor: b[at]!,
    plate: gbk(b.subarray(at + 1)),
  };
}

export function encodeRegister(r: Register, version: ProtocolYear): Buffer {
  const widths = version === 2019 ? [11, 30, 30] : [5, 20, 7];
  const fixedField = (s: string, w: number) => {
    const out = Buffer.alloc(w);
    toGbk(s).copy(out, 0, 0, w);
    return out;
  };
  const head = Buffer.alloc(4);
  head.writeUInt16BE(r.province, 0);
  head.writeUInt16BE(r.city, 2);
  return Buffer.concat([
    head,
    fixedField(r.maker, widths[0]!),
    fixedField(r.model, widths[1]!),
    fixedField(r.terminalId, widths[2]!),
    Buffer.of(r.plateColor),
    toGbk(r.plate),
  ]);
}

// ---- 0x0102 authenticate ----

export interface Authenticate {
  code: string;
  imei: string | null;
  softwareVersion: string | null;
}

/** 2013: the code fills the body. 2019: code length BYTE, code, IMEI BYTE[15], software version BYTE[20]. */
export function decodeAuthenticate(b: Buffer, version: ProtocolYear): Authenticate {
  if (version === 2013) {
    if (b.length === 0) throw new BodyError('authenticate (0x0102): no code');
    return { code: gbk(b), imei: null, softwareVersion: null };
  }
  need(b, 1, 'authenticate (0x0102)');
  const n = b[0]!;
  need(b, 1 + n + 15 + 20, 'authenticate (0x0102, 2019)');
  return { code: gbk(b.subarray(1, 1 + n)), imei: gbk(b.subarray(1 + n, 16 + n)), softwareVersion: gbk(b.subarray(16 + n, 36 + n)) };
}

export function encodeAuthenticate(a: { code: string; imei?: string; softwareVersion?: string }, version: ProtocolYear): Buffer {
  const code = toGbk(a.code);
  if (version === 2013) return code;
  const imei = Buffer.alloc(15);
  toGbk(a.imei ?? '').copy(imei);
  const sw = Buffer.alloc(20);
  toGbk(a.softwareVersion ?? '').copy(sw);
  return Buffer.concat([Buffer.of(code.length), code, imei, sw]);
}

// ---- 0x0200 location ----

export interface Location {
  alarm: number;
  status: number;
  lat: number;
  lon: number;
  altitudeM: number;
  speedKmh: number;
  course: number;
  /** Epoch ms; the terminal sends GMT+8 wall clock (§2.3). */
  time: number;
  /** Known additional items, decoded. */
  mileageKm?: number;
  fuelL?: number;
  recorderSpeedKmh?: number;
  alarmEventId?: number;
  overspeed?: { areaType: number; areaId: number | null };
  areaAlarm?: { areaType: number; areaId: number; direction: 'in' | 'out' };
  sectionTime?: { sectionId: number; seconds: number; result: 'short' | 'long' };
  vehicleSignal?: number;
  ioStatus?: number;
  analog?: number;
  signal?: number;
  satellites?: number;
  /** Every other item, kept as sent: item id (hex) → value (hex). */
  raw: Record<string, string>;
}

const GMT8_MS = 8 * 3600_000;

function bcdTime(b: Buffer): number {
  const d: number[] = [];
  for (const x of b) {
    if (x >> 4 > 9 || (x & 0xf) > 9) throw new BodyError(`time ${b.toString('hex')} is not BCD`);
    d.push((x >> 4) * 10 + (x & 0xf));
  }
  const [yy, mo, dd, h, mi, s] = d as [number, number, number, number, number, number];
  const t = Date.UTC(2000 + yy, mo - 1, dd, h, mi, s);
  const back = new Date(t);
  if (mo < 1 || mo > 12 || back.getUTCDate() !== dd || h > 23 || mi > 59 || s > 59)
    throw new BodyError(`time ${b.toString('hex')} is not a date`);
  return t - GMT8_MS;
}

export function timeToBcd(epochMs: number): Buffer {
  const d = new Date(epochMs + GMT8_MS);
  const parts = [d.getUTCFullYear() % 100, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  return Buffer.from(parts.map((n) => ((Math.floor(n / 10) << 4) | n % 10)));
}

export function decodeLocation(b: Buffer): Location {
  need(b, 28, 'location (0x0200)');
  const status = b.readUInt32BE(4);
  const loc: Location = {
    alarm: b.readUInt32BE(0),
    status,
    lat: (b.readUInt32BE(8) / 1e6) * (status & 0x4 ? -1 : 1),
    lon: (b.readUInt32BE(12) / 1e6) * (status & 0x8 ? -1 : 1),
    altitudeM: b.readInt16BE(16),
    speedKmh: b.readUInt16BE(18) / 10,
    course: b.readUInt16BE(20),
    time: bcdTime(b.subarray(22, 28)),
    raw: {},
  };
  let at = 28;
  while (at < b.length) {
    if (at + 2 > b.length) throw new BodyError(`location (0x0200): an additional item is cut off at byte ${at}`);
    const id = b[at]!;
    const len = b[at + 1]!;
    const v = b.subarray(at + 2, at + 2 + len);
    if (v.length !== len) throw new BodyError(`location (0x0200): item 0x${id.toString(16)} declares ${len} bytes, ${v.length} left`);
    at += 2 + len;
    if (!readItem(loc, id, v)) loc.raw[id.toString(16).padStart(2, '0')] = v.toString('hex');
  }
  return loc;
}

/** Known items of the length the standard gives; anything else is kept raw. */
function readItem(loc: Location, id: number, v: Buffer): boolean {
  const n = v.length;
  switch (id) {
    case 0x01:
      if (n !== 4) return false;
      loc.mileageKm = v.readUInt32BE(0) / 10;
      return true;
    case 0x02:
      if (n !== 2) return false;
      loc.fuelL = v.readUInt16BE(0) / 10;
      return true;
    case 0x03:
      if (n !== 2) return false;
      loc.recorderSpeedKmh = v.readUInt16BE(0) / 10;
      return true;
    case 0x04:
      if (n !== 2) return false;
      loc.alarmEventId = v.readUInt16BE(0);
      return true;
    case 0x11:
      if (n === 1 && v[0] === 0) loc.overspeed = { areaType: 0, areaId: null };
      else if (n === 5) loc.overspeed = { areaType: v[0]!, areaId: v.readUInt32BE(1) };
      else return false;
      return true;
    case 0x12:
      if (n !== 6) return false;
      loc.areaAlarm = { areaType: v[0]!, areaId: v.readUInt32BE(1), direction: v[5] ? 'out' : 'in' };
      return true;
    case 0x13:
      if (n !== 7) return false;
      loc.sectionTime = { sectionId: v.readUInt32BE(0), seconds: v.readUInt16BE(4), result: v[6] ? 'long' : 'short' };
      return true;
    case 0x25:
      if (n !== 4) return false;
      loc.vehicleSignal = v.readUInt32BE(0);
      return true;
    case 0x2a:
      if (n !== 2) return false;
      loc.ioStatus = v.readUInt16BE(0);
      return true;
    case 0x2b:
      if (n !== 4) return false;
      loc.analog = v.readUInt32BE(0);
      return true;
    case 0x30:
      if (n !== 1) return false;
      loc.signal = v[0]!;
      return true;
    case 0x31:
      if (n !== 1) return false;
      loc.satellites = v[0]!;
      return true;
    default:
      return false;
  }
}

export interface LocationInput {
  alarm?: number;
  status?: number;
  lat: number;
  lon: number;
  altitudeM?: number;
  speedKmh?: number;
  course?: number;
  time: number;
  mileageKm?: number;
  satellites?: number;
  /** Extra items as sent: [id, value]. */
  items?: Array<[number, Buffer]>;
}

/** A 0x0200 body (the simulator's and the tests' terminals). Position fix bit and hemispheres set from the values. */
export function encodeLocation(l: LocationInput): Buffer {
  const b = Buffer.alloc(28);
  let status = (l.status ?? 0x3) & ~0xc;
  if (l.lat < 0) status |= 0x4;
  if (l.lon < 0) status |= 0x8;
  b.writeUInt32BE(l.alarm ?? 0, 0);
  b.writeUInt32BE(status >>> 0, 4);
  b.writeUInt32BE(Math.round(Math.abs(l.lat) * 1e6), 8);
  b.writeUInt32BE(Math.round(Math.abs(l.lon) * 1e6), 12);
  b.writeInt16BE(Math.round(l.altitudeM ?? 0), 16);
  b.writeUInt16BE(Math.round((l.speedKmh ?? 0) * 10), 18);
  b.writeUInt16BE(Math.round(l.course ?? 0), 20);
  timeToBcd(l.time).copy(b, 22);
  const items: Buffer[] = [b];
  const item = (id: number, v: Buffer) => items.push(Buffer.of(id, v.length), v);
  if (l.mileageKm !== undefined) {
    const v = Buffer.alloc(4);
    v.writeUInt32BE(Math.round(l.mileageKm * 10));
    item(0x01, v);
  }
  if (l.satellites !== undefined) item(0x31, Buffer.of(l.satellites));
  for (const [id, v] of l.items ?? []) item(id, v);
  return Buffer.concat(items);
}

// ---- 0x0704 batch ----

export interface Batch {
  /** 0 = normal batch, 1 = blind-area backfill (补报): late fixes that must not raise live alarms. */
  type: number;
  items: Location[];
}

export function decodeBatch(b: Buffer): Batch {
  need(b, 3, 'batch (0x0704)');
  const count = b.readUInt16BE(0);
  const type = b[2]!;
  const items: Location[] = [];
  let at = 3;
  for (let i = 0; i < count; i++) {
    if (at + 2 > b.length) throw new BodyError(`batch (0x0704): ${count} items declared, ${i} present`);
    const len = b.readUInt16BE(at);
    if (at + 2 + len > b.length) throw new BodyError(`batch (0x0704): item ${i + 1} declares ${len} bytes, ${b.length - at - 2} left`);
    items.push(decodeLocation(b.subarray(at + 2, at + 2 + len)));
    at += 2 + len;
  }
  if (at !== b.length) throw new BodyError(`batch (0x0704): ${b.length - at} bytes after the ${count} items`);
  return { type, items };
}

export function encodeBatch(type: number, bodies: Buffer[]): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt16BE(bodies.length, 0);
  head[2] = type;
  const parts: Buffer[] = [head];
  for (const body of bodies) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(body.length);
    parts.push(len, body);
  }
  return Buffer.concat(parts);
}

// ---- replies ----

export interface GeneralReply {
  serial: number;
  id: number;
  result: number;
}

/** 0x8001 (platform) and 0x0001 (terminal) share the layout. */
export function decodeGeneralReply(b: Buffer): GeneralReply {
  if (b.length !== 5) throw new BodyError(`general reply: ${b.length} bytes, 5 expected`);
  return { serial: b.readUInt16BE(0), id: b.readUInt16BE(2), result: b[4]! };
}

export function encodeGeneralReply(r: GeneralReply): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt16BE(r.serial & 0xffff, 0);
  b.writeUInt16BE(r.id, 2);
  b[4] = r.result;
  return b;
}

export function encodeRegisterReply(serial: number, result: number, authCode?: string): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt16BE(serial & 0xffff, 0);
  head[2] = result;
  return result === REGISTER_RESULT.ok && authCode !== undefined ? Buffer.concat([head, toGbk(authCode)]) : head;
}

export function decodeRegisterReply(b: Buffer): { serial: number; result: number; authCode: string | null } {
  need(b, 3, 'register reply (0x8100)');
  return { serial: b.readUInt16BE(0), result: b[2]!, authCode: b[2] === 0 ? gbk(b.subarray(3)) : null };
}

/** 0x8003: re-send the listed packets of the message whose first packet had `serial` (count BYTE 2013, WORD 2019). */
export function encodeResendRequest(serial: number, packets: number[], version: ProtocolYear): Buffer {
  const countLen = version === 2019 ? 2 : 1;
  const b = Buffer.alloc(2 + countLen + packets.length * 2);
  b.writeUInt16BE(serial & 0xffff, 0);
  if (countLen === 2) b.writeUInt16BE(packets.length, 2);
  else b[2] = packets.length;
  packets.forEach((p, i) => b.writeUInt16BE(p, 2 + countLen + i * 2));
  return b;
}
