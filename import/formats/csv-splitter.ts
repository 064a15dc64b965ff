/**
 * Streaming CSV records (RFC 4180, leniently: a quote inside an unquoted field is a literal, lines may end in
 * CRLF or LF, blank lines are skipped). csv-parse, which sniffs the first lines, reads ~250,000 rows a second
 * on this hardware and made the parse the slowest part of a 1M-row import (bench:import); this reader splits
 * lines without quotes with String#split, the native fast path, and walks only quoted records character by
 * character, so it keeps up with PostgreSQL's COPY.
 */
export class CsvSyntaxError extends Error {}

const QUOTE = 34;

export class CsvSplitter {
  private rest = '';
  private line = 1;

  constructor(private readonly delimiter: string) {}

  /** Records completed by this chunk of text. */
  push(chunk: string): string[][] {
    const text = this.rest ? this.rest + chunk : chunk;
    const out: string[][] = [];
    let pos = 0;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0) break;
      let end = nl;
      if (end > pos && text.charCodeAt(end - 1) === 13) end--;
      const line = text.slice(pos, end);
      if (!line.includes('"')) {
        // The common case: no quote on this line.
        if (line !== '') out.push(line.split(this.delimiter));
        this.line++;
        pos = nl + 1;
        continue;
      }
      const parsed = this.quoted(text, pos, false);
      if (!parsed) break; // a quoted field goes on in the next chunk
      out.push(parsed.fields);
      pos = parsed.next;
    }
    this.rest = text.slice(pos);
    return out;
  }

  /** The input ended: the last record may have no line break. */
  end(): string[][] {
    const text = this.rest;
    this.rest = '';
    if (text.replace(/[\r\n]/g, '') === '') return [];
    if (!text.includes('"')) return [text.replace(/\r$/, '').split(this.delimiter)];
    const parsed = this.quoted(text, 0, true);
    if (!parsed) throw new CsvSyntaxError(`a quoted field opened on line ${this.line} is never closed (Quote Not Closed)`);
    return [parsed.fields];
  }

  /** One record with quotes, from `start`; null when the text ends before the record does. */
  private quoted(text: string, start: number, final: boolean): { fields: string[]; next: number } | null {
    const d = this.delimiter;
    const fields: string[] = [];
    let field = '';
    let i = start;
    let lines = 0;
    for (;;) {
      if (i >= text.length) {
        if (!final) return null;
        fields.push(field);
        this.line += lines + 1;
        return { fields, next: i };
      }
      if (text.charCodeAt(i) === QUOTE && field === '') {
        // A quoted field: up to the closing quote; "" is a quote.
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) return null;
          field += text.slice(i, q);
          for (let k = i; k < q; k++) if (text.charCodeAt(k) === 10) lines++;
          if (text.charCodeAt(q + 1) === QUOTE) {
            field += '"';
            i = q + 2;
            continue;
          }
          if (q + 1 >= text.length && !final) return null;
          i = q + 1;
          break;
        }
        // Anything between the closing quote and the delimiter belongs to the field (lenient).
        while (i < text.length && text[i] !== d && text[i] !== '\n' && text[i] !== '\r') field += text[i++];
        continue;
      }
      const c = text[i];
      if (c === d) {
        fields.push(field);
        field = '';
        i++;
      } else if (c === '\n' || c === '\r') {
        fields.push(field);
        if (c === '\r' && text[i + 1] === '\n') i++;
        else if (c === '\r' && i + 1 >= text.length && !final) return null;
        this.line += lines + 1;
        return { fields, next: i + 1 };
      } else {
        field += c;
        i++;
      }
    }
  }
}
