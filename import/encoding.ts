import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import { ImportError } from './errors.ts';

/**
 * Text encodings of department files. The rule is "never mojibake": an encoding is taken from what the file
 * declares (.cpg, the DBF language driver byte, an XML declaration, a BOM) or else detected from the bytes
 * (valid UTF-8, else GBK, else Big5 when the bytes say so), and text that does not decode cleanly in the chosen
 * encoding stops the import with a hint instead of being stored garbled.
 */
export type Encoding = string; // an iconv-lite name, normalised: 'utf-8', 'gbk', 'big5', 'windows-1252', ...

/** Normalise a user's or a file's encoding name; throws for one iconv-lite does not know. */
export function normaliseEncoding(name: string, where: string): Encoding {
  const raw = name.trim().toLowerCase().replace(/^cp[_-]/, 'cp');
  const aliases: Record<string, string> = {
    'utf8': 'utf-8',
    'utf-8': 'utf-8',
    '65001': 'utf-8',
    'gbk': 'gbk',
    'cp936': 'gbk',
    '936': 'gbk',
    'gb2312': 'gbk', // GBK is a superset; files labelled GB2312 often hold GBK-only characters
    'euc-cn': 'gbk',
    'gb18030': 'gb18030',
    '54936': 'gb18030',
    'big5': 'big5',
    'big-5': 'big5',
    'cp950': 'big5',
    '950': 'big5',
    'big5-hkscs': 'big5-hkscs',
    'ansi_1252': 'windows-1252',
    '1252': 'windows-1252',
    'latin1': 'latin1',
  };
  const mapped = aliases[raw] ?? (/^8859\d+$/.test(raw) ? `iso-8859-${raw.slice(4)}` : /^\d{3,5}$/.test(raw) ? `cp${raw}` : raw);
  if (!iconv.encodingExists(mapped)) throw new ImportError(`unknown encoding "${name.trim()}" (${where}); pass --encoding with e.g. gbk, utf-8, big5`, 'bad_option');
  return mapped;
}

/** dBASE language driver ids (byte 29 of a .dbf header) → encoding, as GDAL's shapefile driver maps them. */
const LDID: Record<number, Encoding> = {
  0x01: 'cp437',
  0x02: 'cp850',
  0x03: 'windows-1252',
  0x57: 'windows-1252',
  0x58: 'windows-1252',
  0x59: 'windows-1252',
  0x13: 'cp932',
  0x4d: 'gbk',
  0x7a: 'gbk',
  0x4e: 'cp949',
  0x79: 'cp949',
  0x4f: 'big5',
  0x78: 'big5',
  0x7b: 'cp932',
  0x7c: 'cp874',
  0x64: 'cp852',
  0x65: 'cp866',
  0x26: 'cp866',
  0xc8: 'windows-1250',
  0xc9: 'windows-1251',
  0xca: 'windows-1254',
  0xcb: 'windows-1253',
  0x7d: 'windows-1255',
  0x7e: 'windows-1256',
};

export function encodingOfLdid(byte: number): Encoding | null {
  return LDID[byte] ?? null;
}

/**
 * Guess the encoding of text bytes. Valid UTF-8 with any multi-byte sequence is UTF-8 (GBK text is almost never
 * valid UTF-8). Otherwise GBK or Big5: both decode most double-byte text, so each is scored by how many of its
 * characters fall in that encoding's block of common characters (GB2312 level 1: lead bytes B0-D7, trail A1-FE;
 * Big5 level 1: A440-C67E). GBK wins ties: this is a mainland platform.
 */
export function detectEncoding(sample: Buffer): { encoding: Encoding; ascii: boolean } {
  let ascii = true;
  for (let i = 0; i < sample.length; i++)
    if (sample[i]! >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) return { encoding: 'utf-8', ascii: true };
  if (isUtf8(trimIncompleteUtf8(sample))) return { encoding: 'utf-8', ascii: false };
  return { encoding: gbkOrBig5(sample), ascii: false };
}

/** A sample cut at an arbitrary byte may end inside a UTF-8 sequence; drop that partial sequence. */
function trimIncompleteUtf8(b: Buffer): Buffer {
  for (let back = 1; back <= 3 && back <= b.length; back++) {
    const c = b[b.length - back]!;
    if ((c & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return len > back ? b.subarray(0, b.length - back) : b;
  }
  return b;
}

function gbkOrBig5(b: Buffer): Encoding {
  let gbk = 0;
  let big5 = 0;
  let pairs = 0;
  for (let i = 0; i + 1 < b.length; i++) {
    const lead = b[i]!;
    if (lead < 0x81) continue;
    const trail = b[i + 1]!;
    pairs++;
    if (lead >= 0xb0 && lead <= 0xd7 && trail >= 0xa1 && trail <= 0xfe) gbk++;
    const code = (lead << 8) | trail;
    if (code >= 0xa440 && code <= 0xc67e && ((trail >= 0x40 && trail <= 0x7e) || (trail >= 0xa1 && trail <= 0xfe))) big5++;
    i++;
  }
  return pairs > 0 && big5 > gbk ? 'big5' : 'gbk';
}

/** Decode bytes; a replacement character means the bytes are not in that encoding: say so, never store garble. */
export function decodeText(bytes: Buffer, encoding: Encoding, where: () => string): string {
  if (encoding === 'utf-8') {
    if (!isUtf8(bytes)) throw notEncoded(encoding, where());
    return bytes.toString('utf8');
  }
  // GB18030 decodes every GBK byte sequence the same way and also the four-byte ones GBK lacks.
  const text = iconv.decode(bytes, encoding === 'gbk' ? 'gb18030' : encoding);
  if (text.includes('\ufffd')) throw notEncoded(encoding, where());
  return text;
}

function notEncoded(encoding: Encoding, where: string): ImportError {
  return new ImportError(`${where}: the bytes are not valid ${encoding.toUpperCase()} text; pass --encoding with the file's real encoding (e.g. gbk, utf-8, big5)`);
}
