/**
 * Attribute columns of an imported layer: names made safe for SQL and unique, and types found from the values
 * as they stream past (a CSV has no types; a GeoJSON property can be 1 in one feature and "1a" in the next).
 * A type only ever widens (integer → bigint → double → text), so the final column holds every value losslessly:
 * "0517" stays text (a leading zero is data), 320800 becomes an integer.
 */
export type ColumnType = 'boolean' | 'integer' | 'bigint' | 'double precision' | 'date' | 'timestamptz' | 'text' | 'jsonb';

type Kind = ColumnType | 'unknown';

/**
 * Our own columns (every imported table has an integer id and a geometry) and PostgreSQL's system columns, which
 * no table may define (a GeoJSON property called "ctid" would otherwise fail the CREATE TABLE).
 */
export const RESERVED = new Set(['fid', 'geom', 'tableoid', 'xmin', 'cmin', 'xmax', 'cmax', 'ctid', 'oid']);

const INT = /^-?(0|[1-9]\d*)$/;
const FLOAT = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$|^-?\.\d+([eE][-+]?\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;
const INT4_MAX = 2147483647n;
const INT8_MAX = 9223372036854775807n;

function integerKind(text: string): Kind {
  if (text.length <= 9) return 'integer';
  const v = BigInt(text);
  const abs = v < 0n ? -v : v;
  return abs <= INT4_MAX ? 'integer' : abs <= INT8_MAX ? 'bigint' : 'double precision';
}

function widen(a: Kind, b: Kind): Kind {
  if (a === b || b === 'unknown') return a;
  if (a === 'unknown') return b;
  const numeric = ['integer', 'bigint', 'double precision'];
  if (numeric.includes(a) && numeric.includes(b)) return numeric[Math.max(numeric.indexOf(a), numeric.indexOf(b))] as Kind;
  if (a === 'jsonb' || b === 'jsonb') return 'jsonb';
  if ((a === 'date' && b === 'timestamptz') || (a === 'timestamptz' && b === 'date')) return 'timestamptz';
  return 'text';
}

export class Column {
  private kind: Kind;

  constructor(
    /** The name in the source (CSV header, DBF field, JSON key): kept for the summary and JSON extraction. */
    readonly source: string,
    /** The column name in PostgreSQL. */
    readonly name: string,
    /** Strings may hold numbers (CSV): "12" is the integer 12. Elsewhere a string is text. */
    private readonly fromText = false,
    declared: ColumnType | null = null,
  ) {
    this.kind = declared ?? 'unknown';
  }

  get type(): ColumnType {
    return this.kind === 'unknown' ? 'text' : this.kind;
  }

  /** How often the type changed: a table created from a sample of the rows is only right while this stands still. */
  changes = 0;

  /** Values holding NUL characters, which PostgreSQL cannot store: they are removed, and counted for the summary. */
  nulValues = 0;

  private widen(k: Kind): void {
    const next = widen(this.kind, k);
    if (next !== this.kind) {
      this.kind = next;
      this.changes++;
    }
  }

  /** Note a value's type; returns its text for the staging table, or null for SQL NULL. */
  observe(v: unknown): string | null {
    if (v === null || v === undefined) return null;
    if (typeof v === 'string' ? v.includes('\u0000') : typeof v === 'object' && !(v instanceof Date) && JSON.stringify(v).includes('\\u0000')) this.nulValues++;
    switch (typeof v) {
      case 'number':
        if (!Number.isFinite(v)) {
          this.widen('text');
          return String(v);
        }
        this.widen(Number.isInteger(v) ? (Math.abs(v) <= 2147483647 ? 'integer' : Number.isSafeInteger(v) ? 'bigint' : 'double precision') : 'double precision');
        return String(v);
      case 'boolean':
        this.widen('boolean');
        return v ? 'true' : 'false';
      case 'bigint':
        this.widen(integerKind(String(v)));
        return String(v);
      case 'string': {
        if (v === '') return this.fromText ? null : '';
        // Text (or JSON) is as wide as a column gets: nothing more to learn from the value.
        if (this.kind === 'text' || this.kind === 'jsonb') return v;
        // PostgreSQL's number and date input functions accept surrounding blanks: the text is staged as it is.
        const t = v.trim();
        if (this.fromText && INT.test(t)) this.widen(integerKind(t));
        else if (this.fromText && FLOAT.test(t) && Number.isFinite(Number(t))) this.widen('double precision');
        else if (this.kind === 'date' && DATE.test(t) && !Number.isNaN(Date.parse(t))) return v;
        else if (this.kind === 'timestamptz' && TIMESTAMP.test(t) && !Number.isNaN(Date.parse(t))) return v;
        else this.widen('text');
        return v;
      }
      case 'object':
        if (v instanceof Date) {
          this.widen('timestamptz');
          return v.toISOString();
        }
        this.widen('jsonb');
        return JSON.stringify(v);
      default:
        this.widen('text');
        return String(v);
    }
  }
}

/** A PostgreSQL column name for a source field: like ogr2ogr's LAUNDER (lower-case ASCII, `_` for blanks and
 * punctuation), but Chinese names stay Chinese. Unique among `taken`, at most 63 bytes. */
export function columnName(raw: string, taken: Set<string>): string {
  let n = raw
    .normalize('NFC')
    .trim()
    .replace(/[A-Z]/g, (c) => c.toLowerCase())
    .replace(/[\s\-#.,;:'"()[\]{}/\\]+/g, '_')
    .replace(/[\u0000-\u001f\u007f]/g, '');
  if (!n) n = 'field';
  n = truncateBytes(n, 63);
  let name = n;
  for (let i = RESERVED.has(n) || taken.has(n) ? 1 : 0; RESERVED.has(name) || taken.has(name); i++)
    name = `${truncateBytes(n, 63 - String(i).length - 1)}_${i}`;
  taken.add(name);
  return name;
}

function truncateBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}
