import { badRequest } from '../errors.ts';
import { toText, type Expr } from './cql2/ast.ts';
import { compileFilter, type CompiledFilter, type FilterTarget } from './cql2/compile.ts';
import { Cql2Error } from './cql2/errors.ts';
import { parseCql2Json } from './cql2/json.ts';
import { parseCql2 } from './cql2/parser.ts';
import { single } from './params.ts';

const CRS84 = ['http://www.opengis.net/def/crs/OGC/1.3/CRS84', 'http://www.opengis.net/def/crs/EPSG/0/4326'];

/** A filter read from a request: its tree, and its canonical text (cache keys, next links). */
export interface RequestFilter {
  ast: Expr;
  key: string;
}

/** The encodings `filter-lang` may name; CQL2-text is the default. Both read into the same tree. */
const LANGUAGES: Record<string, (text: string) => Expr> = { 'cql2-text': (text) => parseCql2(text), 'cql2-json': (text) => parseCql2Json(text) };

/**
 * `filter=` (CQL2-text, or CQL2-JSON with `filter-lang=cql2-json`) with `filter-lang` and `filter-crs` as OGC
 * API - Features Part 3 defines them. Syntax errors are 400 `invalid_filter` naming the problem and its position
 * (a character in text, a JSON Pointer in JSON). Nothing here touches the database.
 */
export function filterFromQuery(query: Record<string, unknown>): RequestFilter | null {
  const text = single(query, 'filter');
  const lang = single(query, 'filter-lang') ?? 'cql2-text';
  const crs = single(query, 'filter-crs');
  const parse = Object.hasOwn(LANGUAGES, lang) ? LANGUAGES[lang]! : null;
  if (!parse) throw badRequest('invalid_filter', `filter-lang "${lang.slice(0, 40)}" is not supported: use cql2-text or cql2-json`);
  if (crs !== undefined && !CRS84.includes(crs))
    throw badRequest('invalid_filter', `filter-crs must be ${CRS84[0]} (coordinates are longitude, latitude in WGS84)`);
  if (text === undefined) return null;
  try {
    const ast = parse(text);
    return { ast, key: toText(ast) };
  } catch (err) {
    if (err instanceof Cql2Error) throw badRequest('invalid_filter', `filter: ${err.message}`);
    throw err;
  }
}

/** Check a filter against a layer (properties, types) and compile it; problems are 400 like syntax errors. */
export function compileFor(target: FilterTarget, filter: Expr, firstParam: number): CompiledFilter {
  try {
    return compileFilter(filter, target, firstParam);
  } catch (err) {
    if (err instanceof Cql2Error) throw badRequest('invalid_filter', `filter: ${err.message}`);
    throw err;
  }
}
