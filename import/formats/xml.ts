import fs from 'node:fs';
import { DOMParser } from '@xmldom/xmldom';
import { decodeText, detectEncoding, normaliseEncoding } from '../encoding.ts';
import { ImportError } from '../errors.ts';

/**
 * An XML file (KML, GPX) as a DOM, decoded in the encoding it declares (<?xml … encoding="gb2312"?> is common in
 * Chinese exports), or its byte order mark, or detected; --encoding overrides. Malformed XML stops the import.
 */
export interface XmlDocument {
  doc: Document;
  encoding: string;
  how: string;
}

export function readXml(path: string, name: string, given: string | undefined): XmlDocument {
  const bytes = fs.readFileSync(path);
  if (bytes.length === 0) throw new ImportError(`${name} is empty (0 bytes)`);
  let encoding: string;
  let how: string;
  let body = bytes;
  if (given) [encoding, how] = [normaliseEncoding(given, '--encoding'), 'given'];
  else if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) [encoding, how, body] = ['utf-8', 'byte order mark', bytes.subarray(3)];
  else if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
    [encoding, how, body] = [bytes[0] === 0xff ? 'utf-16le' : 'utf-16be', 'byte order mark', bytes.subarray(2)];
  else {
    const declared = /^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']/i.exec(bytes.subarray(0, 200).toString('latin1'))?.[1];
    if (declared) [encoding, how] = [normaliseEncoding(declared, `${name} XML declaration`), 'XML declaration'];
    else [encoding, how] = [detectEncoding(bytes).encoding, 'detected'];
  }
  const text = decodeText(body, encoding, () => name);
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level: string, message: string) => {
        if (level !== 'warning') throw new Error(message);
      },
    }).parseFromString(text, 'text/xml') as unknown as Document;
  } catch (err) {
    throw new ImportError(`${name} is not well-formed XML: ${(err as Error).message.split('\n')[0]}`);
  }
  return { doc, encoding, how };
}

/** The text of the first child element with this local name, or undefined. */
export function childText(el: Element, local: string): string | undefined {
  for (let n = el.firstChild; n; n = n.nextSibling)
    if (n.nodeType === 1 && localName(n as Element) === local) return (n.textContent ?? '').trim();
  return undefined;
}

export function childElements(el: Element | Document, local: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && localName(n as Element) === local) out.push(n as Element);
  return out;
}

export function localName(el: Element): string {
  return el.localName ?? el.nodeName.replace(/^.*:/, '');
}
