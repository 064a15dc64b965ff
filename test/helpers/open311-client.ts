// A small GeoReport v2 client written from the specification (open311/open311.github.io GeoReport/v2), not from
// the server: URLs are {base}/{resource}.{format}, POST bodies are form-encoded UTF-8, XML is read with a DOM
// parser into the same records as JSON (each <request> or <service> element's children as strings).
import { DOMParser, type Element, type Node } from '@xmldom/xmldom';

export type Fetch = (method: 'GET' | 'POST', path: string, form?: Record<string, string>) => Promise<{ status: number; type: string; text: string }>;

export interface GeoReportResult<T> {
  status: number;
  records: T[];
  errors: Array<{ code: number; description: string }>;
}

/** Children of an element as a record (leaf text; nested lists as arrays of records). */
function elementsOf(el: Node): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) out.push(n as unknown as Element);
  return out;
}
function record(el: Element): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const child of elementsOf(el)) {
    const nested = elementsOf(child);
    out[child.tagName] = nested.length ? nested.map(record) : (child.textContent ?? '');
  }
  return out;
}

export class GeoReportClient {
  constructor(
    private readonly fetch: Fetch,
    private readonly base: string,
    readonly format: 'json' | 'xml',
  ) {}

  private async call<T>(method: 'GET' | 'POST', resource: string, params: Record<string, string> = {}, itemTag: string): Promise<GeoReportResult<T>> {
    const query = method === 'GET' && Object.keys(params).length ? `?${new URLSearchParams(params)}` : '';
    const res = await this.fetch(method, `${this.base}/${resource}.${this.format}${query}`, method === 'POST' ? params : undefined);
    if (this.format === 'json') {
      const body = JSON.parse(res.text);
      if (res.status >= 400) return { status: res.status, records: [], errors: body };
      return { status: res.status, records: Array.isArray(body) ? body : [body], errors: [] };
    }
    if (!/xml/.test(res.type)) throw new Error(`expected XML, got ${res.type}`);
    const doc = new DOMParser().parseFromString(res.text, 'text/xml');
    const root = doc.documentElement!;
    if (root.tagName === 'errors') {
      const errors = elementsOf(root).map(record).map((e) => ({ code: Number(e.code), description: String(e.description) }));
      return { status: res.status, records: [], errors };
    }
    if (root.tagName === itemTag) return { status: res.status, records: [record(root) as T], errors: [] };
    return { status: res.status, records: elementsOf(root).map((n) => record(n) as T), errors: [] };
  }

  services() {
    return this.call<Record<string, unknown>>('GET', 'services', {}, 'service');
  }
  serviceDefinition(code: string) {
    return this.call<Record<string, unknown>>('GET', `services/${encodeURIComponent(code)}`, {}, 'service_definition');
  }
  createRequest(params: Record<string, string>) {
    return this.call<Record<string, unknown>>('POST', 'requests', params, 'request');
  }
  requests(filters: Record<string, string> = {}) {
    return this.call<Record<string, unknown>>('GET', 'requests', filters, 'request');
  }
  request(id: string) {
    return this.call<Record<string, unknown>>('GET', `requests/${encodeURIComponent(id)}`, {}, 'request');
  }
  token(token: string) {
    return this.call<Record<string, unknown>>('GET', `tokens/${encodeURIComponent(token)}`, {}, 'request');
  }
}
