/** PostgreSQL COPY text format: tab-separated, \N for NULL, backslash escapes; NUL bytes cannot be stored. */
const SPECIAL = /[\\\t\n\r\0]/;

export function copyField(v: string | null): string {
  if (v === null) return '\\N';
  if (!SPECIAL.test(v)) return v;
  return v.replace(/[\\\t\n\r\0]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : ''));
}

/** JSON text for a jsonb staging column; NUL (\u0000) is not allowed in jsonb, so it is dropped. */
export function jsonField(v: unknown): string {
  const text = JSON.stringify(v);
  // An escaped NUL is \u0000 preceded by an even number of backslashes (an odd number escapes the backslash).
  return copyField(text.includes('\\u0000') ? text.replace(/((?:^|[^\\])(?:\\\\)*)\\u0000/g, '$1') : text);
}
