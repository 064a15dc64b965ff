/**
 * JT/T 808 framing (vehicle-tracking.md §2.1–2.2): `7E | header | body | checksum | 7E`, with 7E → 7D 02 and
 * 7D → 7D 01 over everything between the flags, an XOR checksum over the unescaped header and body, and two
 * header layouts told apart by bit 14 of the body attributes (0 = 2011/2013, 1 = 2019).
 */

export const FLAG = 0x7e;
const ESC = 0x7d;

/** The body length field has 10 bits. */
export const MAX_BODY = 1023;
/** Largest unescaped frame: a 2019 header with packet fields (21) + body + checksum. */
export const MAX_FRAME = 21 + MAX_BODY + 1;
/** Largest frame on the wire between the flags: every byte may be escaped. */
export const MAX_ESCAPED = MAX_FRAME * 2;

export type ProtocolYear = 2013 | 2019;

export interface Header {
  id: number;
  version: ProtocolYear;
  /** 2019 only: the protocol version byte (1 = the first 2019 revision). */
  protocolVersion: number;
  /** The phone as sent: BCD[6] (2013) or BCD[10] (2019), as hex digits. */
  phoneBcd: string;
  /** The phone without the BCD padding's leading zeros: how a terminal is known whatever header it uses. */
  phone: string;
  serial: number;
  /** Bits 10–12 of the attributes; 0 = plain. */
  encryption: number;
  /** Present when bit 13 is set: this frame is packet `index` (from 1) of `total`. */
  packet: { total: number; index: number } | null;
}

export interface Frame {
  header: Header;
  body: Buffer;
}

/** A frame that could not be read; `header` is set when the header was readable (then the terminal gets result 2). */
export class FrameError extends Error {
  constructor(
    message: string,
    readonly header: Header | null = null,
  ) {
    super(message);
  }
}

export function checksum(bytes: Buffer, from = 0, to = bytes.length): number {
  let x = 0;
  for (let i = from; i < to; i++) x ^= bytes[i]!;
  return x;
}

export function escape(raw: Buffer): Buffer {
  let extra = 0;
  for (const b of raw) if (b === FLAG || b === ESC) extra++;
  if (extra === 0) return raw;
  const out = Buffer.allocUnsafe(raw.length + extra);
  let j = 0;
  for (const b of raw) {
    if (b === FLAG) {
      out[j++] = ESC;
      out[j++] = 0x02;
    } else if (b === ESC) {
      out[j++] = ESC;
      out[j++] = 0x01;
    } else out[j++] = b;
  }
  return out;
}

/** Undo the escaping; a 7D followed by anything but 01 or 02 is a broken frame. */
export function unescape(escaped: Buffer): Buffer {
  if (!escaped.includes(ESC)) return escaped;
  const out = Buffer.allocUnsafe(escaped.length);
  let j = 0;
  for (let i = 0; i < escaped.length; i++) {
    const b = escaped[i]!;
    if (b !== ESC) {
      out[j++] = b;
      continue;
    }
    const next = escaped[++i];
    if (next === 0x02) out[j++] = FLAG;
    else if (next === 0x01) out[j++] = ESC;
    else throw new FrameError(`bad escape 7d ${next === undefined ? 'at the end' : next.toString(16).padStart(2, '0')}`);
  }
  return out.subarray(0, j);
}

export function normalisePhone(digits: string): string {
  return digits.replace(/^0+(?=.)/, '');
}

function bcdDigits(b: Buffer): string {
  const s = b.toString('hex');
  if (!/^\d*$/.test(s)) throw new FrameError(`the terminal phone ${s} is not BCD`);
  return s;
}

/** Read one frame from the bytes between two flags (still escaped). */
export function decodeFrame(escaped: Buffer): Frame {
  const f = unescape(escaped);
  if (f.length < 13) throw new FrameError(`a frame of ${f.length} bytes is too short for a header and checksum`);
  const sum = checksum(f, 0, f.length - 1);
  if (sum !== f[f.length - 1]) throw new FrameError(`checksum ${hex(f[f.length - 1]!)} does not match the bytes (${hex(sum)})`);
  const id = f.readUInt16BE(0);
  const attr = f.readUInt16BE(2);
  const version: ProtocolYear = attr & 0x4000 ? 2019 : 2013;
  const split = (attr & 0x2000) !== 0;
  const length = attr & 0x3ff;
  const phoneAt = version === 2019 ? 5 : 4;
  const phoneLen = version === 2019 ? 10 : 6;
  const serialAt = phoneAt + phoneLen;
  const bodyAt = serialAt + 2 + (split ? 4 : 0);
  if (bodyAt + 1 > f.length) throw new FrameError(`a frame of ${f.length} bytes is too short for its ${version} header`);
  const phoneBcd = bcdDigits(f.subarray(phoneAt, phoneAt + phoneLen));
  const header: Header = {
    id,
    version,
    protocolVersion: version === 2019 ? f[4]! : 0,
    phoneBcd,
    phone: normalisePhone(phoneBcd),
    serial: f.readUInt16BE(serialAt),
    encryption: (attr >> 10) & 0x7,
    packet: split ? { total: f.readUInt16BE(serialAt + 2), index: f.readUInt16BE(serialAt + 4) } : null,
  };
  const actual = f.length - 1 - bodyAt;
  if (length !== actual) throw new FrameError(`the header declares a body of ${length} bytes, the frame holds ${actual}`, header);
  if (header.packet && (header.packet.total < 1 || header.packet.index < 1 || header.packet.index > header.packet.total))
    throw new FrameError(`packet ${header.packet.index} of ${header.packet.total}`, header);
  return { header, body: f.subarray(bodyAt, bodyAt + length) };
}

