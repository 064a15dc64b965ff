import { getJson, notThereYet } from '../api.ts';
import type { CatalogLayer } from '../catalog.ts';
import { hitsFromApi, type Hit } from '../features.ts';
import { local, t } from '../i18n.ts';
import type { LngLat, Map as MapLibreMap, Point, Popup } from 'maplibre-gl';
import { clearHighlight, highlight } from '../map/highlight.ts';
import { maplibre } from '../map/maplibre.ts';
import { drawnAbove, identifyOrder } from '../map/order.ts';
import { renderedHits } from '../map/rendered.ts';
import { isAirStation, stationSummary } from './air-station.ts';
import { fill, formatNumber, h } from './dom.ts';

/** Pixels around a click that still count as "on" a feature (a finger on a tablet is not a mouse pointer). */
const TOLERANCE_PX = 5;

export interface IdentifyDeps {
  map: MapLibreMap;
  catalog: Map<string, CatalogLayer>;
  visibleLayers: () => CatalogLayer[];
  styleLayersOf: Map<string, string[]>;
  /** Whether a drawing tool has the map's clicks. */
  busy: () => boolean;
}

/**
 * A click on the map opens a popup with the features there: their attributes under the catalog's labels, in
 * the catalog's order, one feature per page, the layers in the order a planner means them (map/order.ts), the
 * feature of the page highlighted on the map. From `GET /identify` when the server has it, else from the
 * features drawn on the map. Keyboard users identify at the map's centre with Enter (or I) on the focused map.
 * On a phone the popup is a bottom sheet (styles.css), leaving the map's controls free.
 */
export function enableIdentify(deps: IdentifyDeps): void {
  let popup: Popup | null = null;
  let asked = 0;
  const at = async (lngLat: LngLat, point: Point) => {
    if (deps.busy()) return;
    const visible = deps.visibleLayers();
    if (visible.length === 0) return;
    const ticket = ++asked;
    const result = await identify(deps, lngLat, point, visible);
    if (ticket !== asked) return; // a later click won
    popup?.remove();
    const hits = identifyOrder(result.hits, drawnAbove(deps.map, deps.styleLayersOf));
    const opened = new maplibre.Popup({ maxWidth: '360px', focusAfterOpen: true, className: 'identify-popup' });
    // Content that grows later (a chart, another page) gets the popup placed again, on whichever side fits.
    const relayout = () => {
      if (opened.isOpen()) opened.setLngLat(opened.getLngLat());
    };
    const show = (hit: Hit | undefined) => (hit ? highlight(deps.map, hit.parts ?? (hit.geometry ? [hit.geometry] : [])) : clearHighlight(deps.map));
    opened.on('close', () => {
      if (popup === opened) clearHighlight(deps.map);
    });
    popup = opened.setLngLat(lngLat).setDOMContent(popupContent(hits, result.approx, relayout, show)).addTo(deps.map);
  };
  deps.map.on('click', (e) => void at(e.lngLat, e.point));
  deps.map.getCanvas().addEventListener('keydown', (e) => {
    if ((e.key !== 'Enter' && e.key !== 'i') || e.altKey || e.ctrlKey || e.metaKey || deps.busy()) return;
    e.preventDefault();
    const c = deps.map.getCanvas();
    void at(deps.map.getCenter(), new maplibre.Point(c.clientWidth / 2, c.clientHeight / 2));
  });
}

async function identify(deps: IdentifyDeps, lngLat: LngLat, point: Point, visible: CatalogLayer[]): Promise<{ hits: Hit[]; approx: boolean }> {
  const res = await getJson<unknown>('identify', {
    lon: lngLat.lng.toFixed(7),
    lat: lngLat.lat.toFixed(7),
    zoom: deps.map.getZoom().toFixed(2),
    layers: visible.map((l) => l.id).join(','),
  }).catch(() => null);
  if (res && res.status === 200) return { hits: hitsFromApi(res.body, deps.catalog), approx: false };
  if (res && !notThereYet(res)) console.warn(`identify: HTTP ${res.status} ${res.error ?? ''}`);
  const { x, y } = point;
  const box: [[number, number], [number, number]] = [
    [x - TOLERANCE_PX, y - TOLERANCE_PX],
    [x + TOLERANCE_PX, y + TOLERANCE_PX],
  ];
  return { hits: renderedHits(deps.map, box, visible, deps.styleLayersOf), approx: true };
}

/** A property value as text: numbers grouped, booleans 是/否, dates as given, nothing as a dash. */
function valueText(v: unknown, unit?: string): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'boolean') return v ? t().yes : t().no;
  const text = typeof v === 'number' ? formatNumber(v, 6) : String(v);
  return unit ? `${text} ${unit}` : text;
}

function featureTable(hit: Hit): HTMLElement {
  const rows = Object.entries(hit.layer.properties).map(([key, p]) =>
    h('tr', { 'data-property': key }, h('th', { scope: 'row' }, local(p.label)), h('td', {}, valueText(hit.properties[key], p.unit))),
  );
  return h('table', { class: 'attributes' }, h('tbody', {}, ...rows));
}

function popupContent(hits: Hit[], approx: boolean, relayout: () => void, shown: (hit: Hit | undefined) => void): HTMLElement {
  const root = h('div', { class: 'identify', role: 'dialog', 'aria-live': 'polite' });
  if (hits.length === 0) {
    fill(root, h('p', {}, t().identifyNone));
    shown(undefined);
    return root;
  }
  let page = 0;
  const show = () => {
    const hit = hits[page]!;
    const words = t();
    const pager =
      hits.length > 1
        ? h(
            'div',
            { class: 'pager' },
            h('button', { type: 'button', 'aria-label': words.previous, disabled: page === 0, onclick: () => turn(-1) }, '‹'),
            h('span', { class: 'page' }, words.featureOf(page + 1, hits.length)),
            h('button', { type: 'button', 'aria-label': words.next, disabled: page === hits.length - 1, onclick: () => turn(1) }, '›'),
          )
        : null;
    const chart = h('div', { class: 'chart-slot' });
    fill(
      root,
      h('h3', { class: 'identify-layer', 'data-layer': hit.layer.id, 'data-id': hit.id ?? '' }, local(hit.layer.title)),
      pager,
      isAirStation(hit) ? stationSummary(hit) : null,
      chart,
      isAirStation(hit) ? null : featureTable(hit),
      approx ? h('p', { class: 'note' }, words.identifyApprox) : null,
    );
    shown(hit);
    relayout();
    // The chart library is loaded only when a popup needs it.
    if (isAirStation(hit)) void import('./aqi-chart.ts').then((m) => m.showAqiChart(chart, hit)).then(relayout);
  };
  const turn = (step: number) => {
    page = Math.min(hits.length - 1, Math.max(0, page + step));
    show();
    root.querySelector<HTMLButtonElement>(`.pager button:not([disabled])`)?.focus();
  };
  show();
  return root;
}
