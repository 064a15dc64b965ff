import maplibreCss from './maplibre-widget.css?inline';
import widgetCss from './widget.css?inline';
import { maplibre, setWorkerUrl } from './maplibre-lite.ts';
import { createWidget, parseOptions, runCommand, type Widget } from './widget.ts';

/**
 * `<citybase-map embed="<embed key>" layers="a,b" center="lon,lat" zoom="12" controls="zoom,legend" lang="en">`:
 * the widget as a custom element, loaded by `/embed/citybase-map.js` (which calls `define` with the worker's
 * file name). MapLibre's CSS and the widget's go into each element's shadow root as constructed style sheets,
 * so the host page's own Content-Security-Policy needs no inline styles. Several elements may share a page; an
 * element removed from the page removes its map. Methods: flyTo, showLayer, hideLayer, highlight, setFilter;
 * events (CustomEvent, the payload in `detail`): ready, click, moveend.
 */
const root = new URL(/* @vite-ignore */ '../../', import.meta.url);
let sheets: CSSStyleSheet[] | null = null;

class CityBaseMap extends HTMLElement {
  private widget: Promise<Widget> | null = null;

  connectedCallback(): void {
    const shadow = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
    if (!sheets) {
      sheets = [maplibreCss, widgetCss].map((css) => {
        const s = new CSSStyleSheet();
        s.replaceSync(css);
        return s;
      });
    }
    shadow.adoptedStyleSheets = sheets;
    const container = document.createElement('div');
    container.className = 'cb-root';
    // The element's `click` is the map's (a CustomEvent with the features): the pointer's own stays inside.
    container.addEventListener('click', (e) => e.stopPropagation());
    shadow.replaceChildren(container);
    const options = parseOptions((n) => this.getAttribute(n), root, true);
    this.widget = createWidget(maplibre, container, { ...options, key: this.getAttribute('embed') ?? '' }, (e) =>
      this.dispatchEvent(new CustomEvent(e.type, { detail: e })),
    );
    this.widget.catch((err: unknown) => this.dispatchEvent(new CustomEvent('error', { detail: { message: (err as Error).message } })));
  }

  disconnectedCallback(): void {
    const w = this.widget;
    this.widget = null;
    void w
      ?.then((x) => x.destroy())
      .catch(() => {})
      .finally(() => {
        if (!this.widget) this.shadowRoot?.replaceChildren();
      });
  }

  /** The MapLibre map, once ready. */
  get map(): Promise<import('maplibre-gl').Map> {
    return this.ready().then((w) => w.map);
  }

  private ready(): Promise<Widget> {
    if (!this.widget) return Promise.reject(new Error('the element is not on the page'));
    return this.widget;
  }

  async flyTo(center: [number, number], zoom?: number): Promise<void> {
    runCommand(await this.ready(), { command: 'flyTo', center, zoom });
  }
  async showLayer(layer: string): Promise<void> {
    (await this.ready()).showLayer(layer);
  }
  async hideLayer(layer: string): Promise<void> {
    (await this.ready()).hideLayer(layer);
  }
  async highlight(layer: string, id: string | number | null): Promise<void> {
    (await this.ready()).highlight(layer, id);
  }
  async setFilter(layer: string, cql: string): Promise<void> {
    (await this.ready()).setFilter(layer, cql);
  }
}

/** Register the element (once), with MapLibre's worker beside this module. */
export function define(workerFile: string): void {
  setWorkerUrl(new URL(workerFile, import.meta.url).href);
  if (!customElements.get('citybase-map')) customElements.define('citybase-map', CityBaseMap);
}
