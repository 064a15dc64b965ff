/**
 * A reader for the WKT1 that ESRI writes into .prj files: KEYWORD["name", value, CHILD[...], ...]. Only the
 * tree is built here; crs/prj.ts decides what it means.
 */
export interface WktNode {
  keyword: string;
  values: Array<string | number | WktNode>;
}

export class PrjSyntaxError extends Error {}

export function parseWktTree(text: string): WktNode {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const node = (depth: number): WktNode => {
    if (depth > 20) throw new PrjSyntaxError('nested too deeply');
    ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (!m) throw new PrjSyntaxError(`expected a keyword at character ${i + 1}`);
    i += m[0].length;
    ws();
    const open = text[i];
    if (open !== '[' && open !== '(') throw new PrjSyntaxError(`expected "[" after ${m[0]}`);
    const close = open === '[' ? ']' : ')';
    i++;
    const values: WktNode['values'] = [];
    for (;;) {
      ws();
      const c = text[i];
      if (c === undefined) throw new PrjSyntaxError('unexpected end of text');
      if (c === close) {
        i++;
        break;
      }
      if (c === '"') {
        const end = text.indexOf('"', i + 1);
        if (end < 0) throw new PrjSyntaxError('unterminated string');
        values.push(text.slice(i + 1, end));
        i = end + 1;
      } else if (/[-+.\d]/.test(c)) {
        const n = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(text.slice(i));
        if (!n) throw new PrjSyntaxError(`bad number at character ${i + 1}`);
        values.push(Number(n[0]));
        i += n[0].length;
      } else if (/[A-Za-z_]/.test(c)) {
        values.push(node(depth + 1));
      } else throw new PrjSyntaxError(`unexpected "${c}" at character ${i + 1}`);
      ws();
      if (text[i] === ',') i++;
    }
    return { keyword: m[0].toUpperCase(), values };
  };
  const root = node(0);
  ws();
  if (i < text.length) throw new PrjSyntaxError(`unexpected text after the definition at character ${i + 1}`);
  return root;
}

export function child(n: WktNode, keyword: string): WktNode | undefined {
  return n.values.find((v): v is WktNode => typeof v === 'object' && v.keyword === keyword);
}

export function children(n: WktNode, keyword: string): WktNode[] {
  return n.values.filter((v): v is WktNode => typeof v === 'object' && v.keyword === keyword);
}

export function nameOf(n: WktNode | undefined): string {
  return typeof n?.values[0] === 'string' ? n.values[0] : '';
}

export function numberAt(n: WktNode | undefined, i: number): number | undefined {
  const v = n?.values[i];
  return typeof v === 'number' ? v : undefined;
}
