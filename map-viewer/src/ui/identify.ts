import { getJson, notThereYet } from '../api.ts';
import type { CatalogLayer } from '../catalog.ts';
import { hitsFromApi, type Hit } from '../features.ts';
import { local, t } from '../i18n.ts';
import type { MapMouseEvent, Map as MapLibreMap, Popup } from 'maplibre-gl';
import { maplibre } from '../map/maplibre.ts';
import { renderedHits } from '../map/rendered.ts';
import { isAirStation } from './air-station.ts';
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
 * the catalog's order, one feature per page. From `GET /identify` when the server has it, else from the
 * features drawn on the map.
 */
export function enableIdentify(deps: IdentifyDeps): void {
  let popup: Popup | null = null;
  let asked = 0;
  deps.map.on('click', async (e: MapMouseEvent) => {
    if (deps.busy()) return;
    const visible = deps.visibleLayers();
    if (visible.length === 0) return;
    const ticket = ++asked;
    const result = await identify(deps, e, visible);
    if (ticket !== asked) return; // a later click won
    popup?.remove();
    const opened = new maplibre.Popup({ maxWidth: '360px', focusAfterOpen: true, className: 'identify-popup' });
    // Content that grows later (a chart, another page) gets the popup placed again, on whichever side fits.
    const relayout = () => {
      if (opened.isOpen()) opened.setLngLat(opened.getLngLat());
    };
    popup = opened.setLngLat(e.lngLat).setDOMContent(popupContent(result.hits, result.approx, relayout)).addTo(deps.map);
  });
}

async function identify(deps: IdentifyDeps, e: MapMouseEvent, visible: CatalogLayer[]): Promise<{ hits: Hit[]; approx: boolean }> {
  const res = await getJson<unknown>('identify', {
    lon: e.lngLat.lng.toFixed(7),
    lat: e.lngLat.lat.toFixed(7),
    zoom: deps.map.getZoom().toFixed(2),
    layers: visible.map((l) => l.id).join(','),
  }).catch(() => null);
  if (res && res.status === 200) return { hits: hitsFromApi(res.body, deps.catalog), approx: false };
  if (res && !notThereYet(res)) console.warn(`identify: HTTP ${res.status} ${res.error ?? ''}`);
  const { x, y } = e.point;
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

function popupContent(hits: Hit[], approx: boolean, relayout: () => void): HTMLElement {
  const root = h('div', { class: 'identify', role: 'dialog', 'aria-live': 'polite' });
  if (hits.length === 0) {
    fill(root, h('p', {}, t().identifyNone));
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
      h('h3', { class: 'identify-layer', 'data-layer': hit.layer.id }, local(hit.layer.title)),
      pager,
      chart,
      featureTable(hit),
      approx ? h('p', { class: 'note' }, words.identifyApprox) : null,
    );
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
