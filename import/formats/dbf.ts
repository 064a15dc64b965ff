import fs from 'node:fs';
import type { ColumnType } from '../columns.ts';
import { decodeText, encodingOfLdid, normaliseEncoding } from '../encoding.ts';
import { detectTextEncoding, isWesternSingleByte } from '../encoding-detection.ts';
import { ImportError } from '../errors.ts';

/**
 * dBASE III/IV attribute tables (.dbf), read record by record. The text encoding is the one thing a shapefile
 * almost never states reliably: --encoding, else the .cpg file, else the language driver byte (offset 29) when it
 * names a specific code page (GBK 0x4D/0x7A, Big5, …), else the content of the field names and the first 2,000
 * records decides (encoding-detection.ts), the "ANSI" driver 0x57 and the Western ones included. Text that does not decode cleanly stops the
 * import rather than being stored as mojibake.
 */
export interface DbfField {
  name: string;
  type: string;
  length: number;
  decimals: number;
  offset: number;
}

export interface DbfInfo {
  records: number;
  fields: DbfField[];
  encoding: string;
  /** How the encoding was chosen, e.g. "detected", ".cpg", "DBF language driver 0x7A". */
  encodingHow: string;
  warnings: string[];
}

const CHUNK = 1 << 20;

export class Dbf {
  private constructor(
    private readonly fh: fs.promises.FileHandle,
    private readonly name: string,
    readonly info: DbfInfo,
    private readonly headerLength: number,
    private readonly recordLength: number,
  ) {}

