import type { Pos } from './ast.ts';

/** A filter that cannot be used: bad syntax, an unknown property, a wrong type. `position`: see Pos. */
export class Cql2Error extends Error {
  constructor(
    readonly problem: string,
    readonly position: Pos,
  ) {
    super(typeof position === 'number' ? `${problem} at character ${position}` : `${problem} at ${position || '/'}`);
  }
}
