import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Air quality index per HJ 633 (2012 and 2026 editions), computed from the tables in hj633.json.
 *
 * IAQI_P = (IAQI_Hi − IAQI_Lo) / (BP_Hi − BP_Lo) × (C_P − BP_Lo) + IAQI_Lo, and AQI = max IAQI_P. Each sub-index is
 * rounded UP to a whole number before the maximum is taken (as the reference implementations do: C# Math.Ceiling,
 * aqi-hub .ceil(); the standard's own wording could not be verified), so AQI 50.1 is 51, level 2. A value on a
 * breakpoint gets that breakpoint's IAQI. Concentrations above a table's top breakpoint get 500 (with a note).
 * The table notes apply: SO2 1h above 800 µg/m³ and O3 8h above 800 µg/m³ have no sub-index of their own and
 * the pollutant's sub-index comes from SO2 24h and O3 1h instead. 24-hour SO2 uses the 24-hour row.
 */

const breakpointRow = z.array(z.number().nonnegative().nullable()).length(8);
const tablesSchema = z.object({
  iaqi: z.array(z.number()).length(8),
  parameters: z.record(z.string(), z.object({ pollutant: z.string(), label: z.string(), unit: z.string() })),
  standards: z.record(
    z.string(),
    z.object({ title: z.string(), inForceFrom: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), breakpoints: z.record(z.string(), breakpointRow) }),
  ),
  fallbacks: z.record(z.string(), z.object({ above: z.number(), use: z.string(), note: z.string() })),
  levels: z.array(z.object({ level: z.number(), max: z.number().nullable(), category: z.string(), category_en: z.string(), color: z.string() })),
  primaryPollutantAbove: z.number(),
  exceedingAbove: z.number(),
  realtime: z.object({ columns: z.record(z.string(), z.string()), fallbackColumns: z.record(z.string(), z.string()) }),
});

export const tables = tablesSchema.parse(JSON.parse(readFileSync(new URL('./hj633.json', import.meta.url), 'utf8')));

export const AQI_PARAMETERS = [
  'so2_24h',
  'so2_1h',
  'no2_24h',
  'no2_1h',
  'pm10_24h',
  'co_24h',
  'co_1h',
  'o3_1h',
  'o3_8h',
  'pm2_5_24h',
] as const;
export type AqiParameter = (typeof AQI_PARAMETERS)[number];
export const STANDARDS = ['HJ633-2012', 'HJ633-2026'] as const;
export type StandardId = (typeof STANDARDS)[number];
export type AqiInput = Partial<Record<AqiParameter, number>>;

export interface AqiResult {
  aqi: number;
  level: number;
  category: string;
  color: string;
  /** Parameters whose sub-index is the AQI, named only when the AQI is above 50. */
  primary_pollutants: AqiParameter[];
  /** Parameters whose sub-index is above 100 (超标). */
  exceeding: AqiParameter[];
  iaqi: AqiInput;
  standard: StandardId;
  notes: string[];
}

/** How people write the pollutants (subscript digits): PM₂.₅, PM₁₀, O₃, NO₂, SO₂, CO. */
const DISPLAY_NAMES: Record<string, string> = { 'PM2.5': 'PM₂.₅', PM10: 'PM₁₀', O3: 'O₃', NO2: 'NO₂', SO2: 'SO₂', CO: 'CO' };

export interface NamedParameter {
  parameter: AqiParameter;
  /** The pollutant as written in reports, e.g. PM₂.₅. */
  name: string;
  /** The parameter with its averaging time, as HJ 633 names it, e.g. 颗粒物(PM2.5) 24小时平均. */
  label: string;
  unit: string;
}

/** Parameters with their names, for answers people read (the codes stay for programs). */
export function namedParameters(parameters: readonly string[]): NamedParameter[] {
  return parameters
    .filter((p): p is AqiParameter => (AQI_PARAMETERS as readonly string[]).includes(p))
    .map((p) => {
      const def = tables.parameters[p]!;
      return { parameter: p, name: DISPLAY_NAMES[def.pollutant] ?? def.pollutant, label: def.label, unit: def.unit };
    });
}

/** A problem with the input that makes the AQI undefined; `code` is the API's error code. */
export class AqiInputError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The standard in force on a day (YYYY-MM-DD, China time); null before the first one. */
export function standardInForce(day: string): StandardId | null {
  let found: StandardId | null = null;
  for (const id of STANDARDS) if (tables.standards[id]!.inForceFrom <= day) found = id;
  return found;
}

