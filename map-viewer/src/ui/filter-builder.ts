import { getJson } from '../api.ts';
import type { CatalogLayer } from '../catalog.ts';
import { lang, local, t } from '../i18n.ts';
import type { LayerFilters } from '../map/layer-filters.ts';
import { h } from './dom.ts';

/**
 * A layer's filter builder: conditions picked from the layer's properties (a property, an operator, a value)
 * written as the CQL2 text the API speaks, which a planner may also edit by hand. Applying asks the features
 * API first (`/collections/{id}/items?limit=0&filter=…`), so a wrong filter is named by the server's own
 * message and never reaches the map.
 */
const OPERATORS = ['=', '<>', '>', '>=', '<', '<=', 'LIKE'] as const;

/** A CQL2 literal for a value typed by a planner: a number stays a number for numeric properties. */
function literal(layer: CatalogLayer, property: string, value: string, op: string): string {
  const numeric = layer.fields?.[property] === 'Number';
  if (numeric && op !== 'LIKE' && value.trim() !== '' && Number.isFinite(Number(value))) return String(Number(value));
  if (layer.fields?.[property] === 'Boolean' && /^(true|false)$/i.test(value.trim())) return value.trim().toUpperCase();
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The builders of a page, one per layer and language, kept across the layer panel's redraws (filters, time
 * columns and the URL redraw it): what a planner has picked and typed but not yet applied stays. The text follows
 * the layer's filter whenever that changed elsewhere (cleared, a link opened).
 */
export function filterBuilders(filters: LayerFilters): (layer: CatalogLayer) => HTMLElement {
  const built = new Map<string, { element: HTMLElement; text: HTMLTextAreaElement; synced: string }>();
  return (layer) => {
    const key = `${lang()}:${layer.id}`;
    let b = built.get(key);
    if (!b) {
      const element = filterBuilder(layer, filters);
      b = { element, text: element.querySelector('textarea')!, synced: filters.get(layer.id, 'where') };
      built.set(key, b);
    }
    const now = filters.get(layer.id, 'where');
    if (now !== b.synced) b.text.value = b.synced = now;
    return b.element;
  };
}

export function filterBuilder(layer: CatalogLayer, filters: LayerFilters): HTMLElement {
  const words = t();
  const properties = Object.entries(layer.properties);
  const property = h('select', { 'aria-label': words.queryLayer, 'data-filter-property': layer.id }, ...properties.map(([k, p]) => h('option', { value: k }, local(p.label))));
  const op = h('select', { 'aria-label': 'operator', 'data-filter-op': layer.id }, ...OPERATORS.map((o) => h('option', { value: o }, o)));
  const value = h('input', { type: 'text', 'aria-label': words.filterValue, placeholder: words.filterValue, 'data-filter-value': layer.id });
  const text = h('textarea', { rows: 2, 'aria-label': 'CQL2', 'data-filter-text': layer.id, spellcheck: 'false' });
  text.value = filters.get(layer.id, 'where');
  const message = h('p', { class: 'error', role: 'alert', hidden: true });
  const add = () => {
    if (!property.value) return;
    const condition = `${property.value} ${op.value} ${literal(layer, property.value, value.value, op.value)}`;
    text.value = text.value.trim() ? `${text.value.trim()} AND ${condition}` : condition;
  };
  const apply = async (cql: string) => {
    message.hidden = true;
    if (cql.trim()) {
      const res = await getJson(`collections/${encodeURIComponent(layer.id)}/items`, { limit: 1, filter: cql }).catch(() => null);
      if (!res || res.status !== 200) {
        message.textContent = `${words.filterBad}${res?.error ?? ''}`;
        message.hidden = false;
        return;
      }
    }
    filters.set(layer.id, 'where', cql);
  };
  return h(
    'form',
    { class: 'filter-builder', 'data-filter-for': layer.id, onsubmit: (e: Event) => (e.preventDefault(), void apply(text.value)) },
    h('div', { class: 'filter-row' }, property, op, value, h('button', { type: 'button', 'data-action': 'add-condition', onclick: add }, words.filterAdd)),
    text,
    message,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', 'data-action': 'apply-filter' }, words.filterApply),
      h('button', { type: 'button', 'data-action': 'clear-filter', onclick: () => ((text.value = ''), void apply('')) }, words.filterClear),
    ),
  );
}
