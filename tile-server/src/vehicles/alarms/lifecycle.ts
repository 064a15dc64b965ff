import { audit, systemActor, type AuditActor } from '../../auth/audit.ts';
import type pg from 'pg';
import { HttpError } from '../../errors.ts';

/**
 * The alarm lifecycle as data: raised → acknowledged (an operator, a note) → closed; a repeat keeps the state
 * (it collapses into the open alarm). `transition` is the one function that moves an alarm: it locks the row,
 * checks the move against this table, updates and writes the audit row in one transaction.
 */
export const alarmStates = ['raised', 'acknowledged', 'closed'] as const;
export type AlarmState = (typeof alarmStates)[number];
export type AlarmAction = 'acknowledge' | 'close';

export const transitions: Record<AlarmState, Partial<Record<AlarmAction, AlarmState>>> = {
  raised: { acknowledge: 'acknowledged', close: 'closed' },
  acknowledged: { close: 'closed' },
  closed: {},
};

export interface AlarmRow {
  id: number;
  vehicle_id: string;
  department_id: string;
  type: string;
  fence_id: number | null;
  state: AlarmState;
  first_at: Date;
  last_at: Date;
  repeats: number;
  lon: number | null;
  lat: number | null;
  detail: Record<string, unknown> | null;
  acknowledged_by: string | null;
  acknowledged_at: Date | null;
  note: string | null;
  closed_at: Date | null;
}

export async function transition(
  pool: pg.Pool,
  id: number,
  action: AlarmAction,
  /** `sees`: the principal's scope over vehicles (live/access.ts); an alarm of a vehicle it cannot see is unknown. */
  actor: { name: string; department: string; sees?: (vehicleId: string) => boolean },
  note: string | null,
  /** Who, for the platform's audit trail (written in the same transaction). */
  auditActor: AuditActor = systemActor(actor.name),
): Promise<AlarmRow> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const row = (await client.query<AlarmRow>(`SELECT * FROM vehicles.alarms WHERE id = $1 FOR UPDATE`, [id])).rows[0];
    // Another department's alarm is answered like a missing one.
    if (!row || row.department_id !== actor.department || (actor.sees && !actor.sees(row.vehicle_id))) throw new HttpError(404, 'unknown_alarm', `no alarm ${id}`);
    const to = transitions[row.state][action];
    if (!to) throw new HttpError(409, 'invalid_transition', `alarm ${id} is ${row.state}: it cannot be ${action === 'close' ? 'closed' : 'acknowledged'}`);
    const updated = (
      await client.query<AlarmRow>(
        `UPDATE vehicles.alarms SET state = $2,
           acknowledged_by = CASE WHEN $3 = 'acknowledge' THEN $4 ELSE acknowledged_by END,
           acknowledged_at = CASE WHEN $3 = 'acknowledge' THEN now() ELSE acknowledged_at END,
           note = coalesce($5, note),
           closed_at = CASE WHEN $2 = 'closed' THEN now() ELSE closed_at END
         WHERE id = $1 RETURNING *`,
        [id, to, action, actor.name, note],
      )
    ).rows[0]!;
    await client.query(
      `INSERT INTO vehicles.alarm_audit (alarm_id, action, from_state, to_state, actor, note) VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, action, row.state, to, actor.name, note],
    );
    await audit(client, auditActor, {
      action: `alarm.${action}`,
      outcome: 'success',
      target: `alarm:${id}`,
      details: { from: row.state, to, note, vehicle: (row as unknown as { vehicle_id?: unknown }).vehicle_id ?? null },
    });
    await client.query('COMMIT');
    return updated;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Raise an alarm, or count a repeat on the open one of the same vehicle, type and fence. */
export async function raise(
  pool: pg.Pool,
  a: { vehicleId: string; department: string; type: string; fenceId: number | null; at: number; lon: number | null; lat: number | null; detail: Record<string, unknown> | null },
): Promise<AlarmRow & { repeated: boolean }> {
  const { rows } = await pool.query<AlarmRow & { repeated: boolean }>(
    `INSERT INTO vehicles.alarms AS a (vehicle_id, department_id, type, fence_id, first_at, last_at, lon, lat, detail)
     VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0), to_timestamp($5 / 1000.0), $6, $7, $8)
     ON CONFLICT (vehicle_id, type, coalesce(fence_id, 0)) WHERE state <> 'closed'
     DO UPDATE SET repeats = a.repeats + 1, last_at = greatest(a.last_at, EXCLUDED.last_at), lon = EXCLUDED.lon, lat = EXCLUDED.lat
     RETURNING *, (xmax <> 0) AS repeated`,
    [a.vehicleId, a.department, a.type, a.fenceId, a.at, a.lon, a.lat, a.detail],
  );
  return rows[0]!;
}
