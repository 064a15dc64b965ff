import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../../errors.ts';

/** One accepted fix on its way to vehicles.positions (and vehicles.latest). */
export interface FixRow {
  vehicleId: string;
  time: number;
  lon: number;
  lat: number;
  speedKmh: number | null;
  course: number | null;
  altitudeM: number | null;
  source: string;
  alarm: number | null;
  status: number | null;
  mileageKm: number | null;
  satellites: number | null;
  extras: Record<string, unknown> | null;
  receivedAt: number;
  backfill: boolean;
}

export interface RejectedRow {
  vehicleId: string;
  time: number | null;
  receivedAt: number;
  lon: number | null;
  lat: number | null;
  reason: string;
}

export interface WriterOptions {
  pool: pg.Pool;
  log: Logger;
  /** Write at least this often (ms)… */
  intervalMs?: number;
  /** …or as soon as this many fixes wait. */
  batchSize?: number;
  /** Fixes held in memory while the database is unreachable, before they go to disk. */
  memoryLimit?: number;
  /** Where the spool goes when memory is full (created on demand). */
  spoolDir: string;
  /** Bytes of spool files allowed on disk; beyond that, fixes are refused and counted as lost. */
  diskLimitBytes?: number;
  onWritten?: (n: number) => void;
}

const STAGE_SQL = `CREATE TEMP TABLE IF NOT EXISTS fix_stage (
  vehicle_id text, fix_time timestamptz, lon float8, lat float8, speed_kmh real, course real, altitude_m real, source text,
  alarm bigint, status bigint, mileage_km float8, satellites smallint, extras jsonb, received_at timestamptz, backfill boolean
) ON COMMIT DELETE ROWS`;

/** One fix per vehicle and instant: a fix written twice (a spool replayed after a lost reply) is kept once. */
const INSERT_SQL = `INSERT INTO vehicles.positions
  (vehicle_id, fix_time, geom, speed_kmh, course, altitude_m, source, alarm, status, mileage_km, satellites, extras, received_at, backfill)
SELECT vehicle_id, fix_time, ST_SetSRID(ST_MakePoint(lon, lat), 4326), speed_kmh, course, altitude_m, source, alarm, status,
       mileage_km, satellites, extras, received_at, backfill
FROM fix_stage
ON CONFLICT (vehicle_id, fix_time) DO NOTHING`;

/** The newest fix per vehicle; a late (backfilled) fix never moves the latest position back in time. */
const LATEST_SQL = `INSERT INTO vehicles.latest AS l (vehicle_id, fix_time, geom, speed_kmh, course, alarm, status, received_at)
SELECT DISTINCT ON (vehicle_id) vehicle_id, fix_time, ST_SetSRID(ST_MakePoint(lon, lat), 4326), speed_kmh, course, alarm, status, received_at
FROM fix_stage ORDER BY vehicle_id, fix_time DESC
ON CONFLICT (vehicle_id) DO UPDATE SET fix_time = EXCLUDED.fix_time, geom = EXCLUDED.geom, speed_kmh = EXCLUDED.speed_kmh,
  course = EXCLUDED.course, alarm = EXCLUDED.alarm, status = EXCLUDED.status, received_at = EXCLUDED.received_at
WHERE l.fix_time < EXCLUDED.fix_time`;

/** The same, from the batch's newest fix per vehicle found in memory (the direct COPY has no staging table). */
const LATEST_ROWS_SQL = `INSERT INTO vehicles.latest AS l (vehicle_id, fix_time, geom, speed_kmh, course, alarm, status, received_at)
SELECT v, to_timestamp(t / 1000.0), ST_SetSRID(ST_MakePoint(x, y), 4326), sp, co, al, st, to_timestamp(rc / 1000.0)
FROM unnest($1::text[], $2::float8[], $3::float8[], $4::float8[], $5::real[], $6::real[], $7::bigint[], $8::bigint[], $9::float8[])
  AS f(v, t, x, y, sp, co, al, st, rc)
ON CONFLICT (vehicle_id) DO UPDATE SET fix_time = EXCLUDED.fix_time, geom = EXCLUDED.geom, speed_kmh = EXCLUDED.speed_kmh,
  course = EXCLUDED.course, alarm = EXCLUDED.alarm, status = EXCLUDED.status, received_at = EXCLUDED.received_at
WHERE l.fix_time < EXCLUDED.fix_time`;

