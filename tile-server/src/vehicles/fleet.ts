import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { normalisePhone } from './jt808/frame.ts';
import { REGISTER_RESULT } from './jt808/messages.ts';

/**
 * The registered fleet: vehicles (plate, JT/T 415 plate colour, type, department) and their JT/T 808 terminals
 * (phone). All SQL about vehicles and terminals is here; the gateway, the CLI and the routes call these.
 */
export const vehicleTypes = ['muck_truck', 'dangerous_goods', 'school_bus', 'bus', 'taxi', 'other'] as const;
export type VehicleType = (typeof vehicleTypes)[number];

export interface VehicleInfo {
  id: string;
  plate: string | null;
  plateColor: number | null;
  type: VehicleType;
  department: string;
  company: string | null;
  phone: string | null;
  /** 行政区划 of registration (scopes of operators limit by it); null = a city-level fleet. */
  district?: string | null;
  /** The desk's group (车队/线路). */
  group?: string | null;
}

export interface NewVehicle {
  plate: string;
  color: number;
  phone: string;
  type: VehicleType;
  department: string;
  company?: string | null;
  district?: string | null;
  group?: string | null;
}

export class FleetError extends Error {}

const VEHICLE_COLUMNS = `v.id, v.plate, v.plate_color AS "plateColor", v.vehicle_type AS type, v.department_id AS department,
  v.company, t.phone, v.district_code AS district, v.fleet_group AS "group"`;

/** A vehicle's id is its plate (the key imported tracks already use); the terminal phone is normalised. */
export async function addVehicle(db: pg.Pool | pg.ClientBase, v: NewVehicle): Promise<VehicleInfo> {
  const plate = v.plate.trim();
  if (!/^[^\s\p{Cc}]{1,16}$/u.test(plate)) throw new FleetError(`plate "${v.plate}" is not a plate (1–16 characters, no spaces)`);
  if (!Number.isInteger(v.color) || v.color < 0 || v.color > 255) throw new FleetError(`plate colour ${v.color} is not a JT/T 415 code (0–255)`);
  if (!(vehicleTypes as readonly string[]).includes(v.type)) throw new FleetError(`type "${v.type}" is not one of ${vehicleTypes.join(', ')}`);
  if (v.district != null && !/^\d{6}$/.test(v.district)) throw new FleetError(`district "${v.district}" is not a 6-digit 行政区划 code`);
  if (v.group != null && !/^[^\p{Cc}]{1,64}$/u.test(v.group)) throw new FleetError(`group "${v.group}" is not 1–64 characters`);
  if (!/^\d{1,20}$/.test(v.phone)) throw new FleetError(`terminal phone "${v.phone}" is not 1–20 digits`);
  const phone = normalisePhone(v.phone);
  if (phone === '0') throw new FleetError('terminal phone 0 is not a phone');
  const dept = await db.query(`SELECT 1 FROM citybase.departments WHERE id = $1`, [v.department]);
  if (!dept.rowCount) throw new FleetError(`unknown department "${v.department}" (see citybase.departments)`);
  const taken = await db.query<{ vehicle_id: string }>(`SELECT vehicle_id FROM vehicles.terminals WHERE phone = $1`, [phone]);
  if (taken.rows[0] && taken.rows[0].vehicle_id !== plate) throw new FleetError(`terminal ${phone} already belongs to ${taken.rows[0].vehicle_id}`);
  const owner = await db.query<{ department_id: string }>(`SELECT department_id FROM vehicles.vehicles WHERE id = $1`, [plate]);
  if (owner.rows[0] && owner.rows[0].department_id !== v.department)
    throw new FleetError(`vehicle ${plate} belongs to department ${owner.rows[0].department_id}`);
  await db.query(
    `INSERT INTO vehicles.vehicles (id, department_id, plate, plate_color, vehicle_type, company, district_code, fleet_group)
     VALUES ($1, $2, $1, $3, $4, $5, $6, $7)
     ON CONFLICT (id) DO UPDATE SET plate = $1, plate_color = $3, vehicle_type = $4, company = coalesce($5, vehicles.company),
       district_code = coalesce($6, vehicles.district_code), fleet_group = coalesce($7, vehicles.fleet_group), updated_at = now()`,
    [plate, v.department, v.color, v.type, v.company ?? null, v.district ?? null, v.group ?? null],
  );
  await db.query(
    `INSERT INTO vehicles.terminals (phone, vehicle_id) VALUES ($1, $2)
     ON CONFLICT (vehicle_id) DO UPDATE SET phone = $1, terminal_id = NULL, auth_hash = NULL, registered_at = NULL
     WHERE terminals.phone <> $1`,
    [phone, plate],
  );
  return (await findVehicle(db, plate))!;
}

