import type { QueryRunner } from '../db/query.ts';
import type { FeatureTable } from '../features/table.ts';
import type { LayerMeta } from '../sources/source.ts';

/**
 * A layer's legend made from what the map draws, so it is complete and never written twice: the colour
 * expression of the layer's main style layer read as classes (`match` → one entry per value, `step` → one per
 * range, a constant → one), and for a colour taken from the data (`["get", "color"]`) the classes the data has,
 * counted, labelled with the properties the style layer names in `metadata["citybase:legend-label"]`. The
 * catalog's hand-written legend only lends its words (matched by colour) where the style has none.
 *
 * Each entry says which features it stands for (`where`), so a viewer can list only the classes in view.
 */
export interface Localized {
  zh: string;
  en: string;
}

export type Where =
  | { property: string; equals: Array<string | number | boolean> }
  | { property: string; min?: number; max?: number }
  | { other: true };

export interface LegendEntry {
  label: Localized;
  color: string;
  shape: 'fill' | 'line' | 'circle' | 'symbol';
  where?: Where;
  /** Features of the class in the data (data classes only). */
  count?: number;
}

type Style = Record<string, unknown>;
const COLOR_PAINT: Record<string, string> = { fill: 'fill-color', line: 'line-color', circle: 'circle-color', symbol: 'text-color' };
const LABEL_KEY = 'citybase:legend-label';
/** A legend of more classes than this is cut (a colour per feature is not a legend). */
const MAX_CLASSES = 200;

const colorOf = (s: Style): unknown => (s.paint as Record<string, unknown> | undefined)?.[COLOR_PAINT[String(s.type)] ?? ''];
const isDataDriven = (c: unknown) => Array.isArray(c);
const getOf = (e: unknown): string | null => (Array.isArray(e) && e[0] === 'get' && typeof e[1] === 'string' ? e[1] : null);
const norm = (c: string) => c.trim().toUpperCase();

/** The style layer whose colours the legend explains: the first data-driven one, else the first that is not a label. */
function mainStyleLayer(meta: LayerMeta): Style | undefined {
  const drawn = meta.style.filter((s) => s.type !== 'symbol' && COLOR_PAINT[String(s.type)]);
  return drawn.find((s) => isDataDriven(colorOf(s))) ?? drawn[0] ?? meta.style[0];
}

export async function layerLegend(meta: LayerMeta, table: FeatureTable | null, run: QueryRunner): Promise<LegendEntry[]> {
  const main = mainStyleLayer(meta);
  if (!main) return meta.legend.map((l) => ({ ...l }));
  const shape = (String(main.type) === 'symbol' ? 'symbol' : main.type) as LegendEntry['shape'];
  const color = colorOf(main);
  const byColour = new Map(meta.legend.map((l) => [norm(l.color), l.label]));
  const words = (c: string, fallback: Localized): Localized => byColour.get(norm(c)) ?? fallback;
  const label = (p: string) => meta.properties[p]?.label ?? { zh: p, en: p };

  if (typeof color === 'string') return [{ label: words(color, meta.title), color, shape }];
  if (!Array.isArray(color)) return meta.legend.map((l) => ({ ...l }));
  const [op, input] = color as [string, unknown];

  if (op === 'match' && getOf(input)) {
    const property = getOf(input)!;
    const out: LegendEntry[] = [];
    for (let i = 2; i + 1 < color.length; i += 2) {
      const values = (Array.isArray(color[i]) ? color[i] : [color[i]]) as Array<string | number | boolean>;
      const c = String(color[i + 1]);
      out.push({ label: words(c, { zh: values.join('、'), en: values.join(', ') }), color: c, shape, where: { property, equals: values } });
    }
    if (color.length % 2 === 1) {
      const c = String(color[color.length - 1]);
      out.push({ label: words(c, { zh: '其他', en: 'Other' }), color: c, shape, where: { other: true } });
    }
    return out;
  }

  if (op === 'step' && getOf(input)) {
    const property = getOf(input)!;
    const name = label(property);
    const stops: Array<[number | undefined, string]> = [[undefined, String(color[2])]];
    for (let i = 3; i + 1 < color.length; i += 2) stops.push([Number(color[i]), String(color[i + 1])]);
    return stops.map(([min, c], i) => {
      const max = stops[i + 1]?.[0];
      const range = min === undefined ? `< ${max}` : max === undefined ? `≥ ${min}` : `${min} – ${max}`;
      return { label: { zh: `${name.zh} ${range}`, en: `${name.en} ${range}` }, color: c, shape, where: { property, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) } };
    });
  }

  // A colour from the data: the classes the data has, with the catalog's words for colours it knows.
  const fromData = op === 'get' ? getOf(color) : op === 'coalesce' ? getOf(input) : null;
  if (fromData && table) {
    const meta2 = (main.metadata as Record<string, unknown> | undefined)?.[LABEL_KEY];
    const labelProps = Array.isArray(meta2) ? meta2.filter((p): p is string => typeof p === 'string') : [];
    const classes = await dataClasses(table, fromData, labelProps, run);
    if (classes) {
      const seen = new Set(classes.map((c) => norm(c.color)));
      const entries: LegendEntry[] = classes.map((c) => {
        const text = c.labels.filter(Boolean).join(' ');
        const where: Where = labelProps[0] ? { property: labelProps[0], equals: [c.labels[0]!] } : { property: fromData, equals: [c.color] };
        return { label: text ? { zh: text, en: byColour.get(norm(c.color))?.en ?? text } : words(c.color, { zh: c.color, en: c.color }), color: c.color, shape, where, count: c.count };
      });
      // Colours the style can draw that the data does not have today (AQI levels not reached) stay listed.
      for (const l of meta.legend) if (!seen.has(norm(l.color))) entries.push({ label: l.label, color: l.color, shape, where: { property: fromData, equals: [l.color] }, count: 0 });
      return entries;
    }
  }
  return meta.legend.map((l) => ({ ...l }));
}

/** The distinct colours of a layer's data with their label properties, most specific label first. */
async function dataClasses(table: FeatureTable, colorProp: string, labelProps: string[], run: QueryRunner) {
  const colour = table.queryable(colorProp);
  const labels = labelProps.map((p) => table.queryable(p)).filter((q) => q !== undefined);
  if (!colour || labels.length !== labelProps.length) return null;
  const cols = [colour.sql, ...labels.map((q) => `${q.sql}::text`)];
  const rows = await run.query<{ color: string; labels: string[]; count: number }>(
    `-- legend classes of ${table.id}
     SELECT ${colour.sql}::text AS color, ARRAY[${labels.map((q) => `${q.sql}::text`).join(', ') || 'NULL::text'}] AS labels, count(*)::int AS count
     FROM ${table.from} AS t
     WHERE ${colour.sql} IS NOT NULL
     GROUP BY ${cols.join(', ')}
     ORDER BY 2, 1
     LIMIT ${MAX_CLASSES}`,
  );
  return rows.map((r) => ({ color: r.color, labels: (r.labels ?? []).map((v) => v ?? ''), count: r.count }));
}