const POSITION_COLUMNS = 'vehicle_id, fix_time, geom, speed_kmh, course, altitude_m, source, alarm, status, mileage_km, satellites, extras, received_at, backfill';

const REJECTED_SQL = `INSERT INTO vehicles.rejected_fixes (vehicle_id, fix_time, received_at, lon, lat, reason)
SELECT r.vehicle_id, to_timestamp(r.fix_time / 1000.0), to_timestamp(r.received_at / 1000.0), r.lon, r.lat, r.reason
FROM json_to_recordset($1::json) AS r(vehicle_id text, fix_time float8, received_at float8, lon float8, lat float8, reason text)`;

const text = (v: string) => v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
const num = (v: number | null) => (v === null || !Number.isFinite(v) ? '\\N' : String(v));

/** A COPY text line of fix_stage. */
export function copyLine(f: FixRow): string {
  return `${text(f.vehicleId)}\t${new Date(f.time).toISOString()}\t${f.lon}\t${f.lat}\t${num(f.speedKmh)}\t${num(f.course)}\t${num(f.altitudeM)}\t${text(f.source)}\t${num(f.alarm)}\t${num(f.status)}\t${num(f.mileageKm)}\t${num(f.satellites)}\t${f.extras ? text(JSON.stringify(f.extras)) : '\\N'}\t${new Date(f.receivedAt).toISOString()}\t${f.backfill ? 't' : 'f'}\n`;
}

/** A COPY text line of vehicles.positions itself (the point as EWKT), for the direct path. */
export function positionLine(f: FixRow): string {
  return `${text(f.vehicleId)}\t${new Date(f.time).toISOString()}\tSRID=4326;POINT(${f.lon} ${f.lat})\t${num(f.speedKmh)}\t${num(f.course)}\t${num(f.altitudeM)}\t${text(f.source)}\t${num(f.alarm)}\t${num(f.status)}\t${num(f.mileageKm)}\t${num(f.satellites)}\t${f.extras ? text(JSON.stringify(f.extras)) : '\\N'}\t${new Date(f.receivedAt).toISOString()}\t${f.backfill ? 't' : 'f'}\n`;
}

const utcDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/**
 * Writes accepted fixes in batches: one transaction per batch (COPY into a staging table, INSERT into the day
 * partitions, UPSERT of the latest positions), at least every `intervalMs` or when `batchSize` fixes wait.
 *
 * When the database is unreachable nothing is dropped: fixes wait in memory up to `memoryLimit`, then older
 * ones go to NDJSON files under `spoolDir` up to `diskLimitBytes`; the writer retries every interval and writes
 * the disk spool (oldest first) before memory once the database answers. Only a fix that finds both full is
 * refused (`add` returns false, the gateway does not acknowledge it) and counted in `lost`.
 */
export class PositionWriter {
  private queue: FixRow[] = [];
  private rejected: RejectedRow[] = [];
  private knownDays = new Set<string>();
  private timer: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private spoolFiles: string[] = [];
  private spoolBytes = 0;
  private spoolSeq = 0;
  private lostLogged = false;
  readonly stats = { written: 0, lost: 0, rejected: 0, batches: 0, failures: 0 };
  /** False while the database refuses writes (the spool is in use). */
  healthy = true;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly memoryLimit: number;
  private readonly diskLimit: number;

  constructor(private readonly opts: WriterOptions) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.batchSize = opts.batchSize ?? 5000;
    this.memoryLimit = opts.memoryLimit ?? 200_000;
    this.diskLimit = opts.diskLimitBytes ?? 512 * 1024 * 1024;
    this.recoverSpool();
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Fixes waiting in memory and on disk. */
  get pending(): number {
    return this.queue.length + this.spoolFiles.length;
  }