export async function findVehicle(db: pg.Pool | pg.ClientBase, id: string): Promise<VehicleInfo | null> {
  const { rows } = await db.query<VehicleInfo>(
    `SELECT ${VEHICLE_COLUMNS} FROM vehicles.vehicles v LEFT JOIN vehicles.terminals t ON t.vehicle_id = v.id WHERE v.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** Every vehicle, or those of some departments. */
export async function listVehicles(db: pg.Pool | pg.ClientBase, departments: readonly string[] | null = null): Promise<VehicleInfo[]> {
  const { rows } = await db.query<VehicleInfo>(
    `SELECT ${VEHICLE_COLUMNS} FROM vehicles.vehicles v LEFT JOIN vehicles.terminals t ON t.vehicle_id = v.id
     WHERE $1::text[] IS NULL OR v.department_id = ANY ($1) ORDER BY v.id`,
    [departments],
  );
  return rows;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * 0x0100: the terminal must be registered on the platform (phone) for the vehicle it names (plate and colour).
 * Result codes as JT/T 808: 0 ok (with a fresh auth code), 1 the vehicle has another terminal, 2 unknown vehicle,
 * 3 the terminal belongs to another vehicle, 4 unknown terminal.
 */
export async function registerTerminal(
  db: pg.Pool,
  r: { phone: string; plate: string; plateColor: number; terminalId: string; maker: string; model: string },
): Promise<{ result: number; authCode?: string; vehicleId?: string }> {
  const terminal = (await db.query<{ vehicle_id: string }>(`SELECT vehicle_id FROM vehicles.terminals WHERE phone = $1`, [r.phone])).rows[0];
  if (!terminal) return { result: REGISTER_RESULT.unknownTerminal };
  // An unplated vehicle (colour 0) sends its VIN in the plate field; vehicles are known by plate here.
  const vehicle = (await db.query<{ id: string }>(`SELECT id FROM vehicles.vehicles WHERE plate = $1 AND plate_color = $2`, [r.plate, r.plateColor])).rows[0];
  if (!vehicle) return { result: REGISTER_RESULT.unknownVehicle };
  if (terminal.vehicle_id !== vehicle.id) {
    const other = (await db.query(`SELECT 1 FROM vehicles.terminals WHERE vehicle_id = $1 AND registered_at IS NOT NULL`, [vehicle.id])).rowCount;
    return { result: other ? REGISTER_RESULT.vehicleTaken : REGISTER_RESULT.terminalTaken };
  }
  const authCode = randomBytes(12).toString('hex');
  await db.query(
    `UPDATE vehicles.terminals SET terminal_id = $2, maker = $3, model = $4, auth_hash = $5, registered_at = now() WHERE phone = $1`,
    [r.phone, r.terminalId, r.maker, r.model, sha256(authCode)],
  );
  return { result: REGISTER_RESULT.ok, authCode, vehicleId: vehicle.id };
}

/** 0x0102: the code issued at registration, for this phone. */
export async function authenticateTerminal(db: pg.Pool, phone: string, code: string): Promise<VehicleInfo | null> {
  const { rows } = await db.query<VehicleInfo & { auth_hash: string | null }>(
    `SELECT ${VEHICLE_COLUMNS}, t.auth_hash FROM vehicles.terminals t JOIN vehicles.vehicles v ON v.id = t.vehicle_id WHERE t.phone = $1`,
    [phone],
  );
  const row = rows[0];
  if (!row?.auth_hash) return null;
  const a = Buffer.from(row.auth_hash, 'hex');
  const b = Buffer.from(sha256(code), 'hex');
  if (!timingSafeEqual(a, b)) return null;
  const { auth_hash: _, ...vehicle } = row;
  return vehicle;
}
