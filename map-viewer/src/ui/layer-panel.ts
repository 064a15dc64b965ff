import { THEME_ORDER, type CatalogLayer } from '../catalog.ts';
import { local, onLang, t } from '../i18n.ts';
import type { LayerState } from '../map/style.ts';
import { fill, h } from './dom.ts';
import { downloadMenu } from './download-menu.ts';

/**
 * The layer panel: the catalog grouped by theme (城市管理, 规划, 人防, 环保, 车辆, 底图), a switch per theme and
 * per layer, an opacity slider and the legend of each layer. Only layers the catalog lists appear, so layers
 * the user may not see are absent. Every control is a native input: reachable and operable by keyboard.
 */
export type StateChange = (changes: Array<[id: string, state: LayerState]>) => void;

export class LayerPanel {
  private readonly collapsed = new Set<string>();

  constructor(
    private readonly root: HTMLElement,
    private readonly catalog: CatalogLayer[],
    private readonly state: Map<string, LayerState>,
    private readonly onChange: StateChange,
  ) {
    onLang(() => this.render());
  }

  /** Panel order of the layers (theme order, then catalog order): also the order of `layers=` in the URL. */
  order(): string[] {
    return this.themes().flatMap(([, layers]) => layers.map((l) => l.id));
  }

  private themes(): Array<[string, CatalogLayer[]]> {
    const groups = new Map<string, CatalogLayer[]>();
    for (const l of this.catalog) groups.set(l.theme, [...(groups.get(l.theme) ?? []), l]);
    const rankOf = (theme: string) => (THEME_ORDER.includes(theme) ? THEME_ORDER.indexOf(theme) : THEME_ORDER.length);
    return [...groups.entries()].sort((a, b) => rankOf(a[0]) - rankOf(b[0]));
  }

  /** Redraw every control from the state (language switch, URL change). */
  render(): void {
    const words = t();
    const themes = this.themes();
    fill(
      this.root,
      h('h2', { class: 'panel-title', id: 'panel-title' }, words.layers),
      themes.length === 0 ? h('p', {}, words.noLayers) : null,
      ...themes.map(([theme, layers]) => this.themeGroup(theme, layers)),
    );
  }

  private themeGroup(theme: string, layers: CatalogLayer[]): HTMLElement {
    const words = t();
    const name = words.themes[theme] ?? theme;
    const on = layers.filter((l) => this.state.get(l.id)?.visible).length;
    const box = h('input', {
      type: 'checkbox',
      id: `theme-${theme}`,
      'data-theme-toggle': theme,
      onchange: (e: Event) => {
        const visible = (e.target as HTMLInputElement).checked;
        this.onChange(layers.map((l) => [l.id, { ...this.state.get(l.id)!, visible }]));
        this.render();
        document.getElementById(`theme-${theme}`)?.focus();
      },
    });
    box.checked = on === layers.length;
    box.indeterminate = on > 0 && on < layers.length;
    const open = !this.collapsed.has(theme);
    const list = h('ul', { class: 'layers', id: `theme-list-${theme}`, hidden: !open }, ...layers.map((l) => this.layerItem(l)));
    const toggle = h(
      'button',
      {
        type: 'button',
        class: 'collapse',
        'aria-expanded': String(open),
        'aria-controls': list.id,
        'aria-label': name,
        onclick: () => {
          if (this.collapsed.has(theme)) this.collapsed.delete(theme);
          else this.collapsed.add(theme);
          this.render();
          (document.querySelector(`[aria-controls="${list.id}"]`) as HTMLElement | null)?.focus();
        },
      },
      open ? '▾' : '▸',
    );
    return h(
      'section',
      { class: 'theme', 'data-theme': theme },
      h('div', { class: 'theme-head' }, box, h('label', { for: box.id }, name), h('span', { class: 'count' }, `${on}/${layers.length}`), toggle),
      list,
    );
  }

  private layerItem(layer: CatalogLayer): HTMLElement {
    const words = t();
    const state = this.state.get(layer.id)!;
    const title = local(layer.title);
    const box = h('input', {
      type: 'checkbox',
      id: `layer-${layer.id}`,
      'data-layer-toggle': layer.id,
      onchange: (e: Event) => {
        this.onChange([[layer.id, { ...this.state.get(layer.id)!, visible: (e.target as HTMLInputElement).checked }]]);
        this.render();
        document.getElementById(`layer-${layer.id}`)?.focus();
      },
    });
    box.checked = state.visible;
    const slider = h('input', {
      type: 'range',
      min: 0,
      max: 100,
      step: 5,
      value: Math.round(state.opacity * 100),
      'aria-label': `${words.opacity}: ${title}`,
      'data-layer-opacity': layer.id,
      oninput: (e: Event) => {
        const opacity = Number((e.target as HTMLInputElement).value) / 100;
        this.onChange([[layer.id, { ...this.state.get(layer.id)!, opacity }]]);
      },
    });
    const description = local(layer.description);
    return h(
      'li',
      { class: 'layer', 'data-layer': layer.id },
      h('div', { class: 'layer-head' }, box, h('label', { for: box.id, title: description || undefined }, title)),
      h('div', { class: 'layer-opacity' }, h('span', { 'aria-hidden': 'true' }, words.opacity), slider),
      layer.legend.length ? this.legend(layer) : null,
      // Only for layers switched on: what is downloaded is what the planner sees, and the panel keeps few tab stops.
      state.visible ? downloadMenu(layer) : null,
    );
  }

  private legend(layer: CatalogLayer): HTMLElement {
    return h(
      'ul',
      { class: 'legend', 'aria-label': `${t().legend}: ${local(layer.title)}` },
      ...layer.legend.map((item) => {
        const swatch = h('span', { class: `swatch ${item.shape}`, 'aria-hidden': 'true' });
        // CSSOM, not a style attribute: the page's Content-Security-Policy allows no inline styles from markup.
        if (item.shape === 'line') swatch.style.borderTopColor = item.color;
        else swatch.style.backgroundColor = item.color;
        return h('li', {}, swatch, local(item.label));
      }),
    );
  }
}
