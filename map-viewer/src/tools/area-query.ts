// The platform's one CSV rule (BOM, RFC 4180, no spreadsheet formulas), shared with the server's exports.
import { csvFile } from '../../../tile-server/src/csv.ts';
import { notThereYet, postJson } from '../api.ts';
import type { CatalogLayer } from '../catalog.ts';
import { summable, type Hit } from '../features.ts';
import { meets } from '../geo/inside.ts';
import turfArea from '@turf/area';
import { lang, local, t } from '../i18n.ts';
import type { Map as MapLibreMap } from 'maplibre-gl';
import { renderedHits } from '../map/rendered.ts';
import { fill, formatNumber, h } from '../ui/dom.ts';
import { Sketch, type Position } from './sketch.ts';
import type { Tool } from './tool-host.ts';

/**
 * Area statistics: draw a polygon, get per visible layer the number of features in it, the area of polygons and
 * the length of lines inside it (clipped: the part inside, not whole parcels), the breakdown by class (用地分类
 * with its colour, 控规 用地性质) and the totals of its quantities (the properties its definition declares
 * additive). The drawn area is given too; base-map layers are left out unless asked for (or nothing else is on).
 * Exports to CSV and Excel. From `POST /query` when the server has it; until then from the features drawn on the
 * map, labelled approximate (counts and sums only).
 */
export interface ClassFigure {
  code: string;
  name: string | null;
  color: string | null;
  count: number;
  areaM2?: number;
  lengthM?: number;
}

export interface LayerCount {
  layer: CatalogLayer;
  count: number;
  sums: Record<string, number>;
  clippedAreaM2?: number;
  clippedLengthM?: number;
  classes?: ClassFigure[];
}

const words = {
  zh: {
    drawnArea: '绘制范围面积',
    inside: '范围内',
    includeBase: '统计底图图层',
    exportCsv: '导出 CSV',
    exportXlsx: '导出 Excel',
    klass: '分类',
    code: '代码',
    sheet: '框选统计',
    layer: '图层',
    count: '数量',
    areaM2: '范围内面积 (m²)',
    lengthM: '范围内长度 (m)',
  },
  en: {
    drawnArea: 'Drawn area',
    inside: 'Inside',
    includeBase: 'Include base-map layers',
    exportCsv: 'Export CSV',
    exportXlsx: 'Export Excel',
    klass: 'Class',
    code: 'Code',
    sheet: 'Area statistics',
    layer: 'Layer',
    count: 'Count',
    areaM2: 'Area inside (m²)',
    lengthM: 'Length inside (m)',
  },
};
const w = () => words[lang()];

/** m² as m² below a hectare's hundredth part of a km², else km²; metres as m or km. */
const areaText = (m2: number) => (m2 >= 100_000 ? `${formatNumber(m2 / 1e6, 3)} km²` : `${formatNumber(m2, 0)} m²`);
const lengthText = (m: number) => (m >= 10_000 ? `${formatNumber(m / 1000, 2)} km` : `${formatNumber(m, 0)} m`);

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
    const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
    return {
      layer,
      count: Number(g?.count ?? 0),
      sums,
      clippedAreaM2: num(g?.clippedAreaM2),
      clippedLengthM: num(g?.clippedLengthM),
      classes: Array.isArray(g?.classes) ? (g.classes as ClassFigure[]) : undefined,
    };
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

/**
 * The layers counted: the visible ones, without the base map (districts, streets … would only repeat the drawn
 * area) unless asked for, or unless nothing else is on.
 */
export function countedLayers(visible: CatalogLayer[], includeBase: boolean | null): CatalogLayer[] {
  const thematic = visible.filter((l) => l.theme !== 'basemap');
  return (includeBase ?? thematic.length === 0) ? visible : thematic;
}

export interface AreaAnswer {
  counts: LayerCount[];
  approx: boolean;
  /** The drawn polygon's own area in m² (the server's, else turf's on the sphere). */
  areaM2: number;
}

export async function queryArea(deps: QueryDeps, ring: Position[], layers: CatalogLayer[]): Promise<AreaAnswer> {
  const geometry: GeoJSON.Polygon = { type: 'Polygon', coordinates: [[...ring, ring[0]!]] };
  // limit 0: counts and sums only, the features themselves are not shown.
  const res = await postJson<{ areaM2?: number }>('query', { geometry, layers: layers.map((l) => l.id), limit: 0 });
  if (res.status === 200) return { counts: countsFromApi(res.body, layers), approx: false, areaM2: Number(res.body?.areaM2 ?? turfArea(geometry)) };
  if (!notThereYet(res)) throw new Error(res.error ?? `HTTP ${res.status}`);
  return { counts: countsFromMap(deps, ring, layers), approx: true, areaM2: turfArea(geometry) };
}