export interface OutgoingHeader {
  id: number;
  version: ProtocolYear;
  protocolVersion?: number;
  /** BCD digits; padded on the left to 12 (2013) or 20 (2019). */
  phoneBcd: string;
  serial: number;
  packet?: { total: number; index: number } | null;
}

/** Build, checksum, escape and flag a frame. */
export function encodeFrame(h: OutgoingHeader, body: Buffer = Buffer.alloc(0)): Buffer {
  if (body.length > MAX_BODY) throw new RangeError(`a body of ${body.length} bytes needs subpackages`);
  const phoneLen = h.version === 2019 ? 10 : 6;
  const digits = h.phoneBcd.padStart(phoneLen * 2, '0');
  if (!/^\d+$/.test(digits) || digits.length > phoneLen * 2) throw new RangeError(`phone ${h.phoneBcd} does not fit BCD[${phoneLen}]`);
  const headLen = (h.version === 2019 ? 17 : 12) + (h.packet ? 4 : 0);
  const raw = Buffer.alloc(headLen + body.length + 1);
  raw.writeUInt16BE(h.id, 0);
  raw.writeUInt16BE(body.length | (h.version === 2019 ? 0x4000 : 0) | (h.packet ? 0x2000 : 0), 2);
  let at = 4;
  if (h.version === 2019) raw[at++] = h.protocolVersion ?? 1;
  Buffer.from(digits, 'hex').copy(raw, at);
  at += phoneLen;
  raw.writeUInt16BE(h.serial & 0xffff, at);
  at += 2;
  if (h.packet) {
    raw.writeUInt16BE(h.packet.total, at);
    raw.writeUInt16BE(h.packet.index, at + 2);
    at += 4;
  }
  body.copy(raw, at);
  raw[raw.length - 1] = checksum(raw, 0, raw.length - 1);
  return Buffer.concat([Buffer.of(FLAG), escape(raw), Buffer.of(FLAG)]);
}

/**
 * Cuts a TCP stream into frames. Every 7E both closes the bytes before it and opens the next frame, so after a
 * broken or truncated frame reading resumes at the next 7E and the stream is never dropped; bytes before the
 * first 7E are noise. A frame may not grow past MAX_ESCAPED bytes: its bytes are then dropped up to the next 7E,
 * so a peer that never sends a flag holds at most that much memory.
 */
export class Deframer {
  private parts: Buffer[] = [];
  private held = 0;
  /** Inside a frame (a 7E seen); false while skipping noise or an oversized frame. */
  private open = false;
  private oversized = false;

  constructor(
    private readonly onFrame: (escaped: Buffer) => void,
    private readonly onNoise: (why: string, bytes: number) => void,
    private readonly maxFrame = MAX_ESCAPED,
  ) {}

  /** Bytes held for an unfinished frame. */
  get buffered(): number {
    return this.held;
  }

  push(chunk: Buffer): void {
    let from = 0;
    for (;;) {
      const at = chunk.indexOf(FLAG, from);
      const end = at === -1 ? chunk.length : at;
      if (end > from) this.take(chunk.subarray(from, end));
      if (at === -1) return;
      this.flag();
      from = at + 1;
    }
  }

  private take(bytes: Buffer): void {
    if (!this.open) {
      if (!this.oversized) this.onNoise('bytes outside a frame', bytes.length);
      return;
    }
    if (this.held + bytes.length > this.maxFrame) {
      this.onNoise(`a frame longer than ${this.maxFrame} bytes`, this.held + bytes.length);
      this.parts = [];
      this.held = 0;
      this.open = false;
      this.oversized = true;
      return;
    }
    // Copy: the socket's chunk may be reused, and a small frame should not pin a large chunk.
    this.parts.push(Buffer.from(bytes));
    this.held += bytes.length;
  }

  private flag(): void {
    if (this.open && this.held > 0) {
      const frame = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.held);
      this.parts = [];
      this.held = 0;
      this.onFrame(frame);
    }
    this.open = true;
    this.oversized = false;
  }
}

const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
