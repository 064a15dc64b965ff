import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** TOTP (RFC 6238 over RFC 4226 HOTP): SHA-1, 6 digits, 30-second steps, as every authenticator app reads it. */
const STEP_S = 30;
const DIGITS = 6;
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function newTotpSecret(): string {
  return base32(randomBytes(20));
}

export function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function fromBase32(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of clean) {
    const i = B32.indexOf(c);
    if (i < 0) throw new Error('not base32');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

/** HOTP value of a counter (RFC 4226 §5.3: dynamic truncation). */
export function hotp(secret: Buffer, counter: number): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** DIGITS;
  return String(code).padStart(DIGITS, '0');
}

export function totp(secretB32: string, timeMs = Date.now()): string {
  return hotp(fromBase32(secretB32), Math.floor(timeMs / 1000 / STEP_S));
}

/** Accepts the code of the current step and of one step either side (clock drift), compared in constant time. */
export function verifyTotp(secretB32: string, code: unknown, timeMs = Date.now()): boolean {
  if (typeof code !== 'string' || !/^\d{6}$/.test(code)) return false;
  const step = Math.floor(timeMs / 1000 / STEP_S);
  const secret = fromBase32(secretB32);
  let ok = false;
  for (const d of [-1, 0, 1]) ok = timingSafeEqual(Buffer.from(hotp(secret, step + d)), Buffer.from(code)) || ok;
  return ok;
}

/** The otpauth:// URI an authenticator app scans. */
export function otpauthUri(secretB32: string, login: string, issuer = 'CityBase'): string {
  return `otpauth://totp/${encodeURIComponent(`${issuer}:${login}`)}?secret=${secretB32}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=${DIGITS}&period=${STEP_S}`;
}
