import { Cql2Error } from './errors.ts';

/** A token of CQL2-text with its 1-based character position, for error messages. */
export type Token =
  | { kind: 'word'; text: string; upper: string; pos: number } // identifier or keyword, case-insensitive
  | { kind: 'quoted'; text: string; pos: number } // "double-quoted" property name
  | { kind: 'string'; text: string; pos: number } // 'character literal', quotes removed
  | { kind: 'number'; text: string; pos: number }
  | { kind: 'op'; text: '=' | '<>' | '<' | '>' | '<=' | '>='; pos: number }
  | { kind: '(' | ')' | ','; pos: number }
  | { kind: 'end'; pos: number };

const WORD_START = /[\p{L}_:]/u;
const WORD_PART = /[\p{L}\p{N}_:.]/u;
const NUMBER = /[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/y;

/**
 * Split a CQL2-text expression into tokens. Anything CQL2 does not have — `;`, comments, `$`, backslashes
 * outside strings — is an error at its position, so SQL syntax can never reach the parser, let alone SQL.
 */
export function tokenize(input: string, maxTokens: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (t: Token) => {
    if (tokens.length >= maxTokens) throw new Cql2Error(`the filter is too long (more than ${maxTokens} tokens)`, t.pos);
    tokens.push(t);
  };
  while (i < input.length) {
    const c = input[i]!;
    const pos = i + 1;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      push({ kind: c, pos });
      i++;
    } else if (c === '=' || c === '<' || c === '>') {
      const two = input.slice(i, i + 2);
      const text = two === '<>' || two === '<=' || two === '>=' ? two : c;
      push({ kind: 'op', text: text as '=', pos });
      i += text.length;
    } else if (c === "'") {
      const { text, end } = readString(input, i);
      push({ kind: 'string', text, pos });
      i = end;
    } else if (c === '"') {
      const end = input.indexOf('"', i + 1);
      if (end < 0) throw new Cql2Error('unterminated "quoted" property name', pos);
      const text = input.slice(i + 1, end);
      if (text === '') throw new Cql2Error('empty "" property name', pos);
      push({ kind: 'quoted', text, pos });
      i = end + 1;
    } else if (/[\d.+-]/.test(c)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(input);
      if (!m) throw new Cql2Error(`unexpected "${c}"`, pos);
      push({ kind: 'number', text: m[0], pos });
      i += m[0].length;
    } else if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < input.length && WORD_PART.test(input[j]!)) j++;
      const text = input.slice(i, j);
      push({ kind: 'word', text, upper: text.toUpperCase(), pos });
      i = j;
    } else {
      throw new Cql2Error(`unexpected ${describe(c)}`, pos);
    }
  }
  tokens.push({ kind: 'end', pos: input.length + 1 });
  return tokens;
}

/** A 'character literal': '' and \' stand for a quote. */
function readString(input: string, start: number): { text: string; end: number } {
  let out = '';
  let i = start + 1;
  for (;;) {
    if (i >= input.length) throw new Cql2Error('unterminated string: a quote (\') is missing', start + 1);
    const c = input[i]!;
    // PostgreSQL text cannot hold NUL: refused here, not as a database error.
    if (c === '\0') throw new Cql2Error('unexpected control character U+0000 in a string', i + 1);
    if (c === "'" && input[i + 1] === "'") {
      out += "'";
      i += 2;
    } else if (c === '\\' && input[i + 1] === "'") {
      out += "'";
      i += 2;
    } else if (c === "'") {
      return { text: out, end: i + 1 };
    } else {
      out += c;
      i++;
    }
  }
}

function describe(c: string): string {
  const code = c.codePointAt(0)!;
  return code < 0x20 || code === 0x7f ? `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}` : `"${c}"`;
}
