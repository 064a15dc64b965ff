import { parse } from 'csv-parse/sync';
import type pg from 'pg';
import { FleetError, addVehicle, vehicleTypes, type VehicleInfo, type VehicleType } from './fleet.ts';

/**
 * A CSV of vehicles and terminals (header row; columns plate, color, phone, type, department, company, district, group;
 * the Chinese headers 车牌号, 车牌颜色, 终端手机号, 车辆类型, 所属部门, 企业, 区县, 分组 work too), loaded in one transaction:
 * every row is checked, and one bad row loads nothing (the error names its line).
 */
const aliases: Record<string, string> = {
  车牌号: 'plate',
  车牌: 'plate',
  车牌颜色: 'color',
  颜色: 'color',
  终端手机号: 'phone',
  手机号: 'phone',
  sim: 'phone',
  车辆类型: 'type',
  类型: 'type',
  所属部门: 'department',
  部门: 'department',
  企业: 'company',
  所属企业: 'company',
  区县: 'district',
  行政区划: 'district',
  分组: 'group',
  车队: 'group',
};

export async function importVehicleCsv(
  client: pg.ClientBase,
  text: string,
  opts: { department?: string; onlyDepartment?: string; /** Also checked per row (e.g. the district within a scope). */ check?: (v: { district: string | null }, line: number) => void; /** In the transaction, before it commits (the audit record). */ beforeCommit?: (loaded: VehicleInfo[]) => Promise<void> } = {},
): Promise<VehicleInfo[]> {
  let records: Record<string, string>[];
  try {
    records = parse(text.replace(/^\uFEFF/, ''), {
      columns: (header: string[]) => header.map((h) => aliases[h.trim()] ?? h.trim().toLowerCase()),
      skip_empty_lines: true,
      trim: true,
    });
  } catch (err) {
    throw new FleetError(`the CSV cannot be read: ${(err as Error).message}`);
  }
  if (records.length === 0) throw new FleetError('the CSV holds no vehicles');
  for (const col of ['plate', 'color', 'phone']) if (!(col in records[0]!)) throw new FleetError(`the CSV has no "${col}" column`);
  const out: VehicleInfo[] = [];
  await client.query('BEGIN');
  try {
    for (const [i, r] of records.entries()) {
      const line = i + 2;
      const department = r.department || opts.department;
      if (!department) throw new FleetError(`line ${line}: no department (a column, or --department)`);
      if (opts.onlyDepartment && department !== opts.onlyDepartment)
        throw new FleetError(`line ${line}: department ${department} is not yours (${opts.onlyDepartment})`);
      const type = (r.type || 'other') as VehicleType;
      if (!(vehicleTypes as readonly string[]).includes(type)) throw new FleetError(`line ${line}: type "${type}" is not one of ${vehicleTypes.join(', ')}`);
      if (!/^\d{1,3}$/.test(r.color ?? '')) throw new FleetError(`line ${line}: plate colour "${r.color}" is not a JT/T 415 code`);
      opts.check?.({ district: r.district || null }, line);
      try {
        out.push(await addVehicle(client, { plate: r.plate ?? '', color: Number(r.color), phone: r.phone ?? '', type, department, company: r.company || null, district: r.district || null, group: r.group || null }));
      } catch (err) {
        if (err instanceof FleetError) throw new FleetError(`line ${line}: ${err.message}`);
        throw err;
      }
    }
    await opts.beforeCommit?.(out);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
  return out;
}
