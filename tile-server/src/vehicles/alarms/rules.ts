import type pg from 'pg';
import { z } from 'zod';
import { audit, type AuditActor } from '../../auth/audit.ts';
import { HttpError } from '../../errors.ts';
import { vehicleTypes, type VehicleType } from '../fleet.ts';

/**
 * Alarm rules as data: thresholds of the rules that are not fences, per department and vehicle type, stored in
 * vehicles.alarm_rules and merged over the defaults below (a department changes what it needs, nothing else).
 *
 * - 疲劳驾驶 fatigue_driving: continuous driving longer than `dayMaxS` (by day) or `nightMaxS` (when the driving
 *   began at night, `nightFrom`–`nightTo` in the city's time) without a rest of `restMinS`. Defaults from the
 *   考核 rule (more than 4 h by day or 2 h by night without a stop) and the 20-minute rest of the road transport
 *   rules; a gap in reporting as long as a rest counts as one (the terminal is off while parked).
 * - 违规停车 stop_outside_area: stopped (within `radiusM`, at most `stopSpeedKmh`) for `minStopS` outside every
 *   停车场/工地/消纳场 (expected_stop fence) of the department that applies to the vehicle's type. Only for
 *   the types where it is enabled and only where the department has drawn expected stops.
 */
export const ruleKinds = ['fatigue_driving', 'stop_outside_area'] as const;
export type RuleKind = (typeof ruleKinds)[number];

const fatigueSchema = z
  .object({
    enabled: z.boolean(),
    dayMaxS: z.number().int().min(600).max(86_400),
    nightMaxS: z.number().int().min(600).max(86_400),
    restMinS: z.number().int().min(60).max(86_400),
    nightFrom: z.number().int().min(0).max(23),
    nightTo: z.number().int().min(0).max(23),
    movingKmh: z.number().min(0).max(60),
  })
  .strict();
const stopSchema = z
  .object({
    enabled: z.boolean(),
    minStopS: z.number().int().min(60).max(86_400),
    radiusM: z.number().min(10).max(2000),
    stopSpeedKmh: z.number().min(0).max(30),
  })
  .strict();

export type FatigueRule = z.infer<typeof fatigueSchema>;
export type StopOutsideRule = z.infer<typeof stopSchema>;
export interface Rules {
  fatigue_driving: FatigueRule;
  stop_outside_area: StopOutsideRule;
}

const fatigueOn: VehicleType[] = ['muck_truck', 'dangerous_goods', 'school_bus', 'bus'];
const stopOn: VehicleType[] = ['muck_truck', 'dangerous_goods'];

export function defaultRules(type: VehicleType): Rules {
  return {
    fatigue_driving: { enabled: fatigueOn.includes(type), dayMaxS: 4 * 3600, nightMaxS: 2 * 3600, restMinS: 20 * 60, nightFrom: 22, nightTo: 6, movingKmh: 5 },
    stop_outside_area: { enabled: stopOn.includes(type), minStopS: 10 * 60, radiusM: 100, stopSpeedKmh: 3 },
  };
}

export interface RuleRow {
  department: string;
  /** null: every type of the department (a row for a type wins over it). */
  vehicleType: VehicleType | null;
  rule: RuleKind;
  params: Record<string, unknown>;
}

/** The rules of every department and type, looked up per fix (a map, no query). */
export class RuleBook {
  private rows: RuleRow[] = [];
  private cache = new Map<string, Rules>();

  set(rows: RuleRow[]): void {
    this.rows = rows;
    this.cache.clear();
  }

  for(department: string, type: VehicleType): Rules {
    const key = `${department}|${type}`;
    let r = this.cache.get(key);
    if (!r) {
      r = defaultRules(type);
      // Department-wide rows first, then the type's own.
      for (const row of [...this.rows.filter((x) => x.department === department && x.vehicleType === null), ...this.rows.filter((x) => x.department === department && x.vehicleType === type)])
        Object.assign(r[row.rule], row.params);
      this.cache.set(key, r);
    }
    return r;
  }
}

const SELECT_SQL = `SELECT department_id AS department, vehicle_type AS "vehicleType", rule, params FROM vehicles.alarm_rules ORDER BY department_id, rule`;

export async function loadRules(pool: pg.Pool): Promise<RuleRow[]> {
  return (await pool.query<RuleRow>(SELECT_SQL)).rows;
}

/** The body of PUT /api/vehicles/rules/:rule: some parameters of one rule, for the department or one type. */
export function parseRuleChange(rule: string, body: unknown): { rule: RuleKind; vehicleType: VehicleType | null; params: Record<string, unknown> } {
  if (!(ruleKinds as readonly string[]).includes(rule)) throw new HttpError(404, 'unknown_rule', `no rule "${rule.slice(0, 40)}" (rules: ${ruleKinds.join(', ')})`);
  const schema = z
    .object({ vehicleType: z.enum(vehicleTypes).nullable().default(null), params: (rule === 'fatigue_driving' ? fatigueSchema : stopSchema).partial() })
    .strict();
  const r = schema.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new HttpError(400, 'invalid_rule', `${i.path.join('.') || 'rule'}: ${i.message}`);
  }
  return { rule: rule as RuleKind, vehicleType: r.data.vehicleType, params: r.data.params };
}

/** Store a change of a rule (merged over what the department had) with its audit record, in one transaction. */
export async function saveRule(
  pool: pg.Pool,
  department: string,
  change: { rule: RuleKind; vehicleType: VehicleType | null; params: Record<string, unknown> },
  actor: AuditActor,
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO vehicles.alarm_rules (department_id, vehicle_type, rule, params) VALUES ($1, $2, $3, $4)
       ON CONFLICT (department_id, coalesce(vehicle_type, ''), rule) DO UPDATE SET params = vehicles.alarm_rules.params || EXCLUDED.params, updated_at = now()`,
      [department, change.vehicleType, change.rule, change.params],
    );
    await audit(client, actor, { action: 'vehicle.rule', outcome: 'success', target: `rule:${change.rule}`, details: { department, vehicleType: change.vehicleType, params: change.params } });
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
