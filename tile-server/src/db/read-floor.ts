import { LSN_UNKNOWN, maxLsn } from './lsn.ts';

/**
 * The oldest WAL position a replica must have replayed before it may answer a read: the primary's position
 * taken *after* the newest change notification arrived. A notification arrives after its commit, so a position
 * asked for once it is in covers that commit. Until the position is known (the question is on its way) the
 * floor is "unknown" and reads go to the primary; so a tile re-made after a change is never read from a
 * replica that has not replayed it, whatever its apply delay (recovery_min_apply_delay included).
 *
 * While the change listener is disconnected, changes may go unreported: the floor is unknown until it is back.
 */
export class ReadFloor {
  private floor = 0n;
  /** Changes seen, and the number of them that a fetched position covers. */
  private seen = 0;
  private covered = 0;
  private deaf = true;
  private fetching = false;
  private stopped = false;

  constructor(
    /** The primary's current WAL position (pg_current_wal_lsn()), asked for now. */
    private readonly primaryLsn: () => Promise<bigint>,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  get value(): bigint {
    return this.deaf || this.covered < this.seen ? LSN_UNKNOWN : this.floor;
  }

  /** A change notification arrived (or the listener connected: everything before it counts as a change). */
  changed(): void {
    this.seen++;
    void this.fetch();
  }

  listening(): void {
    this.deaf = false;
    this.changed();
  }

  /** The listener lost its connection: changes may be missed from now on. */
  lost(): void {
    this.deaf = true;
  }

  stop(): void {
    this.stopped = true;
  }

  private async fetch(): Promise<void> {
    if (this.fetching) return; // the running question may predate the change: the loop below asks again
    this.fetching = true;
    try {
      while (this.covered < this.seen && !this.stopped) {
        const upTo = this.seen;
        try {
          this.floor = maxLsn(this.floor, await this.primaryLsn());
          this.covered = upTo;
        } catch (err) {
          this.onError(err as Error);
          // The primary is unreachable: reads go there anyway (and fail) until a position is known again.
          await new Promise((r) => setTimeout(r, 250).unref());
        }
      }
    } finally {
      this.fetching = false;
    }
  }
}