/** 1–6, its category and colour (HJ 633 附录A). */
export function levelOf(aqi: number): { level: number; category: string; color: string } {
  const l = tables.levels.find((x) => x.max === null || aqi <= x.max)!;
  return { level: l.level, category: l.category, color: l.color };
}

/** Round up, ignoring the floating-point dust of the interpolation (75.00000000001 is 75, 81.25 is 82). */
const ceil = (x: number) => Math.ceil(Number(x.toFixed(9)));

/**
 * The sub-index of one concentration, or null when the concentration lies beyond the table's defined rows (SO2
 * 1h and O3 8h above 800: see the fallbacks). `capped` tells a concentration above the top breakpoint.
 */
export function iaqiOf(parameter: AqiParameter, value: number, standard: StandardId): { iaqi: number; capped: boolean } | null {
  if (!Number.isFinite(value) || value < 0) throw new AqiInputError('invalid_parameter', `${parameter}: a concentration of 0 or more`);
  const bp = tables.standards[standard]!.breakpoints[parameter]!;
  const I = tables.iaqi;
  for (let i = 0; i < bp.length - 1; i++) {
    const lo = bp[i]!;
    const hi = bp[i + 1];
    if (hi === null || hi === undefined) return null;
    if (value <= hi) return { iaqi: ceil(((I[i + 1]! - I[i]!) / (hi - lo)) * (value - lo) + I[i]!), capped: false };
  }
  return { iaqi: I[I.length - 1]!, capped: true };
}

/** The AQI of a set of concentrations under one standard. Throws AqiInputError when it is undefined. */
export function computeAqi(input: AqiInput, standard: StandardId): AqiResult {
  const given = (Object.keys(input) as AqiParameter[]).filter((p) => input[p] !== undefined);
  if (given.length === 0) throw new AqiInputError('no_pollutants', `give at least one of ${AQI_PARAMETERS.join(', ')}`);
  const iaqi: AqiInput = {};
  const notes: string[] = [];
  for (const p of AQI_PARAMETERS) {
    const value = input[p];
    if (value === undefined) continue;
    const sub = iaqiOf(p, value, standard);
    if (sub === null) {
      const fb = tables.fallbacks[p]!;
      if (input[fb.use as AqiParameter] === undefined)
        throw new AqiInputError(`${p}_above_${fb.above}`, `${fb.note}: give ${fb.use} as well`);
      notes.push(fb.note);
      continue;
    }
    if (sub.capped) notes.push(`${p} ${value} is above the table's top breakpoint: its sub-index is reported as 500`);
    iaqi[p] = sub.iaqi;
  }
  const aqi = Math.max(...Object.values(iaqi));
  const top = (Object.keys(iaqi) as AqiParameter[]).filter((p) => iaqi[p] === aqi);
  return {
    aqi,
    ...levelOf(aqi),
    primary_pollutants: aqi > tables.primaryPollutantAbove ? top : [],
    exceeding: (Object.keys(iaqi) as AqiParameter[]).filter((p) => iaqi[p]! > tables.exceedingAbove),
    iaqi,
    standard,
    notes,
  };
}

/**
 * The AQI of one hourly reading (CNEMC columns such as so2, so2_24h, pm2_5, o3_8h; null = missing), evaluated as
 * hj633.json's `realtime` section says. The 24-hour SO2 value only stands in for an SO2 1h above 800; a reading
 * whose fallback value is missing loses that pollutant's sub-index. Null when nothing can be evaluated.
 */
export function realtimeAqi(reading: Record<string, number | null | undefined>, standard: StandardId): AqiResult | null {
  const input: AqiInput = {};
  for (const [column, parameter] of Object.entries(tables.realtime.columns)) {
    const v = reading[column];
    if (v !== null && v !== undefined) input[parameter as AqiParameter] = v;
  }
  for (const [parameter, fb] of Object.entries(tables.fallbacks)) {
    const v = input[parameter as AqiParameter];
    if (v === undefined || v <= fb.above) continue;
    const column = Object.entries(tables.realtime.fallbackColumns).find(([, p]) => p === fb.use)?.[0];
    const stand = column === undefined ? input[fb.use as AqiParameter] : reading[column];
    if (stand === null || stand === undefined) delete input[parameter as AqiParameter];
    else input[fb.use as AqiParameter] = stand;
  }
  return Object.keys(input).length ? computeAqi(input, standard) : null;
}
