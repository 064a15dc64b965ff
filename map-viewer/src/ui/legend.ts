import { getJson } from '../api.ts';
import type { CatalogLayer } from '../catalog.ts';
import { local, t } from '../i18n.ts';
import type { Map as MapLibreMap } from 'maplibre-gl';
import { h } from './dom.ts';

/**
 * Legends as the server makes them from each layer's style and data (`GET /layers/{id}/legend`: every class
 * the map can draw, with its count), loaded when a layer is first switched on; before that, or from a server
 * without the route, the catalog's legend. With "classes in view" on, each legend lists only the classes of
 * the features drawn in the current view (MapLibre's rendered features, tested against each entry's `where`).
 */
export type Where = { property: string; equals: Array<string | number | boolean> } | { property: string; min?: number; max?: number } | { other: true };
export interface LegendEntry {
  label: { zh: string; en: string };
  color: string;
  shape: 'fill' | 'line' | 'circle' | 'symbol';
  where?: Where;
  count?: number;
}

export class Legends {
  private readonly loaded = new Map<string, LegendEntry[]>();
  private readonly asked = new Set<string>();
  /** Per layer, the indexes of the entries in view; null = the option is off. */
  private inView: Map<string, Set<number>> | null = null;
  private readonly rendered = new Map<string, HTMLElement>();

  constructor(
    private readonly map: MapLibreMap,
    private readonly styleLayersOf: Map<string, string[]>,
    private readonly visible: () => CatalogLayer[],
  ) {
    map.on('idle', () => {
      for (const l of this.visible()) this.load(l);
      if (this.inView) this.refreshInView();
    });
  }

  entries(layer: CatalogLayer): LegendEntry[] {
    return this.loaded.get(layer.id) ?? layer.legend;
  }

  /** Ask the server for a layer's legend once; the panel's list is redrawn when it comes. */
  load(layer: CatalogLayer): void {
    if (this.asked.has(layer.id)) return;
    this.asked.add(layer.id);
    void getJson<{ legend: LegendEntry[] }>(`layers/${encodeURIComponent(layer.id)}/legend`)
      .then((res) => {
        if (res.status !== 200 || !Array.isArray(res.body?.legend)) return;
        this.loaded.set(layer.id, res.body.legend);
        this.redraw(layer);
      })
      .catch(() => this.asked.delete(layer.id));
  }

  get limitedToView(): boolean {
    return this.inView !== null;
  }

  limitToView(on: boolean): void {
    this.inView = on ? new Map() : null;
    if (on) this.refreshInView();
    else for (const l of this.visible()) this.redraw(l);
  }

  /** The legend list of a layer, kept up to date as legends load and the view moves. */
  element(layer: CatalogLayer): HTMLElement {
    const ul = h('ul', { class: 'legend', 'data-legend': layer.id, 'aria-label': `${t().legend}: ${local(layer.title)}` });
    this.rendered.set(layer.id, ul);
    this.fill(ul, layer);
    return ul;
  }

  private redraw(layer: CatalogLayer): void {
    const ul = this.rendered.get(layer.id);
    if (ul?.isConnected) this.fill(ul, layer);
  }

  private fill(ul: HTMLElement, layer: CatalogLayer): void {
    const shown = this.inView?.get(layer.id);
    const items = this.entries(layer)
      .map((item, i) => ({ item, i }))
      .filter(({ i }) => !shown || shown.has(i));
    ul.replaceChildren(
      ...items.map(({ item, i }) => {
        const swatch = h('span', { class: `swatch ${item.shape}`, 'aria-hidden': 'true' });
        // CSSOM, not a style attribute: the page's Content-Security-Policy allows no inline styles from markup.
        if (item.shape === 'line') swatch.style.borderTopColor = item.color;
        else swatch.style.backgroundColor = item.color;
        return h('li', { 'data-entry': i, 'data-color': item.color }, swatch, local(item.label));
      }),
    );
  }

  private refreshInView(): void {
    const inView = new Map<string, Set<number>>();
    for (const layer of this.visible()) {
      const ids = (this.styleLayersOf.get(layer.id) ?? []).filter((id) => this.map.getLayer(id));
      const entries = this.entries(layer);
      const found = new Set<number>();
      if (ids.length && entries.length) {
        for (const f of this.map.queryRenderedFeatures({ layers: ids })) {
          let matched = false;
          entries.forEach((e, i) => {
            if (e.where && !('other' in e.where) && matches(e.where, f.properties)) {
              found.add(i);
              matched = true;
            }
          });
          if (!matched) entries.forEach((e, i) => (!e.where || 'other' in e.where) && found.add(i));
        }
      }
      inView.set(layer.id, found);
    }
    this.inView = inView;
    for (const l of this.visible()) this.redraw(l);
  }
}

function matches(where: Exclude<Where, { other: true }>, props: Record<string, unknown>): boolean {
  const v = props[where.property];
  if ('equals' in where) return where.equals.some((e) => String(e).toUpperCase() === String(v).toUpperCase());
  const n = Number(v);
  if (v === null || v === undefined || !Number.isFinite(n)) return false;
  return (where.min === undefined || n >= where.min) && (where.max === undefined || n < where.max);
}
