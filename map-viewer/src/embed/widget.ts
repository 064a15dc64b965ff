import type { LayerSpecification, Map as MapLibreMap, MapGeoJSONFeature, StyleSpecification, VectorTileSource } from 'maplibre-gl';
import type * as MapLibre from 'maplibre-gl';

/**
 * The map widget departments embed in their own sites: used by the iframe page (embed/index.html, main.ts) and
 * by the `<citybase-map>` element (element.ts). Light on purpose: the map, the chosen layers, a legend, an
 * optional layer switcher, identify popups, zoom and scale, two languages, and the host API (fly to, show or
 * hide a layer, highlight a feature, set a CQL2 filter; events ready, click, moveend). Everything it asks for
 * comes from the platform it was loaded from, with the embed key.
 */
export type Lang = 'zh' | 'en';
export type Control = 'zoom' | 'scale' | 'legend' | 'layers' | 'identify' | 'fullscreen';
export const DEFAULT_CONTROLS: readonly Control[] = ['zoom', 'scale', 'legend', 'identify'];
const CONTROLS: readonly Control[] = ['zoom', 'scale', 'legend', 'layers', 'identify', 'fullscreen'];

export interface WidgetOptions {
  /** The platform's root URL (where /layers, /tiles, /identify are). */
  base: URL;
  key: string;
  /** Layers to show; empty = every layer of the key (base map aside). */
  layers: readonly string[];
  center?: [number, number] | undefined;
  zoom?: number | undefined;
  controls: readonly Control[];
  lang: Lang;
  scrollZoom: boolean;
  /** The link the full-screen control opens (the iframe page's own URL). */
  fullscreenUrl?: string | undefined;
}

interface Localized {
  zh: string;
  en: string;
}
/** A layer as `GET /layers` lists it (what the widget needs of it). */
export interface CatalogLayer {
  id: string;
  title: Localized;
  theme: string;
  geometryType: string;
  minzoom: number;
  maxzoom: number;
  tilejson: string;
  properties: Record<string, { label: Localized; unit?: string }>;
  style: Array<Record<string, unknown>>;
  legend: Array<{ label: Localized; color: string; shape: string }>;
}

export type WidgetEvent =
  | { type: 'ready'; layers: string[] }
  | { type: 'click'; lngLat: [number, number]; features: Array<{ layer: string; id: string | number | null; properties: Record<string, unknown> }> }
  | { type: 'moveend'; center: [number, number]; zoom: number };

export interface Widget {
  readonly map: MapLibreMap;
  flyTo(center: [number, number], zoom?: number): void;
  showLayer(id: string): void;
  hideLayer(id: string): void;
  highlight(layer: string, id: string | number | null): void;
  setFilter(layer: string, cql: string): void;
  destroy(): void;
}

const WORDS = {
  zh: { legend: '图例', layers: '图层', fullscreen: '全屏查看', nothing: '此处无要素', zoomIn: '放大', zoomOut: '缩小', failed: '地图加载失败' },
  en: { legend: 'Legend', layers: 'Layers', fullscreen: 'Open full screen', nothing: 'Nothing here', zoomIn: 'Zoom in', zoomOut: 'Zoom out', failed: 'The map could not load' },
};
const COLOURS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const HUAIAN: [number, number] = [119.02, 33.5];

