// The platform's one CSV rule (BOM, RFC 4180, no spreadsheet formulas), shared with the server's exports.
import { csvFile } from '../../../tile-server/src/csv.ts';
import { getJson } from '../api.ts';
import type { CatalogLayer } from '../catalog.ts';
import { local, onLang, t } from '../i18n.ts';
import type { LayerFilters } from '../map/layer-filters.ts';
import { highlight } from '../map/highlight.ts';
import type { Map as MapLibreMap } from 'maplibre-gl';
import { fill, formatNumber, h } from './dom.ts';

/**
 * A layer's attribute table, under the map: the features API's items (`/collections/{id}/items`) a page at a
 * time, sorted by a click on a column (`sortby`), filtered with the layer's CQL2 filter (the filter builder's
 * and the time slider's, editable here), the number matched, and linked to the map: a row click frames the
 * feature and highlights it. The rows loaded export as CSV (UTF-8 with BOM, so Excel reads the Chinese).
 */
const PAGE = 50;

interface Item {
  id?: string | number;
  properties: Record<string, unknown>;
  geometry: GeoJSON.Geometry | null;
}

export class AttributeTable {
  private layer: CatalogLayer | null = null;
  private sort = '';
  private filter = '';
  private rows: Item[] = [];
  private matched: number | null = null;
  private error = '';

  constructor(
    private readonly root: HTMLElement,
    private readonly map: MapLibreMap,
    private readonly filters: LayerFilters,
  ) {
    root.hidden = true;
    onLang(() => this.render());
    // The table follows the map's filter of its layer.
    filters.onChange((id) => {
      if (id === this.layer?.id) {
        this.filter = filters.combined(id);
        void this.load(true);
      }
    });
  }

  open(layer: CatalogLayer): void {
    this.layer = layer;
    this.sort = '';
    this.filter = this.filters.combined(layer.id);
    this.root.hidden = false;
    void this.load(true);
  }

  close(): void {
    this.layer = null;
    this.root.hidden = true;
    fill(this.root);
  }

  private async load(fresh: boolean): Promise<void> {
    const layer = this.layer;
    if (!layer) return;
    const params: Record<string, string | number> = { limit: PAGE, offset: fresh ? 0 : this.rows.length, numberMatched: 'true' };
    if (this.sort) params.sortby = this.sort;
    if (this.filter.trim()) params.filter = this.filter;
    const res = await getJson<{ features: Item[]; numberMatched?: number }>(`collections/${encodeURIComponent(layer.id)}/items`, params).catch(() => null);
    if (layer !== this.layer) return;
    if (!res || res.status !== 200) {
      this.error = res?.error ?? t().queryFailed;
      this.render();
      return;
    }
    this.error = '';
    this.rows = fresh ? res.body!.features : [...this.rows, ...res.body!.features];
    this.matched = res.body!.numberMatched ?? null;
    this.render();
  }

  private render(): void {
    const layer = this.layer;
    if (!layer) return;
    const words = t();
    const columns = Object.entries(layer.properties);
    const filterInput = h('input', { type: 'text', value: this.filter, 'aria-label': words.tableFilter, placeholder: words.tableFilter, 'data-table-filter': '' });
    const head = h(
      'tr',
      {},
      ...columns.map(([key, p]) => {
        const dir = this.sort === key ? 'ascending' : this.sort === `-${key}` ? 'descending' : 'none';
        return h(
          'th',
          { scope: 'col', 'aria-sort': dir },
          h(
            'button',
            {
              type: 'button',
              'data-sort': key,
              'aria-label': words.sortBy(local(p.label)),
              onclick: () => {
                this.sort = this.sort === key ? `-${key}` : key;
                void this.load(true);
              },
            },
            local(p.label),
            dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : '',
          ),
        );
      }),
    );
    const body = this.rows.map((row) =>
      h(
        'tr',
        { 'data-id': row.id ?? '', tabindex: 0, onclick: () => this.show(row), onkeydown: (e: Event) => (e as KeyboardEvent).key === 'Enter' && this.show(row) },
        ...columns.map(([key]) => {
          const v = row.properties[key];
          return h('td', { 'data-property': key }, v === null || v === undefined ? '' : typeof v === 'number' ? formatNumber(v, 6) : String(v));
        }),
      ),
    );
    fill(
      this.root,
      h(
        'div',
        { class: 'table-head' },
        h('h2', {}, words.tableOf(local(layer.title))),
        h(
          'form',
          { class: 'table-filter', onsubmit: (e: Event) => (e.preventDefault(), (this.filter = filterInput.value), void this.load(true)) },
          filterInput,
          h('button', { type: 'submit' }, words.filterApply),
        ),
        h('output', { class: 'table-count' }, words.tableCount(this.rows.length, this.matched)),
        h('button', { type: 'button', 'data-action': 'csv', onclick: () => this.csv() }, words.tableCsv),
        h('button', { type: 'button', class: 'close', 'aria-label': words.close, onclick: () => this.close() }, '×'),
      ),
      this.error ? h('p', { class: 'error', role: 'alert' }, this.error) : null,
      h('div', { class: 'table-scroll' }, h('table', { class: 'attributes attribute-table' }, h('thead', {}, head), h('tbody', {}, ...body))),
      this.matched === null || this.rows.length < this.matched ? h('button', { type: 'button', 'data-action': 'more', onclick: () => void this.load(false) }, words.tableMore) : null,
    );
  }

  /** Frame a row's feature on the map and highlight it. */
  private show(row: Item): void {
    if (!row.geometry) return;
    const coords: number[][] = [];
    const walk = (c: unknown): void => {
      if (Array.isArray(c) && typeof c[0] === 'number') coords.push(c as number[]);
      else if (Array.isArray(c)) c.forEach(walk);
    };
    walk((row.geometry as { coordinates?: unknown }).coordinates);
    if (coords.length === 0) return;
    const xs = coords.map((c) => c[0]!);
    const ys = coords.map((c) => c[1]!);
    this.map.fitBounds(
      [
        [Math.min(...xs), Math.min(...ys)],
        [Math.max(...xs), Math.max(...ys)],
      ],
      { padding: 60, maxZoom: 17, duration: 0 },
    );
    highlight(this.map, [row.geometry]);
    for (const tr of this.root.querySelectorAll('tbody tr')) tr.classList.toggle('selected', tr.getAttribute('data-id') === String(row.id ?? ''));
  }

  private csv(): void {
    const layer = this.layer;
    if (!layer) return;
    const columns = Object.entries(layer.properties);
    const text = csvFile(columns.map(([, p]) => local(p.label)), this.rows.map((r) => columns.map(([k]) => r.properties[k])));
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
    a.download = `${layer.id}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }
}
