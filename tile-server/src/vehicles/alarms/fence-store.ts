import type pg from 'pg';
import { z } from 'zod';
import { HttpError } from '../../errors.ts';
import { vehicleTypes } from '../fleet.ts';
import type { FenceShape, ScheduleWindow } from './geometry.ts';

/** Fences: the SQL and the checks of a new fence (the API's body). */
export const fenceKinds = ['no_entry', 'speed_limit', 'expected_stop', 'route'] as const;
export type FenceKind = (typeof fenceKinds)[number];

export interface Fence {
  id: number;
  department: string;
  name: string;
  kind: FenceKind;
  shape: FenceShape;
  speedLimitKmh: number | null;
  vehicleTypes: string[] | null;
  schedule: ScheduleWindow[] | null;
  dwellS: number;
}

const lonLat = z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]);
const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time HH:MM');

export const newFenceSchema = z
  .object({
    name: z.string().min(1).max(200),
    kind: z.enum(fenceKinds),
    geometry: z.discriminatedUnion('type', [
      z.object({
        type: z.literal('Polygon'),
        coordinates: z
          .array(
            z
              .array(lonLat)
              .min(4, 'a ring needs at least 3 vertices and the first again at the end')
              .max(10_000)
              .refine((r) => r[0]![0] === r[r.length - 1]![0] && r[0]![1] === r[r.length - 1]![1], 'a ring must end where it starts (closed)'),
          )
          .min(1)
          .max(100),
      }),
      z.object({ type: z.literal('Point'), coordinates: lonLat }),
      z.object({ type: z.literal('LineString'), coordinates: z.array(lonLat).min(2).max(10_000) }),
    ]),
    radiusM: z.number().positive().max(100_000).optional(),
    widthM: z.number().positive().max(10_000).optional(),
    speedLimitKmh: z.number().positive().max(300).optional(),
    vehicleTypes: z.array(z.enum(vehicleTypes)).min(1).optional(),
    schedule: z.array(z.object({ days: z.array(z.number().int().min(1).max(7)).min(1), from: time, to: time })).max(50).optional(),
    dwellS: z.number().int().min(0).max(3600).default(30),
  })
  .strict()
  .refine((f) => f.geometry.type !== 'Point' || f.radiusM !== undefined, { message: 'a circle (Point) needs radiusM' })
  .refine((f) => f.geometry.type !== 'LineString' || f.widthM !== undefined, { message: 'a corridor (LineString) needs widthM' })
  .refine((f) => f.kind !== 'speed_limit' || f.speedLimitKmh !== undefined, { message: 'a speed_limit fence needs speedLimitKmh' });
export type NewFence = z.infer<typeof newFenceSchema>;

export function parseFence(body: unknown): NewFence {
  const r = newFenceSchema.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new HttpError(400, 'invalid_fence', `${i.path.join('.') || 'fence'}: ${i.message}`);
  }
  return r.data;
}

export async function createFence(pool: pg.Pool | pg.ClientBase, department: string, f: NewFence): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO vehicles.fences (department_id, name, kind, geom, radius_m, width_m, speed_limit_kmh, vehicle_types, schedule, dwell_s)
     VALUES ($1, $2, $3, ST_SetSRID(ST_GeomFromGeoJSON($4), 4326), $5, $6, $7, $8, $9, $10) RETURNING id`,
    [department, f.name, f.kind, JSON.stringify(f.geometry), f.radiusM ?? null, f.widthM ?? null, f.speedLimitKmh ?? null, f.vehicleTypes ?? null, f.schedule ? JSON.stringify(f.schedule) : null, f.dwellS],
  );
  return rows[0]!.id;
}

/** Replace a fence's geometry and properties, keeping its id (alarms reference it); false when the department has no such fence. */
export async function updateFence(run: pg.Pool | pg.ClientBase, department: string, id: number, f: NewFence): Promise<boolean> {
  const r = await run.query(
    `UPDATE vehicles.fences SET name = $3, kind = $4, geom = ST_SetSRID(ST_GeomFromGeoJSON($5), 4326), radius_m = $6, width_m = $7,
            speed_limit_kmh = $8, vehicle_types = $9, schedule = $10, dwell_s = $11
      WHERE id = $1 AND department_id = $2`,
    [id, department, f.name, f.kind, JSON.stringify(f.geometry), f.radiusM ?? null, f.widthM ?? null, f.speedLimitKmh ?? null, f.vehicleTypes ?? null, f.schedule ? JSON.stringify(f.schedule) : null, f.dwellS],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function deleteFence(pool: pg.Pool | pg.ClientBase, department: string, id: number): Promise<boolean> {
  return ((await pool.query(`DELETE FROM vehicles.fences WHERE id = $1 AND department_id = $2`, [id, department])).rowCount ?? 0) > 0;
}

export async function loadFences(pool: pg.Pool): Promise<Fence[]> {
  const { rows } = await pool.query<{
    id: number;
    department: string;
    name: string;
    kind: FenceKind;
    geometry: { type: string; coordinates: unknown };
    radius_m: number | null;
    width_m: number | null;
    speed_limit_kmh: number | null;
    vehicle_types: string[] | null;
    schedule: ScheduleWindow[] | null;
    dwell_s: number;
  }>(
    `SELECT id, department_id AS department, name, kind, ST_AsGeoJSON(geom)::json AS geometry, radius_m, width_m, speed_limit_kmh,
            vehicle_types, schedule, dwell_s FROM vehicles.fences ORDER BY id`,
  );
  return rows.map((r) => ({
    id: r.id,
    department: r.department,
    name: r.name,
    kind: r.kind,
    shape:
      r.geometry.type === 'Point'
        ? { kind: 'circle', center: r.geometry.coordinates as [number, number], radiusM: r.radius_m! }
        : r.geometry.type === 'LineString'
          ? { kind: 'corridor', line: r.geometry.coordinates as Array<[number, number]>, widthM: r.width_m! }
          : { kind: 'polygon', rings: r.geometry.coordinates as Array<Array<[number, number]>> },
    speedLimitKmh: r.speed_limit_kmh,
    vehicleTypes: r.vehicle_types,
    schedule: r.schedule,
    dwellS: r.dwell_s,
  }));
}

/** A fence as GET /api/vehicles/fences lists it (and as the live channel sends it): a GeoJSON Feature. */
export interface FenceFeature {
  type: 'Feature';
  id: number;
  geometry: { type: 'Point' | 'LineString' | 'Polygon'; coordinates: unknown };
  properties: {
    name: string;
    kind: FenceKind;
    radiusM: number | null;
    widthM: number | null;
    speedLimitKmh: number | null;
    vehicleTypes: string[] | null;
    schedule: ScheduleWindow[] | null;
    dwellS: number;
  };
}

export function fenceFeature(f: Fence): FenceFeature {
  const s = f.shape;
  return {
    type: 'Feature',
    id: f.id,
    geometry: s.kind === 'circle' ? { type: 'Point', coordinates: s.center } : s.kind === 'corridor' ? { type: 'LineString', coordinates: s.line } : { type: 'Polygon', coordinates: s.rings },
    properties: {
      name: f.name,
      kind: f.kind,
      radiusM: s.kind === 'circle' ? s.radiusM : null,
      widthM: s.kind === 'corridor' ? s.widthM : null,
      speedLimitKmh: f.speedLimitKmh,
      vehicleTypes: f.vehicleTypes,
      schedule: f.schedule,
      dwellS: f.dwellS,
    },
  };
}
