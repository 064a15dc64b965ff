import { randomBytes, randomInt, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Passwords: scrypt (memory-hard; N = 2^15, r = 8, p = 1, 32 MiB), its parameters kept in the hash string so
 * they can be raised later without breaking stored hashes: `scrypt$<logN>$<r>$<p>$<salt b64>$<hash b64>`.
 */
const PARAMS = { logN: costOf(process.env.PASSWORD_SCRYPT_LOG_N), r: 8, p: 1 };

/**
 * The cost of new hashes, log2 N: 15 (32 MiB) unless PASSWORD_SCRYPT_LOG_N says otherwise (12 to 20). `npm test`
 * runs with 12 (4 MiB, 8× cheaper): the suite signs in hundreds of people and is the same code either way; a
 * deployment keeps the default or raises it, and hashes made with another cost still verify (it is in the hash).
 */
function costOf(v: string | undefined): number {
  if (v === undefined || v === '') return 15;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 12 || n > 20) throw new Error(`PASSWORD_SCRYPT_LOG_N must be a whole number from 12 to 20 (got "${v}")`);
  return n;
}
const KEY_LENGTH = 32;

/**
 * At most this many derivations run at once; the rest wait here, in JavaScript. scrypt runs on libuv's thread
 * pool (4 threads unless UV_THREADPOOL_SIZE says otherwise), which the database driver also needs: pg's SCRAM
 * sign-in to PostgreSQL hashes through WebCrypto on that pool. A burst of sign-ins queued there straight away
 * made new database connections wait behind every one of them, and requests time out waiting for the pool.
 * Half the thread pool keeps the other half for everything else.
 */
const THREADS = Number(process.env.UV_THREADPOOL_SIZE) || 4;
const MAX_RUNNING = Math.max(1, Math.floor(THREADS / 2));
let running = 0;
const waiting: Array<() => void> = [];

async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await work();
  } finally {
    // Hand the slot straight to the next in line (running stays the same), or give it back.
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

function derive(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r + 2 ** 20 };
  return limited(
    () =>
      new Promise((resolve, reject) =>
        scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))),
      ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS.logN, PARAMS.r, PARAMS.p);
  return `scrypt$${PARAMS.logN}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const expected = Buffer.from(m[5]!, 'base64');
  const key = await derive(password, Buffer.from(m[4]!, 'base64'), Number(m[1]), Number(m[2]), Number(m[3]));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash that no password matches, verified against when the login is unknown so both answers take as long. */
export const DUMMY_HASH = `scrypt$${PARAMS.logN}$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;

const CLASSES: ReadonlyArray<[string, RegExp]> = [
  ['lower-case letters', /\p{Ll}/u],
  ['upper-case letters', /\p{Lu}/u],
  ['digits', /\p{Nd}/u],
  ['other characters', /[^\p{Ll}\p{Lu}\p{Nd}]/u],
];

/**
 * The password policy (等保 身份鉴别): at least 8 characters from 3 of the 4 classes, not containing the login
 * name, not one of the last 5 passwords (checked by the caller against the history). Returns why not, or null.
 */
export function policyProblem(password: string, login: string): string | null {
  if (typeof password !== 'string' || password.length < 8) return 'the password must have at least 8 characters';
  if (password.length > 256) return 'the password must have at most 256 characters';
  const held = CLASSES.filter(([, re]) => re.test(password)).length;
  if (held < 3) return 'the password must mix 3 of: lower-case letters, upper-case letters, digits, other characters';
  if (login && password.toLowerCase().includes(login.toLowerCase())) return 'the password must not contain the login name';
  return null;
}

/** A one-time password that meets the policy: 16 characters, every class present. */
export function generatePassword(): string {
  const sets = ['abcdefghijkmnpqrstuvwxyz', 'ABCDEFGHJKLMNPQRSTUVWXYZ', '23456789', '-_.!@#%+='];
  const all = sets.join('');
  const chars = sets.map((s) => s[randomInt(s.length)]!);
  while (chars.length < 16) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
