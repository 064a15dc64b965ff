import iconv from 'iconv-lite';
import yauzl from 'yauzl';
import { detectTextEncoding, type Detection } from '../encoding-detection.ts';

/**
 * ZIP entry names. A name is UTF-8 when its entry sets the language-encoding flag (bit 11) or carries an Info-ZIP
 * Unicode Path field; otherwise it is in the writer's OEM code page, which the format calls CP437 but which is GBK
 * on a Chinese Windows PC (河西站点.shp from its Explorer). The names without the flag are decided together by the
 * same content detection as DBF text (encoding-detection.ts), so they show right and `--sublayer 河西站点` finds them.
 */
export interface ZipNames {
  /** The encoding of the names without the UTF-8 flag; null when every name has the flag or is ASCII. */
  detection: Detection | null;
}

const unicode = (entry: yauzl.Entry) => (entry.generalPurposeBitFlag & 0x800) !== 0 || entry.extraFields.some((f) => f.id === 0x7075);

/** Read the central directory once (names only) and decide the encoding of the names written without the flag. */
export async function zipNameEncoding(file: string): Promise<ZipNames> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: true, decodeStrings: false });
  const raw: Buffer[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        if (!unicode(entry)) raw.push(entry.fileNameRaw);
        zip.readEntry();
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  const d = detectTextEncoding(raw, 'cp437');
  return { detection: d.ascii ? null : d };
}

/** An entry's name as text (a zip opened with decodeStrings: false), backslashes read as separators. */
export function entryName(entry: yauzl.Entry, names: ZipNames): string {
  const name = unicode(entry) || !names.detection
    ? yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false)
    : iconv.decode(entry.fileNameRaw, names.detection.encoding === 'gbk' ? 'gb18030' : names.detection.encoding);
  return name.replace(/\\/g, '/');
}
