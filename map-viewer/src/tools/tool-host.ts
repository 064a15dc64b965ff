import { onLang, t } from '../i18n.ts';
import type { IControl, Map as MapLibreMap } from 'maplibre-gl';
import { fill, h } from '../ui/dom.ts';
import { icon } from '../ui/icons.ts';

/**
 * The map's tools (measure distance, measure area, area statistics, export) as a MapLibre control: a group
 * of buttons; a drawing tool, while on, owns the map's clicks and shows its results in the tool panel.
 */
export interface Tool {
  id: string;
  label(): string;
  icon: Parameters<typeof icon>[0];
  /** Drawing tools stay on until switched off; actions (export) just run. */
  kind: 'drawing' | 'action';
  start(panel: HTMLElement, close: () => void): void;
  stop(): void;
  /** Redraw the panel's words (language switch). */
  refresh?(): void;
}

export class ToolHost implements IControl {
  private active: Tool | null = null;
  private readonly bar = h('div', { class: 'maplibregl-ctrl maplibregl-ctrl-group citybase-tools', role: 'toolbar' });

  constructor(
    private readonly tools: Tool[],
    private readonly panel: HTMLElement,
  ) {
    onLang(() => this.render());
  }

  /** Whether a drawing tool has the map's clicks (identify waits). */
  busy = (): boolean => this.active !== null;

  onAdd(_map: MapLibreMap): HTMLElement {
    return this.bar;
  }

  onRemove(): void {
    this.stop();
    this.bar.remove();
  }

  private render(): void {
    this.bar.setAttribute('aria-label', t().tools);
    fill(
      this.bar,
      ...this.tools.map((tool) =>
        h(
          'button',
          {
            type: 'button',
            class: `tool tool-${tool.id}`,
            'data-tool': tool.id,
            title: tool.label(),
            'aria-label': tool.label(),
            'aria-pressed': tool.kind === 'drawing' ? String(this.active === tool) : undefined,
            onclick: () => this.toggle(tool),
          },
          icon(tool.icon),
        ),
      ),
    );
    if (this.active) {
      this.panelFor(this.active);
      this.active.refresh?.();
    }
  }

  toggle(tool: Tool): void {
    if (tool.kind === 'action') {
      tool.start(this.panel, () => {});
      return;
    }
    const wasActive = this.active === tool;
    this.stop();
    if (!wasActive) {
      this.active = tool;
      this.panel.hidden = false;
      tool.start(this.panelFor(tool), () => {
        this.stop();
        this.render();
      });
    }
    this.render();
  }

  private panelFor(tool: Tool): HTMLElement {
    const body = this.panel.querySelector<HTMLElement>('.tool-body') ?? h('div', { class: 'tool-body' });
    const head = h(
      'div',
      { class: 'tool-head' },
      h('h2', {}, tool.label()),
      h('button', { type: 'button', class: 'close', 'aria-label': t().close, onclick: () => (this.stop(), this.render()) }, '×'),
    );
    this.panel.setAttribute('data-active-tool', tool.id);
    if (body.parentElement !== this.panel) fill(this.panel, head, body);
    else this.panel.firstElementChild?.replaceWith(head);
    return body;
  }

  stop(): void {
    this.active?.stop();
    this.active = null;
    this.panel.hidden = true;
    this.panel.removeAttribute('data-active-tool');
    fill(this.panel);
  }
}
