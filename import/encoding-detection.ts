import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import type { Encoding } from './encoding.ts';

/**
 * Which encoding a handful of short texts (DBF values and field names, ZIP entry names) are in, decided from their
 * content. Used when the file declares nothing or declares only "the writer's Windows code page" (DBF language
 * driver 0x57 or 0x00, a ZIP name without the UTF-8 flag): on a Chinese office PC that code page is GBK, and GBK
 * bytes happen to be valid Windows-1252 too, so validity alone decides nothing (吴家窑大街 reads as Îâ¼ÒÒ¤´ó½Ö).
 *
 * Each candidate decoding that is valid for every text is scored by the share of the non-ASCII bytes it turns into
 * plausible text:
 *   - UTF-8: every multi-byte sequence valid (GBK or Latin-1 text is rarely valid UTF-8), and what it decodes to
 *     is Chinese, a Latin letter or a common sign (a short GBK text may be valid UTF-8 for other scripts);
 *   - GBK: pairs in GB2312's level-1 block (the 3,755 common characters) and Chinese punctuation count fully,
 *     level-2 characters half, the rare GBK extensions not at all;
 *   - Big5: its level-1 block and punctuation fully, level 2 half;
 *   - a single-byte Western code page (Windows-1252, cp437, cp850): an accented letter or a unit sign standing
 *     alone between ASCII characters (café, Zürich, 25°) counts; runs of high bytes (Îâ¼ÒÒ¤) do not.
 * The best score wins (ties in the order UTF-8, the declared one, GBK, Big5, the Western one); a winner that is
 * weak (under 60%) or less than 30 points ahead of a reading as another kind of writing is marked `close`, and
 * callers warn with decoded samples.
 */
export interface Detection {
  encoding: Encoding;
  /** Why, for the summary: e.g. "content: gbk 100%, windows-1252 0%, utf-8 invalid". */
  evidence: string;
  /** The choice was weak or not clearly ahead: say so with samples. */
  close: boolean;
  /** The first non-ASCII texts decoded by the winner and by the runner-up, for a warning. */
  samples: string;
  /** Nothing but ASCII: any ASCII-compatible encoding reads it the same. */
  ascii: boolean;
}

const WESTERN = new Set(['windows-1252', 'cp437', 'cp850', 'latin1', 'iso-8859-1', 'iso-8859-15']);

export function isWesternSingleByte(encoding: Encoding): boolean {
  return WESTERN.has(encoding);
}

/**
 * `declared`: what the file says, if it says a Western single-byte code page (kept for pure ASCII and as a candidate).
 * `candidates`: the encodings to weigh, by default UTF-8, GBK, Big5 and Windows-1252.
 */
export function detectTextEncoding(texts: Buffer[], declared?: Encoding): Detection {
  const nonAscii = texts.filter((t) => t.some((b) => b >= 0x80));
  const western = declared && WESTERN.has(declared) ? declared : 'windows-1252';
  const order = ['utf-8', ...(declared ? [declared] : []), 'gbk', 'big5', western].filter((e, i, all) => all.indexOf(e) === i);
  if (nonAscii.length === 0) return { encoding: declared ?? 'utf-8', evidence: 'content: ASCII only', close: false, samples: '', ascii: true };
  const high = nonAscii.reduce((n, t) => n + t.filter((b) => b >= 0x80).length, 0);
  const scored = order.map((encoding) => ({ encoding, score: score(nonAscii, encoding, high) }));
  const valid = scored.filter((s): s is { encoding: string; score: number } => s.score !== null);
  // Windows-1252 decodes all but five bytes, so there is nearly always a valid candidate; if not, the declared one
  // (or UTF-8) is kept and the strict decoder reports the bad bytes.
  const ranked = [...valid].sort((a, b) => b.score - a.score || order.indexOf(a.encoding) - order.indexOf(b.encoding));
  const best = ranked[0] ?? { encoding: declared ?? 'utf-8', score: 0 };
  // The runner-up that would read the text as another kind of writing (GBK and Big5 are both Chinese: which of
  // them is decided by their level-1 blocks, as before, and a mistake there shows as a failed strict decode).
  const second = ranked.find((s) => family(s.encoding) !== family(best.encoding));
  const close = best.score < 0.6 || (second !== undefined && best.score - second.score < 0.3);
  const evidence = `content: ${scored.map((s) => `${s.encoding} ${s.score === null ? 'invalid' : `${Math.round(s.score * 100)}%`}`).join(', ')}`;
  const sample = (encoding: string) =>
    `${encoding} "${nonAscii
      .slice(0, 3)
      .map((t) => decode(t, encoding))
      .join('", "')}"`;
  const samples = [best, ...(second ? [second] : [])].map((s) => sample(s.encoding)).join(' vs ');
  return { encoding: best.encoding, evidence, close, samples, ascii: false };
}

