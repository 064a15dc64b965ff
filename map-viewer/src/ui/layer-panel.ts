import { THEME_ORDER, type CatalogLayer } from '../catalog.ts';
import { lang, local, onLang, t } from '../i18n.ts';
import type { LayerState } from '../map/style.ts';
import { fill, h } from './dom.ts';
import { downloadMenu } from './download-menu.ts';
import type { Legends } from './legend.ts';

/**
 * The layer panel: the catalog grouped by theme (城市管理, 规划, 人防, 环保, 车辆, 底图), a switch per theme and
 * per layer, an opacity slider and the legend of each layer (ui/legend.ts). Only layers the catalog lists
 * appear, so layers the user may not see are absent. Every control is a native input: reachable and operable
 * by keyboard. Layers are dragged (or moved with Alt+↑/↓) within their theme to change the drawing order: the
 * panel's order, top first, is the map's.
 */
export type StateChange = (changes: Array<[id: string, state: LayerState]>) => void;

export interface PanelParts {
  /** The layers' first order (ids), top first; catalog order by default. */
  initialOrder?: string[];
  legends: Legends;
  /** The panel order changed (top first): the map follows it. */
  onReorder(order: string[]): void;
  /** Controls of one layer beside its opacity (time slider, filter, table). */
  layerTools?(layer: CatalogLayer): Node | null;
  /** Sections under the layers (base map, bookmarks). */
  sections?(): Node[];
}

export class LayerPanel {
  private readonly collapsed = new Set<string>();
  /** The user's order of the layers (catalog order until a layer is moved). */
  private sequence: string[];
  private dragged: string | null = null;
  /**
   * Each layer's download menu, built once per language: the panel redraws whenever the filters, the time
   * columns or the URL change, and a menu the planner has opened and set must stay open and set through that.
   */
  private readonly downloads = new Map<string, HTMLElement>();

  constructor(
    private readonly root: HTMLElement,
    private readonly catalog: CatalogLayer[],
    private readonly state: Map<string, LayerState>,
    private readonly onChange: StateChange,
    private readonly parts: PanelParts,
  ) {
    this.sequence = parts.initialOrder ?? catalog.map((l) => l.id);
    onLang(() => this.render());
  }

  /** Panel order of the layers (theme order, then the user's order): also the order of `layers=` in the URL. */
  order(): string[] {
    return this.themes().flatMap(([, layers]) => layers.map((l) => l.id));
  }

  /** Move a layer before another of its theme (or to the end of it with `before` null). */
  move(id: string, before: string | null): void {
    if (id === before) return;
    const rest = this.sequence.filter((x) => x !== id);
    const at = before === null ? rest.length : rest.indexOf(before);
    rest.splice(at < 0 ? rest.length : at, 0, id);
    this.sequence = rest;
    this.render();
    this.parts.onReorder(this.order());
  }

  private themes(): Array<[string, CatalogLayer[]]> {
    const groups = new Map<string, CatalogLayer[]>();
    const position = new Map(this.sequence.map((id, i) => [id, i]));
    const ordered = [...this.catalog].sort((a, b) => position.get(a.id)! - position.get(b.id)!);
    for (const l of ordered) groups.set(l.theme, [...(groups.get(l.theme) ?? []), l]);
    const rankOf = (theme: string) => (THEME_ORDER.includes(theme) ? THEME_ORDER.indexOf(theme) : THEME_ORDER.length);
    return [...groups.entries()].sort((a, b) => rankOf(a[0]) - rankOf(b[0]));
  }

  /** Redraw every control from the state (language switch, URL change). */
  render(): void {
    const words = t();
    const themes = this.themes();
    const inView = h('input', {
      type: 'checkbox',
      id: 'legend-in-view',
      onchange: (e: Event) => this.parts.legends.limitToView((e.target as HTMLInputElement).checked),
    });
    inView.checked = this.parts.legends.limitedToView;
    fill(
      this.root,
      h('h2', { class: 'panel-title', id: 'panel-title' }, words.layers),
      h('div', { class: 'panel-tools' }, h('div', { class: 'layer-head' }, inView, h('label', { for: inView.id }, words.legendInView)), h('p', { class: 'hint' }, words.dragHint)),
      themes.length === 0 ? h('p', {}, words.noLayers) : null,
      ...themes.map(([theme, layers]) => this.themeGroup(theme, layers)),
      ...(this.parts.sections?.() ?? []),
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
      // Alt+↑/↓ moves the layer within its theme: the keyboard's way to drag.
      onkeydown: (e: Event) => {
        const k = e as KeyboardEvent;
        if (!k.altKey || (k.key !== 'ArrowUp' && k.key !== 'ArrowDown')) return;
        k.preventDefault();
        const siblings = this.order().filter((id) => this.catalog.find((l) => l.id === id)!.theme === layer.theme);
        const i = siblings.indexOf(layer.id);
        if (k.key === 'ArrowUp' && i > 0) this.move(layer.id, siblings[i - 1]!);
        if (k.key === 'ArrowDown' && i < siblings.length - 1) this.move(layer.id, siblings[i + 2] ?? this.nextAfter(siblings[i + 1]!));
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
    const item = h(
      'li',
      {
        class: 'layer',
        'data-layer': layer.id,
        draggable: 'true',
        ondragstart: (e: Event) => {
          this.dragged = layer.id;
          (e as DragEvent).dataTransfer?.setData('text/plain', layer.id);
        },
        ondragover: (e: Event) => {
          if (this.dragged && this.themeOf(this.dragged) === layer.theme) e.preventDefault();
        },
        ondrop: (e: Event) => {
          e.preventDefault();
          const id = this.dragged;
          this.dragged = null;
          if (!id || this.themeOf(id) !== layer.theme) return;
          // Dropped on the lower half of a layer: after it, else before it.
          const box = item.getBoundingClientRect();
          const below = (e as DragEvent).clientY > box.top + box.height / 2;
          const siblings = this.order().filter((x) => this.themeOf(x) === layer.theme && x !== id);
          const i = siblings.indexOf(layer.id);
          this.move(id, below ? (siblings[i + 1] ?? this.nextAfter(layer.id)) : layer.id);
        },
      },
      h('div', { class: 'layer-head' }, h('span', { class: 'grip', 'aria-hidden': 'true' }, '⋮⋮'), box, h('label', { for: box.id, title: description || undefined }, title)),
      h('div', { class: 'layer-opacity' }, h('span', { 'aria-hidden': 'true' }, words.opacity), slider),
      this.parts.layerTools?.(layer) ?? null,
      this.parts.legends.element(layer),
      // Only for layers switched on: what is downloaded is what the planner sees, and the panel keeps few tab stops.
      state.visible && layer.downloadable !== false ? this.downloadMenuOf(layer) : null,
    );
    return item;
  }

  private downloadMenuOf(layer: CatalogLayer): HTMLElement {
    const key = `${lang()}:${layer.id}`;
    let menu = this.downloads.get(key);
    if (!menu) this.downloads.set(key, (menu = downloadMenu(layer)));
    return menu;
  }

  private themeOf(id: string): string | undefined {
    return this.catalog.find((l) => l.id === id)?.theme;
  }

  /** The first layer after `id` in the whole sequence that belongs to another theme (or null: the end). */
  private nextAfter(id: string): string | null {
    const i = this.sequence.indexOf(id);
    const theme = this.themeOf(id);
    return this.sequence.slice(i + 1).find((x) => this.themeOf(x) !== theme) ?? null;
  }
}