/** The statistics as rows (header first): one per layer, then one per class of it. Shared by CSV and Excel. */
export function statisticsRows(answer: AreaAnswer): Array<Array<string | number | null>> {
  const words = w();
  const sumKeys = [...new Set(answer.counts.flatMap((c) => Object.keys(c.sums).map((k) => `${c.layer.id}\u0000${k}`)))];
  const sumTitle = (key: string) => {
    const [id, prop] = key.split('\u0000') as [string, string];
    const layer = answer.counts.find((c) => c.layer.id === id)!.layer;
    const p = layer.properties[prop];
    return `${local(layer.title)} ${p ? local(p.label) : prop}${p?.unit ? ` (${p.unit})` : ''}`;
  };
  const rows: Array<Array<string | number | null>> = [
    [words.layer, words.code, words.klass, words.count, words.areaM2, words.lengthM, ...sumKeys.map(sumTitle)],
    [words.drawnArea, null, null, null, Math.round(answer.areaM2 * 10) / 10, null, ...sumKeys.map(() => null)],
  ];
  for (const c of answer.counts) {
    rows.push([local(c.layer.title), null, null, c.count, c.clippedAreaM2 ?? null, c.clippedLengthM ?? null, ...sumKeys.map((k) => (k.startsWith(`${c.layer.id}\u0000`) ? (c.sums[k.split('\u0000')[1]!] ?? null) : null))]);
    for (const k of c.classes ?? []) rows.push([local(c.layer.title), k.code, k.name, k.count, k.areaM2 ?? null, k.lengthM ?? null, ...sumKeys.map(() => null)]);
  }
  return rows;
}

function csvText(rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  return csvFile(rows[0] as readonly string[], rows.slice(1));
}

function save(blob: Blob, name: string): void {
  const a = h('a', { href: URL.createObjectURL(blob), download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

const fileStem = () => `citybase-statistics-${new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '')}`;

async function exportAs(kind: 'csv' | 'xlsx', answer: AreaAnswer): Promise<void> {
  const rows = statisticsRows(answer);
  if (kind === 'csv') return save(new Blob([csvText(rows)], { type: 'text/csv;charset=utf-8' }), `${fileStem()}.csv`);
  // The workbook writer (and its zip library) is fetched the first time someone asks for Excel.
  const { workbook } = await import('./xlsx.ts');
  save(workbook(w().sheet, rows), `${fileStem()}.xlsx`);
}

function swatch(color: string | null): HTMLElement {
  const el = h('span', { class: 'swatch fill', 'aria-hidden': 'true' });
  // CSSOM, not a style attribute: the page's Content-Security-Policy allows no inline styles from markup.
  el.style.cssText = `display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px;border:1px solid #8C8C8C;background:${color ?? 'transparent'}`;
  return el;
}

function insideText(c: { clippedAreaM2?: number; clippedLengthM?: number; areaM2?: number; lengthM?: number }): string {
  const area = c.clippedAreaM2 ?? c.areaM2;
  const length = c.clippedLengthM ?? c.lengthM;
  return [area !== undefined ? areaText(area) : '', length !== undefined ? lengthText(length) : ''].filter(Boolean).join(' · ');
}

function table(counts: LayerCount[]): HTMLElement {
  const words = t();
  return h(
    'table',
    { class: 'counts' },
    h(
      'thead',
      {},
      h('tr', {}, h('th', { scope: 'col' }, words.queryLayer), h('th', { scope: 'col' }, words.queryCount), h('th', { scope: 'col' }, w().inside), h('th', { scope: 'col' }, words.querySums)),
    ),
    h(
      'tbody',
      {},
      ...counts.flatMap((c) => [
        h(
          'tr',
          { 'data-layer': c.layer.id, 'data-count': c.count, 'data-area': c.clippedAreaM2 ?? '', 'data-length': c.clippedLengthM ?? '' },
          h('th', { scope: 'row' }, local(c.layer.title)),
          h('td', { class: 'count' }, formatNumber(c.count, 0)),
          h('td', { class: 'inside' }, insideText(c)),
          h(
            'td',
            { class: 'sums' },
            ...Object.entries(c.sums).map(([key, v]) => {
              const p = c.layer.properties[key];
              return h('div', { 'data-sum': key, 'data-value': v }, `${p ? local(p.label) : key}: ${formatNumber(v, 2)}${p?.unit ? ` ${p.unit}` : ''}`);
            }),
          ),
        ),
        ...(c.classes ?? []).map((k) =>
          h(
            'tr',
            { class: 'class-row', 'data-class-of': c.layer.id, 'data-class': k.code, 'data-count': k.count, 'data-area': k.areaM2 ?? '', 'data-color': k.color ?? '' },
            h('th', { scope: 'row', class: 'class-name' }, swatch(k.color), k.name ? `${k.code} ${k.name}` : k.code),
            h('td', { class: 'count' }, formatNumber(k.count, 0)),
            h('td', { class: 'inside' }, insideText(k)),
            h('td', {}),
          ),
        ),
      ]),
    ),
  );
}

type Outcome =
  | { state: 'idle' }
  | { state: 'no-layers' }
  | { state: 'busy' }
  | ({ state: 'done' } & AreaAnswer)
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
      return h(
        'div',
        { 'data-approx': String(o.approx) },
        h('p', { class: 'drawn-area', 'data-area': Math.round(o.areaM2 * 10) / 10 }, `${w().drawnArea}: ${areaText(o.areaM2)}`),
        table(o.counts),
        o.approx ? h('p', { class: 'note' }, words.queryApprox) : null,
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', 'data-export': 'csv', onclick: () => void exportAs('csv', o) }, w().exportCsv),
          h('button', { type: 'button', 'data-export': 'xlsx', onclick: () => void exportAs('xlsx', o) }, w().exportXlsx),
        ),
      );
  }
}

