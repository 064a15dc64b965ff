import { createHash } from 'node:crypto';

/** How many distinct query texts a process names; beyond that a text runs as an unnamed statement. */
export const MAX_NAMED_STATEMENTS = 256;

const named = new Set<string>();

/**
 * The prepared-statement name for a query text that varies with the request (a filter's shape, a property
 * subset): `prefix:hash`. PostgreSQL keeps every named statement for the life of the connection, so the texts
 * that get a name are bounded per process: the first MAX_NAMED_STATEMENTS distinct texts (the common shapes,
 * asked for first and most) are prepared once per connection; later ones get '' and are parsed on every run,
 * which is what an unnamed statement costs anyway. The hash is of the whole text, so two texts never share a name.
 */
export function statementName(prefix: string, text: string): string {
  const name = `${prefix.slice(0, 30)}:${createHash('sha1').update(text).digest('base64url').slice(0, 20)}`;
  if (named.has(name)) return name;
  if (named.size >= MAX_NAMED_STATEMENTS) return '';
  named.add(name);
  return name;
}
