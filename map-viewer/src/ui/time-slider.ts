import { getJson } from '../api.ts';
import type { CatalogLayer } from '../catalog.ts';
import { local, t } from '../i18n.ts';
import type { LayerFilters } from '../map/layer-filters.ts';
import { h } from './dom.ts';

/**
 * A time slider for a layer with a time column (the features API names it: `/collections/{id}`): a period
 * (a day, a week, 30 days, or all) ending on the slider's day, between the first and the last time in the
 * data. The map shows only the features of the period (layer-filters.ts).
 */
const DAY = 86_400_000;
const PERIODS = [
  ['all', 0],
  ['day', 1],
  ['week', 7],
  ['month', 30],
] as const;

interface Range {
  column: string;
  first: number;
  last: number;
}
const ranges = new Map<string, Promise<Range | null>>();
const states = new Map<string, { period: string; end: number }>();

async function timeRange(layer: CatalogLayer, column: string): Promise<Range | null> {
  const edge = async (sortby: string) => {
    const res = await getJson<{ features: Array<{ properties: Record<string, unknown> }> }>(`collections/${encodeURIComponent(layer.id)}/items`, {
      sortby,
      limit: 1,
      properties: column,
    });
    return Date.parse(String(res.body?.features?.[0]?.properties?.[column] ?? ''));
  };
  const [first, last] = await Promise.all([edge(column), edge(`-${column}`)]);
  return Number.isFinite(first) && Number.isFinite(last) ? { column, first, last } : null;
}

/** China-time day of an instant, `YYYY-MM-DD`. */
const day = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10);

/** The layers with a time column, from the features API's collections (one request, when first needed). */
let timeColumns: Promise<Map<string, string>> | null = null;
export function layersWithTime(): Promise<Map<string, string>> {
  timeColumns ??= getJson<{ collections: Array<{ id: string; timeColumn?: string }> }>('collections')
    .then((res) => new Map((res.body?.collections ?? []).filter((c) => c.timeColumn).map((c) => [c.id, c.timeColumn!])))
    .catch(() => new Map());
  return timeColumns;
}

export function timeSlider(layer: CatalogLayer, filters: LayerFilters, column: string | undefined): HTMLElement | null {
  if (!column) return null;
  const root = h('div', { class: 'time-slider', 'data-time-for': layer.id });
  if (!ranges.has(layer.id)) ranges.set(layer.id, timeRange(layer, column).catch(() => null));
  void ranges.get(layer.id)!.then((range) => {
    if (!range) return root.remove();
    const words = t();
    // Whole China-time days, from the day of the first record to the day of the last.
    const midnight = (ms: number) => Date.parse(`${day(ms)}T00:00:00+08:00`);
    const firstDay = midnight(range.first);
    const days = Math.round((midnight(range.last) - firstDay) / DAY);
    // The panel is redrawn often: the slider's state outlives its elements.
    const state = states.get(layer.id) ?? { period: 'all', end: days };
    states.set(layer.id, state);
    const label = h('output', { class: 'time-label' });
    const endMs = () => firstDay + (state.end + 1) * DAY;
    const describe = () => {
      label.textContent = state.period === 'all' ? words.timeAll : `${words.timeUntil(day(endMs() - DAY))}（${select.selectedOptions[0]!.textContent}）`;
      slider.disabled = state.period === 'all';
    };
    const apply = () => {
      const end = endMs();
      const length = PERIODS.find(([p]) => p === state.period)![1];
      describe();
      filters.set(
        layer.id,
        'time',
        length === 0 ? '' : `${range.column} >= TIMESTAMP('${new Date(end - length * DAY).toISOString()}') AND ${range.column} < TIMESTAMP('${new Date(end).toISOString()}')`,
      );
    };
    const select = h(
      'select',
      { 'aria-label': `${words.timeWindow}: ${local(layer.title)}`, 'data-time-period': layer.id, onchange: (e: Event) => ((state.period = (e.target as HTMLSelectElement).value), apply()) },
      ...PERIODS.map(([p]) => h('option', { value: p }, { all: words.timeAll, day: words.timeDay, week: words.timeWeek, month: words.timeMonth }[p])),
    );
    const slider = h('input', {
      type: 'range',
      min: 0,
      max: days,
      step: 1,
      value: state.end,
      'aria-label': `${words.time}: ${local(layer.title)}`,
      'data-time-end': layer.id,
      onchange: (e: Event) => ((state.end = Number((e.target as HTMLInputElement).value)), apply()),
    });
    select.value = state.period;
    root.append(h('span', { class: 'time-name' }, words.time), select, slider, label);
    describe();
  });
  return root;
}