export function areaQueryTool(deps: QueryDeps): Tool {
  let sketch: Sketch | null = null;
  let panel: HTMLElement | null = null;
  let outcome: Outcome = { state: 'idle' };
  let asked = 0;
  /** null: the base map only when nothing else is on; true/false: the planner's choice. */
  let includeBase: boolean | null = null;
  let lastRing: Position[] | null = null;

  const render = () => {
    if (!panel) return;
    const words = t();
    fill(
      panel,
      h('p', { class: 'hint' }, words.toolHintPolygon),
      baseToggle(),
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

  function baseToggle(): HTMLElement {
    const visible = deps.visibleLayers();
    const box = h('input', {
      type: 'checkbox',
      id: 'query-include-base',
      'data-include-base': '',
      onchange: (e: Event) => {
        includeBase = (e.target as HTMLInputElement).checked;
        if (lastRing) void run(lastRing);
        else render();
      },
    });
    box.checked = countedLayers(visible, includeBase).some((l) => l.theme === 'basemap');
    return h('p', { class: 'include-base' }, box, h('label', { for: box.id }, w().includeBase));
  }

  /** When the panel lies over the drawing, the map moves the drawing beside it (the zoom stays). */
  const uncover = (ring: Position[]) => {
    if (!panel) return;
    const canvas = deps.map.getCanvas().getBoundingClientRect();
    const box = panel.getBoundingClientRect();
    const covered = ring.some((p) => {
      const px = deps.map.project(p);
      return px.x + canvas.left >= box.left && px.x + canvas.left <= box.right && px.y + canvas.top >= box.top && px.y + canvas.top <= box.bottom;
    });
    if (!covered) return;
    const lons = ring.map((p) => p[0]);
    const lats = ring.map((p) => p[1]);
    const left = Math.min(canvas.width * 0.6, box.right - canvas.left + 16);
    deps.map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]], {
      padding: { left, top: 24, right: 24, bottom: 24 },
      maxZoom: deps.map.getZoom(),
      duration: 0,
    });
  };

  const run = async (ring: Position[]) => {
    const ticket = ++asked;
    lastRing = ring;
    const layers = countedLayers(deps.visibleLayers(), includeBase);
    if (layers.length === 0) return show({ state: 'no-layers' });
    show({ state: 'busy' });
    try {
      const answer = await queryArea(deps, ring, layers);
      if (ticket === asked) {
        show({ state: 'done', ...answer });
        uncover(ring);
      }
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
          lastRing = null;
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
