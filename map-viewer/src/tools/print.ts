import type { CatalogLayer } from '../catalog.ts';
import { local, t } from '../i18n.ts';
import type { Map as MapLibreMap } from 'maplibre-gl';
import { h } from '../ui/dom.ts';
import type { LegendEntry } from '../ui/legend.ts';
import type { Tool } from './tool-host.ts';

/**
 * The print tool: a title, the paper (A4, A3), portrait or landscape, PNG at 300 dpi or PDF. The layout
 * itself (print-layout.ts, with the PDF writer) is loaded with the first print, not with the page.
 */
export interface PrintDeps {
  map: MapLibreMap;
  visible: () => CatalogLayer[];
  legend: (layer: CatalogLayer) => LegendEntry[];
}

export function printTool(deps: PrintDeps): Tool {
  let panel: HTMLElement | null = null;
  const form = { title: '', paper: 'A4', orientation: 'landscape', format: 'pdf' };
  const render = () => {
    if (!panel) return;
    const words = t();
    if (!form.title) form.title = deps.visible().filter((l) => l.theme !== 'basemap').map((l) => local(l.title)).join('、') || words.appTitle;
    const select = (name: keyof typeof form, label: string, options: Array<[string, string]>) =>
      h(
        'label',
        { class: 'print-field' },
        h('span', {}, label),
        (() => {
          const s = h('select', { 'data-print': name, onchange: (e: Event) => (form[name] = (e.target as HTMLSelectElement).value) }, ...options.map(([v, text]) => h('option', { value: v }, text)));
          s.value = form[name];
          return s;
        })(),
      );
    const title = h('input', { type: 'text', value: form.title, 'data-print': 'title', oninput: (e: Event) => (form.title = (e.target as HTMLInputElement).value) });
    const status = h('output', { class: 'print-status', 'aria-live': 'polite' });
    panel.replaceChildren(
      h('label', { class: 'print-field' }, h('span', {}, words.printTitle), title),
      select('paper', words.paper, [
        ['A4', 'A4'],
        ['A3', 'A3'],
      ]),
      select('orientation', `${words.portrait} / ${words.landscape}`, [
        ['landscape', words.landscape],
        ['portrait', words.portrait],
      ]),
      select('format', words.format, [
        ['pdf', 'PDF'],
        ['png', 'PNG (300 dpi)'],
      ]),
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            'data-action': 'print',
            onclick: async (e: Event) => {
              const button = e.currentTarget as HTMLButtonElement;
              button.disabled = true;
              status.textContent = words.printing;
              try {
                const { printLayout } = await import('./print-layout.ts');
                const out = await printLayout(form as Parameters<typeof printLayout>[0], deps);
                const a = document.createElement('a');
                a.href = URL.createObjectURL(out.blob);
                a.download = out.fileName;
                a.click();
                setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
                status.textContent = `${words.printDone}${out.fileName}`;
                Object.assign(status.dataset, { width: out.widthPx, height: out.heightPx, scale: Math.round(out.scale), legendEntries: out.legendEntries });
              } catch (err) {
                status.textContent = `${words.queryFailed}${(err as Error).message}`;
              } finally {
                button.disabled = false;
              }
            },
          },
          words.printGo,
        ),
      ),
      status,
    );
  };
  return {
    id: 'print',
    icon: 'print',
    kind: 'drawing',
    label: () => t().print,
    start(el) {
      panel = el;
      render();
    },
    stop() {
      panel = null;
    },
    refresh: render,
  };
}