  static async open(path: string, name: string, opts: { encoding?: string | undefined; cpg?: { text: string; name: string } | undefined }): Promise<Dbf> {
    const fh = await fs.promises.open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      if (size < 33) throw new ImportError(`${name} is too short to be a dBASE file (${size} bytes)`);
      const head = Buffer.alloc(32);
      await fh.read(head, 0, 32, 0);
      const records = head.readUInt32LE(4);
      const headerLength = head.readUInt16LE(8);
      const recordLength = head.readUInt16LE(10);
      if (headerLength < 33 || recordLength < 1 || headerLength > size)
        throw new ImportError(`${name} is not a dBASE file (header length ${headerLength}, record length ${recordLength})`);
      const need = headerLength + records * recordLength;
      if (size < need)
        throw new ImportError(`${name} is truncated: its header says ${records} records (${need} bytes) but the file has ${size} bytes`);
      const desc = Buffer.alloc(headerLength - 32);
      await fh.read(desc, 0, desc.length, 32);
      const raw: Array<{ nameBytes: Buffer; type: string; length: number; decimals: number; offset: number }> = [];
      let offset = 1; // byte 0 of a record is the deletion flag
      for (let i = 0; i + 32 <= desc.length && desc[i] !== 0x0d; i += 32) {
        const nul = desc.subarray(i, i + 11).indexOf(0);
        raw.push({
          nameBytes: desc.subarray(i, i + (nul < 0 ? 11 : nul)),
          type: String.fromCharCode(desc[i + 11]!),
          length: desc[i + 16]!,
          decimals: desc[i + 17]!,
          offset,
        });
        offset += desc[i + 16]!;
      }
      if (raw.length === 0) throw new ImportError(`${name} has no fields`);
      if (offset > recordLength) throw new ImportError(`${name} is corrupt: its fields need ${offset} bytes per record, records have ${recordLength}`);

      const ldid = head[29]!;
      const declared = encodingOfLdid(ldid);
      const warnings: string[] = [];
      let encoding: string;
      let encodingHow: string;
      if (opts.encoding) [encoding, encodingHow] = [normaliseEncoding(opts.encoding, '--encoding'), 'given'];
      else if (opts.cpg) [encoding, encodingHow] = [normaliseEncoding(opts.cpg.text, opts.cpg.name), opts.cpg.name];
      else if (declared && !isWesternSingleByte(declared)) [encoding, encodingHow] = [declared, `DBF language driver ${hex(ldid)}`];
      else {
        // No language driver, or the writer's "ANSI" code page (0x57) or another Western one: on a Chinese PC
        // that is GBK, and GBK bytes are valid Windows-1252 too, so the content decides (encoding-detection.ts).
        const sample = Buffer.alloc(Math.min(size - headerLength, recordLength * 2000));
        await fh.read(sample, 0, sample.length, headerLength);
        const texts: Buffer[] = raw.map((f) => f.nameBytes);
        for (let r = 0; r + recordLength <= sample.length; r += recordLength)
          for (const f of raw) if (f.type === 'C') texts.push(trimField(sample.subarray(r + f.offset, r + f.offset + f.length)));
        const d = detectTextEncoding(texts, declared ?? undefined);
        encoding = d.encoding;
        const driver = declared ? `DBF language driver ${hex(ldid)}${ldid === 0x57 ? ' (the writer\'s "ANSI" code page)' : ''}` : '';
        if (d.ascii) encodingHow = driver || 'detected';
        else if (!declared) encodingHow = `detected, ${d.evidence}`;
        else encodingHow = `${driver} ${encoding === declared ? 'confirmed' : 'overruled'} by the ${d.evidence}`;
        if (d.close) warnings.push(`${name}: the text encoding is a close call, read as ${encoding.toUpperCase()} (${d.evidence}); samples: ${d.samples}; pass --encoding if the text looks wrong`);
      }
      const fields = raw.map((f) => ({
        name: decodeText(f.nameBytes, encoding, () => `${name}: a field name`).trim(),
        type: f.type,
        length: f.length,
        decimals: f.decimals,
        offset: f.offset,
      }));
      const unread = fields.filter((f) => !'CNFLDI'.includes(f.type));
      if (unread.length) warnings.push(`${name}: fields of types the importer does not read were left empty: ${unread.map((f) => `${f.name} (${f.type})`).join(', ')}`);
      return new Dbf(fh, name, { records, fields, encoding, encodingHow, warnings }, headerLength, recordLength);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Declared column types: N without decimals is an integer (widened by the values if they need it). */
  columnTypes(): Array<ColumnType | undefined> {
    return this.info.fields.map((f) =>
      f.type === 'N' ? (f.decimals === 0 ? 'integer' : 'double precision') : f.type === 'F' ? 'double precision' : f.type === 'L' ? 'boolean' : f.type === 'D' ? 'date' : f.type === 'I' ? 'integer' : 'text',
    );
  }

  /** Records in order; `deleted` marks records flagged as deleted (their shapes are skipped too). */
  async *records(): AsyncGenerator<{ deleted: boolean; values: unknown[] }> {
    const per = Math.max(1, Math.floor(CHUNK / this.recordLength));
    const buf = Buffer.alloc(per * this.recordLength);
    for (let start = 0; start < this.info.records; start += per) {
      const n = Math.min(per, this.info.records - start);
      await this.fh.read(buf, 0, n * this.recordLength, this.headerLength + start * this.recordLength);
      for (let r = 0; r < n; r++) {
        const rec = buf.subarray(r * this.recordLength, (r + 1) * this.recordLength);
        yield { deleted: rec[0] === 0x2a, values: this.info.fields.map((f) => this.value(rec.subarray(f.offset, f.offset + f.length), f, start + r + 1)) };
      }
    }
  }

  private value(bytes: Buffer, f: DbfField, record: number): unknown {
    switch (f.type) {
      case 'C': {
        const text = trimField(bytes);
        if (text.length === 0) return null;
        return decodeText(text, this.info.encoding, () => `${this.name} record ${record}, field ${f.name}`);
      }
      case 'N':
      case 'F': {
        const t = bytes.toString('latin1').replace(/\0/g, '').trim();
        if (t === '' || /^\*+$/.test(t)) return null;
        const v = Number(t);
        return Number.isFinite(v) ? v : t;
      }
      case 'L': {
        const c = String.fromCharCode(bytes[0] ?? 0x3f);
        return 'TtYy'.includes(c) ? true : 'FfNn'.includes(c) ? false : null;
      }
      case 'D': {
        const t = bytes.toString('latin1').trim();
        if (t === '' || /^0+$/.test(t)) return null;
        const m = /^(\d{4})(\d{2})(\d{2})$/.exec(t);
        return m ? `${m[1]}-${m[2]}-${m[3]}` : t;
      }
      case 'I':
        return bytes.length >= 4 ? bytes.readInt32LE(0) : null;
      default:
        return null;
    }
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }
}

/** A character field without its padding (spaces or NULs). */
function trimField(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0)) end--;
  return bytes.subarray(0, end);
}

const hex = (byte: number) => `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
