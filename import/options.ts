import { z } from 'zod';
import { accessLevels, themes } from '../tile-server/src/registry/definition.ts';
import { ImportError } from './errors.ts';

/**
 * Everything an import can be told, validated once (CLI and HTTP API share it). Layer ids follow the registry's
 * rule for ids, since an imported layer is a registry layer.
 */
export const importOptionsSchema = z
  .object({
    /** The file to read (a path on this machine). */
    file: z.string().min(1),
    /** The name people know the file by (an upload's original name); defaults to the path's base name. */
    fileName: z.string().min(1).optional(),
    layer: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _, starting with a letter (at most 63)').optional(),
    title: z.string().trim().min(1).max(200).optional(),
    theme: z.enum(themes).optional(),
    mode: z.enum(['replace', 'append']).default('replace'),
    /** EPSG:<n>, gcj02 or bd09: overrides what the file declares. */
    srs: z.string().optional(),
    encoding: z.string().optional(),
    sublayer: z.string().optional(),
    lon: z.string().optional(),
    lat: z.string().optional(),
    /**
     * A source of truly mixed geometry kinds: split into <layer>_points/_lines/_polygons (unset: split, and the
     * summary says so; an append keeps the layer's one table) or kept in one layer of type GEOMETRY ('mixed').
     */
    geometry: z.enum(['mixed', 'split']).optional(),
    /** Department that owns the layer (the API key's department over HTTP). */
    owner: z.string().regex(/^[a-z][a-z0-9_]*$/).default('dsj'),
    access: z.enum(accessLevels).optional(),
    /** Fail instead of importing when more rows than this are rejected. Unset: any number, as long as one row is usable. */
    maxRejected: z.number().int().nonnegative().optional(),
    /** Most bytes a .zip may unpack to. */
    maxUnzippedMB: z.number().positive().default(4096),
    /** The layers/ directory, whose ids an import may not take. */
    layersDir: z.string().optional(),
    // ---- vehicles ----
    vehicle: z.string().regex(/^[^\s\u0000-\u001f]{1,64}$/, 'up to 64 characters, no blanks').optional(),
    /** Zone of times written without one (terminal logs are GMT+8 wall clock). */
    timezone: z.string().default('Asia/Shanghai'),
    maxSpeedKmh: z.number().positive().default(180),
    stopRadiusM: z.number().positive().default(200),
    stopMinSeconds: z.number().positive().default(180),
  })
  .strict();

export type ImportOptions = z.input<typeof importOptionsSchema>;
export type ResolvedOptions = z.output<typeof importOptionsSchema>;

export function resolveOptions(raw: ImportOptions): ResolvedOptions {
  const parsed = importOptionsSchema.safeParse(raw);
  if (!parsed.success)
    throw new ImportError(parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; '), 'bad_option');
  const o = parsed.data;
  try {
    new Intl.DateTimeFormat('en', { timeZone: o.timezone });
  } catch {
    throw new ImportError(`unknown time zone "${o.timezone}" (e.g. Asia/Shanghai, UTC)`, 'bad_option');
  }
  return o;
}

/** Progress as the CLI's bar and the job API show it. */
export interface ImportProgress {
  phase: 'reading' | 'loading' | 'indexing' | 'publishing' | 'done';
  rows: number;
  bytes: number;
  totalBytes: number;
}

export interface Rejected {
  row: number;
  reason: string;
}

/** The result of a layer import (the CLI's --json line adds the report path). */
export interface ImportSummary {
  layer: string;
  table: string;
  mode: 'replace' | 'append';
  format: string;
  sublayer: string | null;
  read: number;
  imported: number;
  rejected: number;
  repaired: number;
  srid: 4326;
  bbox: [number, number, number, number] | null;
  encoding: string | null;
  source_srs: string;
  geometry_type: string;
  columns: Array<{ name: string; type: string; source: string }>;
  warnings: string[];
  seconds: number;
  /** When the layer was split by geometry type: one entry per layer made. */
  layers?: Array<{ layer: string; table: string; imported: number; geometry_type: string }>;
  /** True when an append was skipped because this very file was appended before. */
  unchanged?: boolean;
  /** Up to 100,000 rejected rows with their reasons (the CLI writes them to the report file). */
  rejected_rows: Rejected[];
}
