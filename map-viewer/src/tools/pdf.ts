/**
 * A one-page PDF holding one JPEG image that fills the page: the print layout, already drawn at 300 dpi. Eighty
 * lines instead of a PDF library (jspdf, pdf-lib: 100–200 KB that the viewer's 450 KB budget cannot carry for
 * one page with one picture); the JPEG is embedded as it is (DCTDecode), so nothing is re-encoded.
 */
const enc = new TextEncoder();

/** A text string of the document information dictionary: UTF-16BE with a BOM, as hex (Chinese titles). */
function pdfText(s: string): string {
  let hex = 'FEFF';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    const units = code > 0xffff ? [0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff)] : [code];
    for (const u of units) hex += u.toString(16).toUpperCase().padStart(4, '0');
  }
  return `<${hex}>`;
}

/** `D:YYYYMMDDHHmmSS+08'00'` in China time. */
function pdfDate(d: Date): string {
  const local = new Date(d.getTime() + 8 * 3_600_000).toISOString();
  return `(D:${local.slice(0, 19).replace(/[-:T]/g, '')}+08'00')`;
}

export interface PdfPage {
  /** Page size in points (1/72 inch). */
  widthPt: number;
  heightPt: number;
  jpeg: Uint8Array;
  /** Image size in pixels. */
  widthPx: number;
  heightPx: number;
  title: string;
  created: Date;
}

export function onePagePdf(p: PdfPage): Blob {
  const w = p.widthPt.toFixed(2);
  const hgt = p.heightPt.toFixed(2);
  const content = `q ${w} 0 0 ${hgt} 0 0 cm /Im0 Do Q`;
  const parts: Array<string | Uint8Array> = [];
  const offsets: number[] = [];
  let length = 0;
  const push = (x: string | Uint8Array) => {
    parts.push(x);
    length += typeof x === 'string' ? enc.encode(x).length : x.length;
  };
  const object = (n: number, body: string, stream?: Uint8Array | string) => {
    offsets[n] = length;
    push(`${n} 0 obj\n${body}\n`);
    if (stream !== undefined) {
      push('stream\n');
      push(stream);
      push('\nendstream\n');
    }
    push('endobj\n');
  };
  push('%PDF-1.4\n');
  object(1, '<< /Type /Catalog /Pages 2 0 R >>');
  object(2, '<< /Type /Pages /Kids [3 0 R] /Count 1 >>');
  object(3, `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w} ${hgt}] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>`);
  object(
    4,
    `<< /Type /XObject /Subtype /Image /Width ${p.widthPx} /Height ${p.heightPx} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length ${p.jpeg.length} >>`,
    p.jpeg,
  );
  object(5, `<< /Length ${enc.encode(content).length} >>`, content);
  object(6, `<< /Title ${pdfText(p.title)} /Producer (CityBase) /CreationDate ${pdfDate(p.created)} >>`);
  const xref = length;
  push(`xref\n0 7\n0000000000 65535 f \n${offsets.slice(1).map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`);
  push(`trailer\n<< /Size 7 /Root 1 0 R /Info 6 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  return new Blob(parts as BlobPart[], { type: 'application/pdf' });
}

/** A PNG with its resolution written in (pHYs), so a word processor places it at its printed size. */
export async function pngWithDpi(png: Blob, dpi: number): Promise<Blob> {
  const bytes = new Uint8Array(await png.arrayBuffer());
  const ppm = Math.round(dpi / 0.0254);
  const chunk = new Uint8Array(21);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, 9);
  chunk.set(enc.encode('pHYs'), 4);
  view.setUint32(8, ppm);
  view.setUint32(12, ppm);
  chunk[16] = 1; // unit: metre
  view.setUint32(17, crc32(chunk.subarray(4, 17)));
  // After the signature (8) and IHDR (4 length + 4 type + 13 data + 4 CRC = 25).
  const at = 8 + 25;
  return new Blob([bytes.subarray(0, at), chunk, bytes.subarray(at)], { type: 'image/png' });
}

let table: Uint32Array | null = null;
function crc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of data) c = table[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
