import './styles.css';
import { getJson, notThereYet } from './api.ts';
import { loadCatalog, type CatalogLayer } from './catalog.ts';
import { lang, onLang, setLang, t } from './i18n.ts';
import type { Map as MapLibreMap, StyleSpecification } from 'maplibre-gl';
import { maplibre } from './map/maplibre.ts';
import { buildStyle, defaultVisible, scaledPaint, type LayerState } from './map/style.ts';
import { areaQueryTool } from './tools/area-query.ts';
import { exportTool } from './tools/export-png.ts';
import { measureTool } from './tools/measure.ts';
import { ToolHost } from './tools/tool-host.ts';
import { showAccount } from './ui/account.ts';
import { showCoordinates } from './ui/coords.ts';
import { h } from './ui/dom.ts';
import { enableIdentify } from './ui/identify.ts';
import { LayerPanel } from './ui/layer-panel.ts';
import { enableSearch } from './ui/search.ts';
import { readLayers, writeLayers } from './url-state.ts';

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
  const setOpen = (open: boolean) => {
    panel.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    toggle.setAttribute('aria-label', open ? t().hidePanel : t().showPanel);
  };
  setOpen(!narrow.matches);
  toggle.addEventListener('click', () => setOpen(panel.hidden));
  const langButton = byId<HTMLButtonElement>('lang');
  langButton.addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh'));
  onLang(() => {
    byId('app-title').textContent = t().appTitle;
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
  ];
  for (const [selector, key] of named)
    for (const el of map.getContainer().querySelectorAll(selector)) {
      el.setAttribute('title', words[key]!);
      el.setAttribute('aria-label', words[key]!);
    }
  map.getCanvas().setAttribute('aria-label', words['Map.Title']!);
}

async function start(): Promise<void> {
  chrome();
  void showAccount(document.querySelector<HTMLElement>('.topbar')!);
  let catalog: CatalogLayer[];
  try {
    catalog = await loadCatalog();
  } catch (err) {
    byId('panel').replaceChildren(h('p', { class: 'error', role: 'alert' }, `${t().loadFailed}${(err as Error).message}`));
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
  map.addControl(new maplibre.ScaleControl({ unit: 'metric', maxWidth: 120 }), 'bottom-left');

  onLang(() => localizeControls(map));

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
  const panel = new LayerPanel(byId('panel'), catalog, state, apply);
  writeLayers(panel.order(), state);
  // A link pasted into the same tab: MapLibre moves the map, this switches the layers.
  addEventListener('hashchange', () => {
    const fromUrl = readLayers();
    if (!fromUrl) return;
    apply(catalog.map((l) => [l.id, { visible: fromUrl.has(l.id), opacity: fromUrl.get(l.id) ?? 1 }]));
    panel.render();
  });

  const deps = { map, catalog: catalogById, visibleLayers, styleLayersOf: built.layersOf };
  const tools = new ToolHost([measureTool(map, 'line'), measureTool(map, 'polygon'), areaQueryTool(deps), exportTool(map)], byId('tool-panel'));
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
  Object.assign(window, { citybase: { map, catalog, state } });
}

void start();
