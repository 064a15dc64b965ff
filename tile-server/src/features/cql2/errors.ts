/** A filter that cannot be used: bad syntax, an unknown property, a wrong type. `position` is 1-based. */
export class Cql2Error extends Error {
  constructor(
    readonly problem: string,
    readonly position: number,
  ) {
    super(`${problem} at character ${position}`);
  }
}
