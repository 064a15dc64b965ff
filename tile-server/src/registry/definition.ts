import { z } from 'zod';

/**
 * The schema of a layer definition (layers/*.json). A definition is data, not code: the registry validates it
 * at start, resolves it against the database catalog and turns it into a tile source.
 */
export const accessLevels = ['public', 'internal', 'restricted'] as const;
export type AccessLevel = (typeof accessLevels)[number];

/** Themes of the platform; `contrib` is for auto-published tables. */
export const themes = ['urban', 'planning', 'civil_defence', 'environment', 'vehicles', 'basemap', 'contrib'] as const;
export type Theme = (typeof themes)[number];

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a plain SQL identifier (letters, digits, _)');
const localized = z.object({ zh: z.string().min(1), en: z.string().min(1) }).strict();
const zoom = z.number().int().min(0).max(30);

const tableSource = z
  .object({
    type: z.literal('table'),
    schema: identifier.default('public'),
    /** A table, view or materialized view. */
    table: identifier,
  })
  .strict();

const functionSource = z
  .object({
    type: z.literal('function'),
    schema: identifier.default('public'),
    /** `fn(z integer, x integer, y integer) RETURNS bytea` producing the MVT (PostGIS's ST_AsMVT). */
    function: identifier,
    /** Tables the function reads; a change in any of them evicts the layer's cached tiles. Empty = never cached. */
    dependsOn: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/, 'schema.table')).default([]),
  })
  .strict();

const property = z
  .object({
    label: localized,
    /** Unit shown after the value, e.g. m², 人. */
    unit: z.string().optional(),
    /**
     * A quantity that adds up over an area (people, m², 万m³, kW), so POST /query and the viewer's area tool
     * total it. A concentration, a percentage, a dB limit, a radius or a year does not.
     */
    additive: z.boolean().optional(),
  })
  .strict();

const legendItem = z
  .object({
    label: localized,
    color: z.string().regex(/^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$/, 'a #RRGGBB colour'),
    shape: z.enum(['fill', 'line', 'circle', 'symbol']),
  })
  .strict();

export const layerDefinition = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _, starting with a letter'),
    title: localized,
    description: localized.optional(),
    theme: z.enum(themes),
    /** Owning department (a key of citybase.departments). */
    owner: z.string().min(1),
    access: z.enum(accessLevels),
    /** Other departments allowed to see a restricted layer. */
    allow: z.array(z.string().min(1)).default([]),
    attribution: z.string().optional(),
    source: z.discriminatedUnion('type', [tableSource, functionSource]),
    geometryColumn: identifier.default('geom'),
    /** SRID of the geometry; taken from the catalog (or the data) when left out. */
    srid: z.number().int().positive().optional(),
    /** Integer column used as the MVT feature id and for a stable feature order. */
    idColumn: identifier.optional(),
    /** A date or timestamp column that the features API's `datetime=` filters on. */
    timeColumn: identifier.optional(),
    /** Exposed attributes in display order, with their labels; nothing else leaves the database. */
    properties: z.record(identifier, property).default({}),
    minzoom: zoom.default(0),
    maxzoom: zoom.default(22),
    /** Simplification tolerance in screen pixels up to a zoom; beyond the last entry geometries are exact. */
    simplify: z.array(z.object({ maxzoom: zoom, tolerancePx: z.number().positive().max(16) }).strict()).default([]),
    maxFeatures: z.number().int().positive().max(1_000_000).default(50_000),
    /** MapLibre style layers for this layer, without `source`/`source-layer` (the viewer fills them in). */
    style: z.array(z.record(z.string(), z.unknown())).default([]),
    legend: z.array(legendItem).default([]),
    /**
     * How the layer is limited to a user's or key's scope (市县乡三级联动): by a 行政区划 code column (prefix
     * match) or by area (features intersecting the scope's boundary). Undeclared layers are not scoped. A
     * function layer may declare a code column only: its function then takes the caller's scopes as a fourth
     * argument (`scopes text[]`, NULL = not limited) and keeps the features whose column starts with one of them.
     */
    scope: z.union([z.literal('area'), z.object({ column: identifier }).strict()]).optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.minzoom > d.maxzoom) ctx.addIssue({ code: 'custom', path: ['minzoom'], message: 'minzoom is above maxzoom' });
    const zs = d.simplify.map((s) => s.maxzoom);
    if (zs.some((v, i) => i > 0 && v <= zs[i - 1]!))
      ctx.addIssue({ code: 'custom', path: ['simplify'], message: 'entries must have increasing maxzoom' });
    if (d.scope === 'area' && d.source.type !== 'table')
      ctx.addIssue({ code: 'custom', path: ['scope'], message: 'a function layer is scoped by a code column its function filters on, not by area' });
    if (d.access === 'public' && d.allow.length > 0)
      ctx.addIssue({ code: 'custom', path: ['allow'], message: 'allow only applies to restricted layers' });
  });

export type LayerDefinition = z.infer<typeof layerDefinition>;

/** Validate one definition; returns every problem as `file: path: message`. */
export function validateDefinition(file: string, raw: unknown): { ok: true; def: LayerDefinition } | { ok: false; errors: string[] } {
  const parsed = layerDefinition.safeParse(raw);
  if (parsed.success) return { ok: true, def: parsed.data };
  return {
    ok: false,
    errors: parsed.error.issues.map((i) => `${file}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
  };
}
