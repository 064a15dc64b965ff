import { notThereYet, postJson } from '../api.ts';
import type { CatalogLayer } from '../catalog.ts';
import { summable, type Hit } from '../features.ts';
import { meets } from '../geo/inside.ts';
import { local, t } from '../i18n.ts';
import type { Map as MapLibreMap } from 'maplibre-gl';
import { renderedHits } from '../map/rendered.ts';
import { fill, formatNumber, h } from '../ui/dom.ts';
import { Sketch, type Position } from './sketch.ts';
import type { Tool } from './tool-host.ts';

/**
 * Area statistics: draw a polygon, get per visible layer the number of features in it and the totals of its
 * quantities (the properties its definition declares additive). From `POST /query` when the server has it; until then from the
 * features drawn on the map, labelled approximate.
 */
export interface LayerCount {
  layer: CatalogLayer;
  count: number;
  sums: Record<string, number>;
}

export interface QueryDeps {
  map: MapLibreMap;
  visibleLayers: () => CatalogLayer[];
  styleLayersOf: Map<string, string[]>;
}

type Loose = Record<string, unknown>;

function sumsOf(layer: CatalogLayer, hits: Hit[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const key of summable(layer)) {
    const values = hits.map((x) => x.properties[key]).filter((v): v is number => typeof v === 'number');
    if (values.length) sums[key] = values.reduce((a, b) => a + b, 0);
  }
  return sums;
}

/** Counts out of a `POST /query` answer: `{ layers: [{ layer, count, sums, features }] }`. */
function countsFromApi(body: unknown, layers: CatalogLayer[]): LayerCount[] {
  const groups = ((body as { layers?: unknown })?.layers ?? []) as Loose[];
  return layers.map((layer) => {
    const g = groups.find((x) => x.layer === layer.id);
    const given = (g?.sums ?? {}) as Record<string, number>;
    // The server adds up every numeric property; only the quantities are shown.
    const sums = Object.fromEntries(summable(layer).filter((k) => typeof given[k] === 'number').map((k) => [k, given[k]!]));
    return { layer, count: Number(g?.count ?? 0), sums };
  });
}

function countsFromMap(deps: QueryDeps, ring: Position[], layers: CatalogLayer[]): LayerCount[] {
  const pts = ring.map((p) => deps.map.project(p));
  const box: [[number, number], [number, number]] = [
    [Math.min(...pts.map((p) => p.x)), Math.min(...pts.map((p) => p.y))],
    [Math.max(...pts.map((p) => p.x)), Math.max(...pts.map((p) => p.y))],
  ];
  const hits = renderedHits(deps.map, box, layers, deps.styleLayersOf).filter((x) => (x.parts ?? [x.geometry!]).some((g) => meets(g, ring)));
  return layers.map((layer) => {
    const own = hits.filter((x) => x.layer.id === layer.id);
    return { layer, count: own.length, sums: sumsOf(layer, own) };
  });
}

export async function queryArea(deps: QueryDeps, ring: Position[]): Promise<{ counts: LayerCount[]; approx: boolean }> {
  const layers = deps.visibleLayers();
  const geometry: GeoJSON.Polygon = { type: 'Polygon', coordinates: [[...ring, ring[0]!]] };
  // limit 0: counts and sums only, the features themselves are not shown.
  const res = await postJson<unknown>('query', { geometry, layers: layers.map((l) => l.id), limit: 0 });
  if (res.status === 200) return { counts: countsFromApi(res.body, layers), approx: false };
  if (!notThereYet(res)) throw new Error(res.error ?? `HTTP ${res.status}`);
  return { counts: countsFromMap(deps, ring, layers), approx: true };
}

function table(counts: LayerCount[]): HTMLElement {
  const words = t();
  return h(
    'table',
    { class: 'counts' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, words.queryLayer), h('th', { scope: 'col' }, words.queryCount), h('th', { scope: 'col' }, words.querySums))),
    h(
      'tbody',
      {},
      ...counts.map((c) =>
        h(
          'tr',
          { 'data-layer': c.layer.id, 'data-count': c.count },
          h('th', { scope: 'row' }, local(c.layer.title)),
          h('td', { class: 'count' }, formatNumber(c.count, 0)),
          h(
            'td',
            { class: 'sums' },
            ...Object.entries(c.sums).map(([key, v]) => {
              const p = c.layer.properties[key];
              return h('div', { 'data-sum': key, 'data-value': v }, `${p ? local(p.label) : key}: ${formatNumber(v, 2)}${p?.unit ? ` ${p.unit}` : ''}`);
            }),
          ),
        ),
      ),
    ),
  );
}

type Outcome =
  | { state: 'idle' }
  | { state: 'no-layers' }
  | { state: 'busy' }
  | { state: 'done'; counts: LayerCount[]; approx: boolean }
  | { state: 'failed'; message: string };

function outcomeView(o: Outcome): HTMLElement | string | null {
  const words = t();
  switch (o.state) {
    case 'idle':
      return null;
    case 'no-layers':
      return words.queryNoLayers;
    case 'busy':
      return words.querying;
    case 'failed':
      return `${words.queryFailed}${o.message}`;
    case 'done':
      return h('div', { 'data-approx': String(o.approx) }, table(o.counts), o.approx ? h('p', { class: 'note' }, words.queryApprox) : null);
  }
}

export function areaQueryTool(deps: QueryDeps): Tool {
  let sketch: Sketch | null = null;
  let panel: HTMLElement | null = null;
  let outcome: Outcome = { state: 'idle' };
  let asked = 0;

  const render = () => {
    if (!panel) return;
    const words = t();
    fill(
      panel,
      h('p', { class: 'hint' }, words.toolHintPolygon),
      h('div', { class: 'query-result', 'aria-live': 'polite', 'data-state': outcome.state }, outcomeView(outcome)),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', 'data-action': 'finish', onclick: () => sketch?.finish() }, words.finish),
        h('button', { type: 'button', 'data-action': 'undo', onclick: () => sketch?.undo() }, words.undo),
        h('button', { type: 'button', 'data-action': 'clear', onclick: () => sketch?.clear() }, words.cancel),
      ),
    );
  };
  const show = (o: Outcome) => {
    outcome = o;
    render();
  };

  const run = async (ring: Position[]) => {
    const ticket = ++asked;
    if (deps.visibleLayers().length === 0) return show({ state: 'no-layers' });
    show({ state: 'busy' });
    try {
      const { counts, approx } = await queryArea(deps, ring);
      if (ticket === asked) show({ state: 'done', counts, approx });
    } catch (err) {
      if (ticket === asked) show({ state: 'failed', message: (err as Error).message });
    }
  };

  return {
    id: 'query',
    icon: 'query',
    kind: 'drawing',
    label: () => t().drawQuery,
    start(el) {
      panel = el;
      outcome = { state: 'idle' };
      sketch = new Sketch(deps.map, 'polygon', {
        change: () => {
          // A new drawing: the previous answer no longer applies (and a late one is ignored).
          if (outcome.state !== 'idle') {
            asked++;
            show({ state: 'idle' });
          }
        },
        done: (ring) => void run(ring),
      });
      sketch.start();
      render();
    },
    stop() {
      sketch?.stop();
      sketch = null;
      panel = null;
    },
    refresh: render,
  };
}