const family = (encoding: string) => (encoding === 'gbk' || encoding === 'big5' ? 'chinese' : encoding);

function decode(bytes: Buffer, encoding: string): string {
  return encoding === 'utf-8' ? bytes.toString('utf8') : iconv.decode(bytes, encoding === 'gbk' ? 'gb18030' : encoding);
}

/** The share of non-ASCII bytes the encoding explains as plausible text; null when a text is not valid in it. */
function score(texts: Buffer[], encoding: string, high: number): number | null {
  let explained = 0;
  for (const t of texts) {
    if (encoding === 'utf-8') {
      if (!isUtf8(t)) return null;
      explained += utf8Plausible(t.toString('utf8'));
      continue;
    }
    if (decode(t, encoding).includes('\ufffd')) return null;
    if (encoding === 'gbk') explained += doubleByte(t, gbkWeight);
    else if (encoding === 'big5') explained += doubleByte(t, big5Weight);
    else explained += westernLetters(t);
  }
  return explained / high;
}

/**
 * UTF-8 bytes of Chinese, Latin letters and common signs count fully; other scripts a quarter: a short GBK text
 * can be valid UTF-8 by chance (丌亍 = D8A2 D8A1 reads as two Arabic letters).
 */
function utf8Plausible(text: string): number {
  let n = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) continue;
    const bytes = c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    const plausible = (c >= 0xa0 && c <= 0x24f) || (c >= 0x2000 && c <= 0x206f) || (c >= 0x3000 && c <= 0x9fff) || (c >= 0xff00 && c <= 0xffef) || (c >= 0x20000 && c <= 0x3134f);
    n += plausible ? bytes : bytes / 4;
  }
  return n;
}

function doubleByte(t: Buffer, weight: (lead: number, trail: number) => number): number {
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    if (t[i]! < 0x80) continue;
    n += 2 * weight(t[i]!, t[i + 1] ?? 0);
    i++;
  }
  return n;
}

function gbkWeight(lead: number, trail: number): number {
  if (trail < 0xa1 || trail > 0xfe) return 0; // GBK extension: rare characters
  if (lead >= 0xb0 && lead <= 0xd7) return 1; // GB2312 level 1: the common characters
  if (lead >= 0xa1 && lead <= 0xa3) return 1; // punctuation, full-width forms
  if (lead >= 0xd8 && lead <= 0xf7) return 0.5; // level 2
  return 0;
}

function big5Weight(lead: number, trail: number): number {
  const code = (lead << 8) | trail;
  if (code >= 0xa440 && code <= 0xc67e) return 1; // level 1
  if (code >= 0xa140 && code <= 0xa3bf) return 1; // punctuation
  if (code >= 0xc940 && code <= 0xf9d5) return 0.5; // level 2
  return 0;
}

/** High bytes standing alone between ASCII bytes (or at an end): an accented letter or sign in a Western word. */
function westernLetters(t: Buffer): number {
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    if (t[i]! < 0x80) continue;
    const alone = (i === 0 || t[i - 1]! < 0x80) && (i === t.length - 1 || t[i + 1]! < 0x80);
    if (alone) n++;
  }
  return n;
}