  get spooledBytes(): number {
    return this.spoolBytes;
  }

  /** Take a fix; false when it cannot be kept (the spool is full): the caller must not acknowledge it. */
  add(row: FixRow): boolean {
    if (this.queue.length >= this.memoryLimit && !this.spill()) {
      this.stats.lost++;
      if (!this.lostLogged) {
        this.lostLogged = true;
        this.opts.log.error({ memoryLimit: this.memoryLimit, diskLimitBytes: this.diskLimit }, 'vehicle fix spool full: fixes are being refused and lost');
      }
      return false;
    }
    this.queue.push(row);
    if (this.queue.length >= this.batchSize && this.healthy) void this.flush();
    return true;
  }

  reject(row: RejectedRow): void {
    this.stats.rejected++;
    // Rejections are evidence, not data: bounded, and the oldest are given up first when the database is away.
    if (this.rejected.length >= 10_000) this.rejected.shift();
    this.rejected.push(row);
  }

  /** Write what waits now; resolves when the queue is empty or the database refused. */
  flush(): Promise<void> {
    this.running ??= this.drain().finally(() => (this.running = null));
    return this.running;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    // Whatever the database did not take stays on disk for the next start.
    while (this.queue.length) if (!this.spill(true)) break;
  }

  private async drain(): Promise<void> {
    for (;;) {
      let rows: FixRow[];
      let file: string | null = null;
      if (this.spoolFiles.length) {
        file = this.spoolFiles[0]!;
        rows = fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as FixRow);
      } else {
        rows = this.queue.slice(0, this.batchSize);
      }
      const rejected = this.rejected.splice(0, this.rejected.length);
      if (rows.length === 0 && rejected.length === 0) return;
      try {
        await this.write(rows, rejected, file !== null);
      } catch (err) {
        this.rejected.unshift(...rejected);
        if (isDatabaseUnavailable(err)) {
          if (this.healthy) this.opts.log.warn({ err: (err as Error).message, waiting: this.queue.length }, 'database unreachable: spooling vehicle fixes');
          this.healthy = false;
          this.stats.failures++;
          return;
        }
        // A batch the database refuses for its content would block every later fix: log it and give it up.
        this.opts.log.error({ err, fixes: rows.length }, 'a batch of vehicle fixes was refused by the database');
        this.stats.lost += rows.length;
        this.rejected.splice(0, rejected.length);
      }
      if (file) {
        this.spoolBytes -= fs.statSync(file).size;
        fs.rmSync(file, { force: true });
        this.spoolFiles.shift();
      } else this.queue.splice(0, rows.length);
      if (!this.healthy) this.opts.log.info('database reachable again: vehicle fix spool written');
      this.healthy = true;
      this.lostLogged = false;
    }
  }

  private async write(rows: FixRow[], rejected: RejectedRow[], replay: boolean): Promise<void> {
    const client = await this.opts.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL client_min_messages = warning`);
      const days = new Set<string>();
      for (const r of rows) days.add(utcDay(r.time));
      for (const r of rejected) days.add(`r${utcDay(r.receivedAt)}`);
      const newDays = [...days].filter((d) => !this.knownDays.has(d));
      for (const d of newDays)
        await client.query(`SELECT vehicles.ensure_day($1, $2::timestamptz)`, d.startsWith('r') ? ['rejected_fixes', `${d.slice(1)}T00:00:00Z`] : ['positions', `${d}T00:00:00Z`]);
      if (rows.length) {
        // A batch fresh from memory goes straight into the positions (one COPY, as fast as the table allows); a
        // fix that is already there (a terminal resending after a lost reply, a spool written twice) makes the
        // COPY fail as a whole, and the batch goes the staging way instead, where duplicates are skipped.
        let direct = !replay;
        if (direct) {
          await client.query('SAVEPOINT direct');
          try {
            await copyRows(client, `COPY vehicles.positions (${POSITION_COLUMNS}) FROM STDIN`, rows, positionLine);
            await client.query('RELEASE SAVEPOINT direct');
          } catch (err) {
            if ((err as { code?: string }).code !== '23505') throw err;
            await client.query('ROLLBACK TO SAVEPOINT direct');
            direct = false;
          }
        }
        if (direct) {
          await client.query(LATEST_ROWS_SQL, latestColumns(rows));
        } else {
          await client.query(STAGE_SQL);
          await copyRows(client, 'COPY fix_stage FROM STDIN', rows, copyLine);
          await client.query(INSERT_SQL);
          await client.query(LATEST_SQL);
        }
      }
      if (rejected.length)
        await client.query(REJECTED_SQL, [
          JSON.stringify(rejected.map((r) => ({ vehicle_id: r.vehicleId, fix_time: r.time, received_at: r.receivedAt, lon: r.lon, lat: r.lat, reason: r.reason }))),
        ]);
      await client.query('COMMIT');
      for (const d of newDays) this.knownDays.add(d);
      this.stats.written += rows.length;
      this.stats.batches++;
      this.opts.onWritten?.(rows.length);
    } catch (err) {
      broken = isDatabaseUnavailable(err);
      if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** Move the oldest half of memory to a spool file; false when the disk bound is reached. */
  private spill(all = false): boolean {
    const n = all ? this.queue.length : Math.max(1, Math.floor(this.memoryLimit / 2));
    const rows = this.queue.slice(0, n);
    const data = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
    if (this.spoolBytes + Buffer.byteLength(data) > this.diskLimit) return false;
    fs.mkdirSync(this.opts.spoolDir, { recursive: true });
    const file = path.join(this.opts.spoolDir, `fixes-${Date.now()}-${process.pid}-${String(this.spoolSeq++).padStart(6, '0')}.ndjson`);
    fs.writeFileSync(file, data);
    this.spoolFiles.push(file);
    this.spoolBytes += Buffer.byteLength(data);
    this.queue.splice(0, n);
    return true;
  }

  /** Spool files a previous process left (the database was away when it stopped) are written first. */
  private recoverSpool(): void {
    if (!fs.existsSync(this.opts.spoolDir)) return;
    for (const f of fs.readdirSync(this.opts.spoolDir).filter((f) => /^fixes-.*\.ndjson$/.test(f)).sort()) {
      const file = path.join(this.opts.spoolDir, f);
      this.spoolFiles.push(file);
      this.spoolBytes += fs.statSync(file).size;
    }
  }
}

/** COPY rows as text lines, in chunks, waiting for the stream when it is full. */
async function copyRows(client: pg.PoolClient, sql: string, rows: readonly FixRow[], line: (r: FixRow) => string): Promise<void> {
  const copy = client.query(copyFrom(sql));
  const done = new Promise<void>((resolve, reject) => {
    copy.on('finish', resolve);
    copy.on('error', reject);
  });
  let chunk = '';
  for (const r of rows) {
    chunk += line(r);
    if (chunk.length > 65536) {
      if (!copy.write(chunk)) await once(copy, 'drain');
      chunk = '';
    }
  }
  copy.end(chunk);
  await done;
}

/** The newest fix of each vehicle in the batch, as the arrays LATEST_ROWS_SQL unnests. */
function latestColumns(rows: readonly FixRow[]): unknown[][] {
  const newest = new Map<string, FixRow>();
  for (const r of rows) {
    const n = newest.get(r.vehicleId);
    if (!n || n.time < r.time) newest.set(r.vehicleId, r);
  }
  const list = [...newest.values()];
  return [
    list.map((r) => r.vehicleId),
    list.map((r) => r.time),
    list.map((r) => r.lon),
    list.map((r) => r.lat),
    list.map((r) => r.speedKmh),
    list.map((r) => r.course),
    list.map((r) => r.alarm),
    list.map((r) => r.status),
    list.map((r) => r.receivedAt),
  ];
}
