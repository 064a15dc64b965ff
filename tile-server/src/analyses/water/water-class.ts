import type { QueryRunner } from '../../db/query.ts';

/** GB 3838-2002 basic factors the classification knows (environment.gb3838_limits), mg/L except pH. */
export const WATER_FACTORS = ['ph', 'do', 'codmn', 'cod', 'bod5', 'nh3n', 'tp', 'tn'] as const;
export type WaterFactor = (typeof WATER_FACTORS)[number];
export const WATER_TYPES = ['river', 'lake'] as const;

export interface WaterClass {
  type: string;
  /** 1–5 for I–V, 6 for 劣V; null when no factor could be evaluated. */
  class: number | null;
  class_label: string | null;
  quality: string | null;
  color: string | null;
  worst_factors: string[];
  factors: Record<string, { value: number; class: number; class_label: string }>;
  /** Factors given but without a limit for this water type (TN in a river). */
  not_evaluated: string[];
}

/**
 * The class of a sample by the single-factor method (environment.gb3838_class): each factor's best class whose
 * limits it meets (DO is a lower bound; TP has river and lake rows; TN counts for lakes only), and the worst of them.
 */
export async function waterClass(run: QueryRunner, type: string, sample: Partial<Record<WaterFactor, number>>): Promise<WaterClass> {
  const rows = await run.query<{ class: number | null; label: string | null; quality: string | null; color: string | null; worst: string[] | null; factors: Record<string, { class: number; label: string }> }>(
    `SELECT q.class, c.label, c.quality, c.color, q.worst_factors AS worst,
            (SELECT coalesce(jsonb_object_agg(f.key, jsonb_build_object('class', f.value::int, 'label', fc.label)), '{}'::jsonb)
             FROM jsonb_each(q.factor_classes) f JOIN environment.gb3838_classes fc ON fc.class = f.value::int) AS factors
     FROM environment.gb3838_class($1, $2::jsonb) q
     LEFT JOIN environment.gb3838_classes c ON c.class = q.class`,
    [type, JSON.stringify(sample)],
  );
  const r = rows[0]!;
  const given = Object.keys(sample) as WaterFactor[];
  return {
    type,
    class: r.class,
    class_label: r.label,
    quality: r.quality,
    color: r.color,
    worst_factors: r.worst ?? [],
    factors: Object.fromEntries(
      given.filter((f) => r.factors[f]).map((f) => [f, { value: sample[f]!, class: r.factors[f]!.class, class_label: r.factors[f]!.label }]),
    ),
    not_evaluated: given.filter((f) => !r.factors[f]),
  };
}

/** Every section with its latest sample's class, as the environment_water_sections layer shows them. */
export async function waterSections(run: QueryRunner): Promise<Record<string, unknown>[]> {
  return run.query(
    `SELECT code, name, water_body, water_type, target_class, district_code, sampled_on::text AS sampled_on, class, class_label,
            quality, color, worst_factors, meets_target, round(ST_X(geom)::numeric, 6) AS lon, round(ST_Y(geom)::numeric, 6) AS lat
     FROM environment.water_sections_status ORDER BY code`,
  );
}