/** Options from a query string or an element's attributes (the same names: layers, center, zoom, controls, lang, scroll). */
export function parseOptions(get: (name: string) => string | null, base: URL, inFrame: boolean): Omit<WidgetOptions, 'key'> {
  const list = (s: string | null) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const c = list(get('center')).map(Number);
  const zoom = Number(get('zoom'));
  const controls = get('controls') === null ? [...DEFAULT_CONTROLS] : list(get('controls')).filter((x): x is Control => (CONTROLS as string[]).includes(x));
  const scroll = get('scroll');
  return {
    base,
    layers: list(get('layers')),
    center: c.length === 2 && c.every(Number.isFinite) ? [c[0]!, c[1]!] : undefined,
    zoom: get('zoom') !== null && Number.isFinite(zoom) ? zoom : undefined,
    controls,
    lang: get('lang') === 'en' ? 'en' : 'zh',
    // In a frame the page scrolls past the map; a wheel zooms only when the host says so.
    scrollZoom: scroll === null ? !inFrame : scroll === '1' || scroll === 'true',
  };
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** Style layers of a catalog layer: its own, else a plain one by geometry in a colour of its own. */
function styleLayers(layer: CatalogLayer, i: number, visible: boolean): LayerSpecification[] {
  const visibility = visible ? 'visible' : 'none';
  const common = { source: layer.id, 'source-layer': layer.id, metadata: { 'citybase:layer': layer.id } };
  if (layer.style.length)
    return layer.style.map((s, j) => ({ ...s, id: `${layer.id}~${j}`, ...common, layout: { ...(s.layout as object), visibility } }) as unknown as LayerSpecification);
  const colour = layer.legend[0]?.color ?? COLOURS[i % COLOURS.length]!;
  const g = layer.geometryType.toUpperCase();
  if (g.includes('POINT')) return [{ id: `${layer.id}~0`, type: 'circle', ...common, layout: { visibility }, paint: { 'circle-color': colour, 'circle-radius': 4, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1 } }];
  if (g.includes('LINE')) return [{ id: `${layer.id}~0`, type: 'line', ...common, layout: { visibility }, paint: { 'line-color': colour, 'line-width': 2 } }];
  return [
    { id: `${layer.id}~0`, type: 'fill', ...common, layout: { visibility }, paint: { 'fill-color': colour, 'fill-opacity': 0.4 } },
    { id: `${layer.id}~1`, type: 'line', ...common, layout: { visibility }, paint: { 'line-color': colour, 'line-width': 1 } },
  ];
}

function colourOf(spec: LayerSpecification): string {
  const paint = (spec as { paint?: Record<string, unknown> }).paint ?? {};
  const c = paint['circle-color'] ?? paint['fill-color'] ?? paint['line-color'] ?? paint['text-color'];
  return typeof c === 'string' ? c : '#888888';
}

/**
 * The widget's map style: the public base map the key comes with, then the chosen layers (all of the key's when
 * none are named), each with its own style or a plain one. Also what `npm run bench:embed` gives a bare MapLibre
 * page, so both draw the same.
 */
export function widgetStyle(catalog: readonly CatalogLayer[], wanted: readonly string[]): { style: StyleSpecification; chosen: CatalogLayer[]; shown: CatalogLayer[] } {
  const base = catalog.filter((l) => l.theme === 'basemap');
  const themes = catalog.filter((l) => l.theme !== 'basemap');
  const chosen = wanted.length ? themes.filter((l) => wanted.includes(l.id)) : themes;
  const shown = [...base, ...chosen];
  const style: StyleSpecification = {
    version: 8,
    sources: Object.fromEntries(shown.map((l) => [l.id, { type: 'vector', url: l.tilejson }])),
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#EEF0F3' } }, ...shown.flatMap((l, i) => styleLayers(l, i, true))],
  };
  return { style, chosen, shown };
}

export async function createWidget(maplibre: Pick<typeof MapLibre, 'Map' | 'NavigationControl' | 'ScaleControl' | 'Popup'>, container: HTMLElement, o: WidgetOptions, emit: (e: WidgetEvent) => void): Promise<Widget> {
  const words = WORDS[o.lang];
  const api = (path: string, params: Record<string, string | number> = {}) => {
    const url = new URL(path, o.base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
    url.searchParams.set('key', o.key);
    return url.href;
  };
  const res = await fetch(api('layers'), { headers: { Accept: 'application/json' } });
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { message?: string } | null;
    container.append(el('div', 'cb-error', `${words.failed}: ${body?.message ?? res.status}`));
    throw new Error(`GET /layers: HTTP ${res.status} ${body?.message ?? ''}`);
  }
  const catalog = ((await res.json()) as { layers: CatalogLayer[] }).layers;
  const { style, chosen, shown } = widgetStyle(catalog, o.layers);
  const mapDiv = el('div', 'cb-map');
  container.append(mapDiv);
  const map = new maplibre.Map({
    container: mapDiv,
    style,
    center: o.center ?? HUAIAN,
    zoom: o.zoom ?? 9,
    scrollZoom: o.scrollZoom,
    attributionControl: { compact: true },
    locale: { 'NavigationControl.ZoomIn': words.zoomIn, 'NavigationControl.ZoomOut': words.zoomOut },
  });
  if (o.controls.includes('zoom')) map.addControl(new maplibre.NavigationControl({ showCompass: false }), 'top-right');
  if (o.controls.includes('scale')) map.addControl(new maplibre.ScaleControl({}), 'bottom-left');

  const visible = new Set(chosen.map((l) => l.id));
  const setVisible = (id: string, on: boolean) => {
    if (!chosen.some((l) => l.id === id)) return;
    on ? visible.add(id) : visible.delete(id);
    for (const spec of map.getStyle().layers) if ((spec as { metadata?: Record<string, unknown> }).metadata?.['citybase:layer'] === id) map.setLayoutProperty(spec.id, 'visibility', on ? 'visible' : 'none');
    for (const box of container.querySelectorAll<HTMLInputElement>(`input[data-layer="${CSS.escape(id)}"]`)) box.checked = on;
  };

  const panel = el('div', 'cb-panel');
  if (o.controls.includes('legend') || o.controls.includes('layers')) {
    const switcher = o.controls.includes('layers');
    panel.append(el('h2', 'cb-title', switcher ? words.layers : words.legend));
    for (const [i, l] of chosen.entries()) {
      const row = el(switcher ? 'label' : 'div', 'cb-row');
      if (switcher) {
        const box = el('input', 'cb-check');
        box.type = 'checkbox';
        box.checked = true;
        box.dataset.layer = l.id;
        box.addEventListener('change', () => setVisible(l.id, box.checked));
        row.append(box);
      }
      const swatch = el('span', 'cb-swatch');
      swatch.style.background = l.legend[0]?.color ?? colourOf(styleLayers(l, shown.indexOf(l), true)[0]!);
      row.append(swatch, document.createTextNode(l.title[o.lang]));
      panel.append(row);
      void i;
    }
  }
  if (o.controls.includes('fullscreen') && o.fullscreenUrl) {
    const a = el('a', 'cb-fullscreen', words.fullscreen);
    a.href = o.fullscreenUrl;
    a.target = '_blank';
    a.rel = 'noopener';
    panel.append(a);
  }
  if (panel.childElementCount) container.append(panel);

  const byId = new Map(chosen.map((l) => [l.id, l]));
  const popup = new maplibre.Popup({ closeButton: true, maxWidth: '280px' });
  map.on('click', async (e) => {
    const layers = [...visible];
    const features: Array<{ layer: string; id: string | number | null; properties: Record<string, unknown> }> = [];
    if (layers.length) {
      const r = await fetch(api('identify', { lon: e.lngLat.lng.toFixed(6), lat: e.lngLat.lat.toFixed(6), zoom: Math.round(map.getZoom()), layers: layers.join(',') }), { headers: { Accept: 'application/json' } });
      if (r.ok) {
        const body = (await r.json()) as { features?: Array<{ id?: string | number; properties?: Record<string, unknown>; layer?: string; collection?: string }> };
        for (const f of body.features ?? []) features.push({ layer: f.layer ?? f.collection ?? '', id: f.id ?? null, properties: f.properties ?? {} });
      }
    }
    emit({ type: 'click', lngLat: [e.lngLat.lng, e.lngLat.lat], features });
    if (!o.controls.includes('identify')) return;
    const box = el('div', 'cb-popup');
    if (!features.length) box.append(el('p', 'cb-empty', words.nothing));
    for (const f of features.slice(0, 5)) {
      const layer = byId.get(f.layer);
      box.append(el('h3', 'cb-popup-title', layer?.title[o.lang] ?? f.layer));
      const table = el('table', 'cb-props');
      for (const [k, v] of Object.entries(f.properties)) {
        const label = layer?.properties[k]?.label[o.lang] ?? k;
        const tr = el('tr', '');
        tr.append(el('th', '', label), el('td', '', `${v ?? ''}${layer?.properties[k]?.unit ? ` ${layer.properties[k]!.unit}` : ''}`));
        table.append(tr);
      }
      box.append(table);
    }
    popup.setLngLat(e.lngLat).setDOMContent(box).addTo(map);
  });
  map.on('moveend', () => {
    const c = map.getCenter();
    emit({ type: 'moveend', center: [c.lng, c.lat], zoom: map.getZoom() });
  });
  map.once('load', () => emit({ type: 'ready', layers: chosen.map((l) => l.id) }));

  const highlightIds: string[] = [];
  return {
    map,
    flyTo(center, zoom) {
      map.flyTo({ center, ...(zoom !== undefined ? { zoom } : {}), essential: true });
    },
    showLayer: (id) => setVisible(id, true),
    hideLayer: (id) => setVisible(id, false),
    highlight(layer, id) {
      for (const h of highlightIds.splice(0)) if (map.getLayer(h)) map.removeLayer(h);
      const l = byId.get(layer);
      if (!l || id === null) return;
      const g = l.geometryType.toUpperCase();
      const hid = `highlight~${layer}`;
      const filter = ['==', ['id'], id] as unknown as MapLibre.FilterSpecification;
      const common = { id: hid, source: layer, 'source-layer': layer, filter };
      map.addLayer(
        g.includes('POINT')
          ? { ...common, type: 'circle', paint: { 'circle-radius': 9, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#ffd400', 'circle-stroke-width': 3 } }
          : { ...common, type: 'line', paint: { 'line-color': '#ffd400', 'line-width': 4 } },
      );
      highlightIds.push(hid);
    },
    setFilter(layer, cql) {
      const l = byId.get(layer);
      const source = map.getSource(layer) as VectorTileSource | undefined;
      if (!l || !source) return;
      const sep = l.tilejson.includes('?') ? '&' : '?';
      source.setUrl(cql.trim() ? `${l.tilejson}${sep}filter=${encodeURIComponent(cql.trim())}` : l.tilejson);
    },
    destroy() {
      popup.remove();
      map.remove();
      container.replaceChildren();
    },
  };
}

/** A host's command, as sent with postMessage or called on the element; unknown ones are ignored. */
export function runCommand(w: Widget, m: Record<string, unknown>): boolean {
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const layer = str(m.layer);
  switch (m.command) {
    case 'flyTo': {
      const c = m.center;
      if (!Array.isArray(c) || c.length !== 2 || !c.every((x) => typeof x === 'number' && Number.isFinite(x))) return false;
      w.flyTo([c[0], c[1]], typeof m.zoom === 'number' ? m.zoom : undefined);
      return true;
    }
    case 'showLayer':
      if (layer) w.showLayer(layer);
      return layer !== null;
    case 'hideLayer':
      if (layer) w.hideLayer(layer);
      return layer !== null;
    case 'highlight':
      if (layer) w.highlight(layer, typeof m.id === 'string' || typeof m.id === 'number' ? m.id : null);
      return layer !== null;
    case 'setFilter':
      if (layer) w.setFilter(layer, str(m.filter) ?? '');
      return layer !== null;
    default:
      return false;
  }
}

/** Does an origin match one of the key's allowed origins (exact, or https://*.domain)? As the server decides. */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => {
    if (!a.includes('://*.')) return a === origin;
    try {
      const o = new URL(origin);
      const p = new URL(a.replace('://*.', '://'));
      return o.protocol === p.protocol && o.port === p.port && o.hostname.endsWith(`.${p.hostname}`) && o.origin === origin;
    } catch {
      return false;
    }
  });
}

export type { MapGeoJSONFeature };
