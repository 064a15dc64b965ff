/**
 * CSV as the platform writes it (data downloads, case evaluations, vehicle reports, the audit export): RFC 4180,
 * CRLF, UTF-8 with a BOM (Excel opens Chinese text correctly only with it). Everything written here is meant to be
 * opened in a spreadsheet, so text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first: CSV
 * injection, e.g. `=HYPERLINK(…)` typed into a case description or an imported attribute) is written with a
 * leading apostrophe, which spreadsheets show as text. A plain number written as text ("-12.5") is left alone.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** One cell: null and undefined are empty; objects are JSON; quoted when it holds a comma, quote or line break. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (typeof v === 'string' && FORMULA_START.test(s) && !PLAIN_NUMBER.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A whole file: the header and the rows, each a list of cells. */
export function csvFile(header: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  return '\ufeff' + [header.map(csvCell), ...rows.map((r) => r.map(csvCell))].map((r) => r.join(',')).join('\r\n') + '\r\n';
}
