/**
 * PostgreSQL WAL positions (pg_lsn, written `16/B374D848`) as bigints, so they compare and order exactly.
 * They travel as text: in the X-CityBase-LSN header and cookie of read-your-writes, and from the database.
 */
const LSN_TEXT = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i;

export function parseLsn(text: string | null | undefined): bigint | null {
  const m = LSN_TEXT.exec(text?.trim() ?? '');
  if (!m) return null;
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Greater than any real position: "nothing but the primary will do". */
export const LSN_UNKNOWN = (1n << 64n) - 1n;

export const maxLsn = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/**
 * The primary's position as a replica can reach it: pg_current_wal_insert_lsn() is where the next record starts,
 * which just after a page boundary lies past the page header (24 bytes; 40 at a segment's start), while a
 * replica's pg_last_wal_replay_lsn() ends at the last record, before that header. No record ends inside a header,
 * so the position before it covers the same commits. (pg_current_wal_lsn() is worse: the primary may have
 * written up to a page's end, a point no idle replica ever reports.)
 */
export function reachable(insertLsn: bigint): bigint {
  const inPage = insertLsn % 8192n;
  if (inPage === 24n) return insertLsn - 24n;
  if (inPage === 40n && insertLsn % (16n << 20n) === 40n) return insertLsn - 40n;
  return insertLsn;
}

/** The statement that reads the primary's position; its answer goes through reachable(). */
export const PRIMARY_LSN_SQL = 'SELECT pg_current_wal_insert_lsn()::text AS lsn';
