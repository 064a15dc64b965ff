import './styles.css';
import { shareableUrl, takeSessionKey } from './session-key.ts';
import { getJson, notThereYet, serviceDown } from './api.ts';
import { loadCatalog, type CatalogLayer } from './catalog.ts';
import { lang, onLang, setLang, t } from './i18n.ts';
import type { Map as MapLibreMap, StyleSpecification } from 'maplibre-gl';
import { maplibre } from './map/maplibre.ts';
import { buildStyle, defaultVisible, scaledPaint, type LayerState } from './map/style.ts';
import { areaQueryTool } from './tools/area-query.ts';
import { exportTool } from './tools/export-png.ts';
import { printTool } from './tools/print.ts';
import { measureTool } from './tools/measure.ts';
import { ToolHost } from './tools/tool-host.ts';
import { showAccount } from './ui/account.ts';
import { showCoordinates } from './ui/coords.ts';
import { h } from './ui/dom.ts';
import { enableIdentify } from './ui/identify.ts';
import { LayerPanel } from './ui/layer-panel.ts';
import { enableSearch } from './ui/search.ts';
import { showLoading } from './ui/loading.ts';
import { serviceState } from './ui/service-state.ts';
import { readLayers, writeLayers } from './url-state.ts';
import { LayerFilters } from './map/layer-filters.ts';
import { applyOrder } from './map/order.ts';
import { AttributeTable } from './ui/attribute-table.ts';
import { BaseMapSwitcher } from './ui/basemap.ts';
import { bookmarksSection } from './ui/bookmarks.ts';
import { filterBuilders } from './ui/filter-builder.ts';
import { Legends } from './ui/legend.ts';
import { layersWithTime, timeSlider } from './ui/time-slider.ts';

/**
 * The map viewer: the catalog (`GET /layers`) → the style → the map, then the panel, the click popup, the
 * tools and the URL hash. Everything comes from the server that served this page.
 */
const HUAIAN: [[number, number], [number, number]] = [
  [118.2, 32.7],
  [119.65, 34.1],
];
/** CJK text is drawn from local fonts (no glyph server): the first of these the device has. */
const CJK_FONTS = 'Noto Sans CJK SC,Source Han Sans SC,Microsoft YaHei,PingFang SC,sans-serif';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The themes' style when the server has one (404 until it does). */
async function loadBaseStyle(): Promise<StyleSpecification | null> {
  const res = await getJson<StyleSpecification>('styles/default.json').catch(() => null);
  if (res?.status === 200 && res.body && Array.isArray(res.body.layers)) return res.body;
  if (res && !notThereYet(res)) console.warn(`styles/default.json: HTTP ${res.status} ${res.error ?? ''}`);
  return null;
}

/** Each layer's state: from the URL when it says, else the defaults. */
function initialState(catalog: CatalogLayer[], base: StyleSpecification | null): Map<string, LayerState> {
  const fromUrl = readLayers();
  return new Map(
    catalog.map((l) => [
      l.id,
      fromUrl ? { visible: fromUrl.has(l.id), opacity: fromUrl.get(l.id) ?? 1 } : { visible: defaultVisible(l, base), opacity: 1 },
    ]),
  );
}

function chrome(): void {
  const toggle = byId<HTMLButtonElement>('panel-toggle');
  const panel = byId('panel');
  const narrow = matchMedia('(max-width: 900px)');
  // On a tablet or phone the panel is a drawer over the map; a tap beside it (on the scrim) closes it and
  // does not reach the map, so it never identifies by accident.
  const scrim = byId('scrim');
  const setOpen = (open: boolean) => {
    panel.hidden = !open;
    scrim.hidden = !(open && narrow.matches);
    toggle.setAttribute('aria-expanded', String(open));
    toggle.setAttribute('aria-label', open ? t().hidePanel : t().showPanel);
  };
  setOpen(!narrow.matches);
  toggle.addEventListener('click', () => setOpen(panel.hidden));
  scrim.addEventListener('click', () => {
    setOpen(false);
    toggle.focus();
  });
  scrim.setAttribute('aria-label', t().closeDrawer);
  // The skip link: the first tab stop, straight to the map (where arrows pan and Enter identifies).
  const skip = byId<HTMLButtonElement>('skip-to-map');
  skip.addEventListener('click', () => document.querySelector<HTMLElement>('#map canvas')?.focus());
  const langButton = byId<HTMLButtonElement>('lang');
  langButton.addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh'));
  onLang(() => {
    byId('app-title').querySelector('.title-long')!.textContent = t().appTitle;
    byId('app-title').querySelector('.title-short')!.textContent = t().appShort;
    byId('app-title').setAttribute('title', t().appTitle);
    skip.textContent = t().skipToMap;
    document.title = t().appTitle;
    langButton.textContent = t().switchLang;
    langButton.setAttribute('aria-label', t().switchLangLabel);
    toggle.setAttribute('aria-label', panel.hidden ? t().showPanel : t().hidePanel);
  });
}

