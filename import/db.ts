import pg from 'pg';

/** Anything that runs a parameterised query: a pool or a client inside a transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'> | Pick<pg.Pool, 'query'>;

/** Identifier quoting, the one way import/ puts a name into SQL (names come from the catalog or are sanitised first). */
export const ident = (name: string): string => pg.escapeIdentifier(name);