/** MapLibre takes its words once, at creation: a language switch renames its controls here. */
function localizeControls(map: MapLibreMap): void {
  const words = t().maplibre;
  const named: Array<[string, string]> = [
    ['.maplibregl-ctrl-zoom-in', 'NavigationControl.ZoomIn'],
    ['.maplibregl-ctrl-zoom-out', 'NavigationControl.ZoomOut'],
    ['.maplibregl-ctrl-compass', 'NavigationControl.ResetBearing'],
    ['.maplibregl-ctrl-attrib-button', 'AttributionControl.ToggleAttribution'],
    ['.maplibregl-ctrl-geolocate', 'GeolocateControl.FindMyLocation'],
  ];
  for (const [selector, key] of named)
    for (const el of map.getContainer().querySelectorAll(selector)) {
      el.setAttribute('title', words[key]!);
      el.setAttribute('aria-label', words[key]!);
    }
  map.getCanvas().setAttribute('aria-label', words['Map.Title']!);
}

async function start(): Promise<void> {
  // Before anything is asked of the server: the key leaves the address bar.
  takeSessionKey();
  serviceDown.failed = () => serviceState.failed();
  chrome();
  void showAccount(document.querySelector<HTMLElement>('.topbar')!);
  serviceState.mount(byId('service-banner'));
  let catalog: CatalogLayer[];
  try {
    catalog = await loadCatalog();
  } catch (err) {
    byId('panel').replaceChildren(h('p', { class: 'error', role: 'alert' }, `${t().loadFailed}${(err as Error).message}`));
    // The server is down or starting: try again when it answers (the banner says so meanwhile).
    serviceState.failed();
    serviceState.onRecovered(() => location.reload());
    return;
  }
  performance.mark('citybase:catalog');
  const base = await loadBaseStyle();
  const state = initialState(catalog, base);
  const built = buildStyle(catalog, base, state);
  const catalogById = new Map(catalog.map((l) => [l.id, l]));

  const map: MapLibreMap = new maplibre.Map({
    container: 'map',
    style: built.style,
    bounds: HUAIAN,
    fitBoundsOptions: { padding: 20 },
    hash: 'map',
    maxZoom: 20,
    localIdeographFontFamily: CJK_FONTS,
    locale: t().maplibre,
    attributionControl: { compact: true },
  });
  map.once('idle', () => {
    // For bench:viewer: the time from navigation to the first fully drawn map.
    performance.mark('citybase:first-idle');
    // The sources' attributions are long: folded behind the ⓘ button (as MapLibre does after a first drag)
    // instead of covering the south of the city and the coordinates.
    map.getContainer().querySelector('.maplibregl-ctrl-attrib')?.classList.remove('maplibregl-compact-show');
  });
  map.addControl(new maplibre.NavigationControl({ visualizePitch: false }), 'top-right');
  // "Locate me": the device's position (only the browser asks for it; nothing leaves the page).
  map.addControl(new maplibre.GeolocateControl({ positionOptions: { enableHighAccuracy: true }, fitBoundsOptions: { maxZoom: 16 } }), 'top-right');
  map.addControl(new maplibre.ScaleControl({ unit: 'metric', maxWidth: 120 }), 'bottom-left');

  onLang(() => localizeControls(map));
  showLoading(map, byId('loading'));
  // A tile that fails with the server or database down: the banner, not 49 console errors; when the server
  // answers again, the tiles are asked for again and the banner goes.
  map.on('error', (e) => {
    const status = (e.error as { status?: number } | undefined)?.status;
    if (status === undefined || status >= 500 || status === 0) serviceState.failed();
    else console.warn(`map: ${e.error?.message ?? e}`);
  });
  serviceState.onRecovered(() => {
    for (const id of Object.keys(map.getStyle().sources)) if (map.getSource(id)?.type === 'vector') map.refreshTiles(id);
  });

  const visibleLayers = () => catalog.filter((l) => state.get(l.id)?.visible);
  const apply = (changes: Array<[string, LayerState]>) => {
    for (const [id, next] of changes) {
      state.set(id, next);
      for (const styleId of built.layersOf.get(id) ?? []) {
        const layer = map.getLayer(styleId);
        if (!layer) continue;
        map.setLayoutProperty(styleId, 'visibility', next.visible ? 'visible' : 'none');
        const paint = scaledPaint(layer.type, built.originals.get(styleId) ?? {}, next.opacity);
        for (const [prop, value] of Object.entries(paint)) map.setPaintProperty(styleId, prop as 'fill-opacity', value as number);
      }
    }
    writeLayers(panel.order(), state);
  };
  const filters = new LayerFilters(map, catalogById);
  const table = new AttributeTable(byId('table-panel'), map, filters);
  const legends = new Legends(map, built.layersOf, visibleLayers);
  const openFilters = new Set<string>();
  let timeColumns = new Map<string, string>();
  const builderOf = filterBuilders(filters);
  const basemaps = new BaseMapSwitcher({
    map,
    style: built.style,
    catalog,
    state,
    defaults: (l) => defaultVisible(l, base),
    apply,
    rerender: () => panel.render(),
  });
  // The panel lists each theme's layers in drawing order, topmost first, as the style draws them.
  const position = new Map(built.style.layers.map((l, i) => [l.id, i]));
  const topOf = (id: string) => Math.max(-1, ...(built.layersOf.get(id) ?? []).map((s) => position.get(s) ?? -1));
  const panel: LayerPanel = new LayerPanel(byId('panel'), catalog, state, apply, {
    initialOrder: [...catalog].sort((a, b) => topOf(b.id) - topOf(a.id)).map((l) => l.id),
    legends,
    onReorder: (order) => {
      applyOrder(map, order, built.layersOf);
      writeLayers(order, state);
    },
    layerTools: (layer) => {
      const words = t();
      const filtering = openFilters.has(layer.id);
      return h(
        'div',
        { class: 'layer-tools' },
        h(
          'div',
          { class: 'layer-buttons' },
          h(
            'button',
            {
              type: 'button',
              'data-filter-toggle': layer.id,
              'aria-expanded': String(filtering),
              onclick: () => {
                if (filtering) openFilters.delete(layer.id);
                else openFilters.add(layer.id);
                panel.render();
              },
            },
            filters.get(layer.id, 'where') ? `${words.filter} ●` : words.filter,
          ),
          h('button', { type: 'button', 'data-table-open': layer.id, onclick: () => table.open(layer) }, words.table),
        ),
        timeSlider(layer, filters, timeColumns.get(layer.id)),
        filtering ? builderOf(layer) : null,
      );
    },
    sections: () => [basemaps.element(), bookmarksSection(() => panel.render())],
  });
  writeLayers(panel.order(), state);
  filters.onChange(() => panel.render());
  // Which layers have a time column (for their sliders): asked once the map has drawn.
  map.once('idle', () =>
    void layersWithTime().then((m) => {
      timeColumns = m;
      if (m.size) panel.render();
    }),
  );
  // A link pasted into the same tab: MapLibre moves the map, this switches the layers.
  addEventListener('hashchange', () => {
    const fromUrl = readLayers();
    if (!fromUrl) return;
    apply(catalog.map((l) => [l.id, { visible: fromUrl.has(l.id), opacity: fromUrl.get(l.id) ?? 1 }]));
    panel.render();
  });

  const deps = { map, catalog: catalogById, visibleLayers, styleLayersOf: built.layersOf };
  const tools = new ToolHost(
    [measureTool(map, 'line'), measureTool(map, 'polygon'), areaQueryTool(deps), exportTool(map), printTool({ map, visible: visibleLayers, legend: (l) => legends.entries(l) })],
    byId('tool-panel'),
  );
  map.addControl(tools, 'top-right');
  enableIdentify({ ...deps, busy: tools.busy });
  showCoordinates(map, byId('coords'));
  enableSearch(byId<HTMLFormElement>('search'), {
    map,
    catalog,
    show: (id) => {
      if (!state.get(id)?.visible) {
        apply([[id, { ...state.get(id)!, visible: true }]]);
        panel.render();
      }
    },
  });

  // For tests, benchmarks and a planner's browser console.
  Object.assign(window, { citybase: { map, catalog, state, shareableUrl, filters } });
}

void start();
