import { getJson } from './net.ts';

/**
 * 综合评价 on the desk: per department or district over a period, the table of GET /api/cases/evaluation and two
 * charts drawn as SVG (no chart library: a handful of bars): the SLA rates (派遣准确率, 按期处置率, 按期结案率,
 * 返工率, in %) and the average hours per step (受理立案, 派遣, 处置, 核查). Each bar carries a <title> with its
 * value, so it reads with a screen reader and a mouse alike; a rate with nothing to measure has no bar and shows —.
 */
interface Row {
  group: string | null;
  accepted: number;
  dispatched: number;
  returned: number;
  closed: number;
  dispatch_accuracy: number | null;
  handled_on_time_rate: number | null;
  closed_on_time_rate: number | null;
  rework_rate: number | null;
  avg_accept_h: number | null;
  avg_dispatch_h: number | null;
  avg_handle_h: number | null;
  avg_check_h: number | null;
}
type Series = Array<{ key: keyof Row; label: string; color: string }>;
const RATES: Series = [
  { key: 'dispatch_accuracy', label: '派遣准确率', color: '#1F77B4' },
  { key: 'handled_on_time_rate', label: '按期处置率', color: '#2CA02C' },
  { key: 'closed_on_time_rate', label: '按期结案率', color: '#9467BD' },
  { key: 'rework_rate', label: '返工率', color: '#D62728' },
];
const HOURS: Series = [
  { key: 'avg_accept_h', label: '受理立案', color: '#1F77B4' },
  { key: 'avg_dispatch_h', label: '派遣', color: '#FF7F0E' },
  { key: 'avg_handle_h', label: '处置', color: '#2CA02C' },
  { key: 'avg_check_h', label: '核查', color: '#9467BD' },
];
const SVG = 'http://www.w3.org/2000/svg';
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Grouped bars: one group per department/district, one bar per series; `max` the top of the scale. */
function chart(rows: Row[], series: Series, max: number, format: (v: number) => string, caption: string): SVGSVGElement {
  const barW = 12;
  const gap = 14;
  const groupW = series.length * barW + gap;
  const h = 160;
  const top = 10;
  const left = 36;
  const width = left + Math.max(1, rows.length) * groupW + 10;
  const svg = el('svg', { width, height: h + 46, viewBox: `0 0 ${width} ${h + 46}`, role: 'img', 'aria-label': caption });
  svg.append(el('title', {}, caption));
  for (const f of [0, 0.5, 1]) {
    const y = top + h - f * h;
    svg.append(el('line', { x1: left - 4, x2: width, y1: y, y2: y, stroke: '#d0d4d9' }), el('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', 'font-size': 10 }, format(f * max)));
  }
  rows.forEach((r, i) => {
    const x0 = left + i * groupW;
    series.forEach((s, j) => {
      const v = r[s.key] as number | null;
      if (v === null || v === undefined) return;
      const bh = Math.max(1, (Math.min(v, max) / max) * h);
      const bar = el('rect', { x: x0 + j * barW, y: top + h - bh, width: barW - 2, height: bh, fill: s.color });
      bar.dataset.group = r.group ?? '';
      bar.dataset.series = String(s.key);
      bar.dataset.value = String(v);
      bar.append(el('title', {}, `${r.group ?? '—'} ${s.label} ${format(v)}`));
      svg.append(bar);
    });
    svg.append(el('text', { x: x0 + (series.length * barW) / 2, y: top + h + 14, 'text-anchor': 'middle', 'font-size': 10 }, r.group ?? '—'));
  });
  series.forEach((s, j) => {
    const x = left + j * 90;
    svg.append(el('rect', { x, y: top + h + 24, width: 10, height: 10, fill: s.color }), el('text', { x: x + 14, y: top + h + 33, 'font-size': 10 }, s.label));
  });
  return svg;
}

const pct = (v: number) => `${Math.round(v * 100)}%`;
const hours = (v: number) => `${Math.round(v * 10) / 10} h`;

export function setUpEvaluation(): void {
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
  $<HTMLInputElement>('ev-to').value = today;
  $<HTMLInputElement>('ev-from').value = new Date(Date.parse(today) - 29 * 86400_000).toISOString().slice(0, 10);
  $('open-evaluation').addEventListener('click', () => {
    $('evaluation').hidden = !$('evaluation').hidden;
    if (!$('evaluation').hidden) void load();
  });
  $<HTMLFormElement>('ev-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void load();
  });
}

async function load(): Promise<void> {
  const q = new URLSearchParams({ from: $<HTMLInputElement>('ev-from').value, to: $<HTMLInputElement>('ev-to').value, by: $<HTMLSelectElement>('ev-by').value });
  const r = await getJson<{ rows?: Row[]; message?: string }>(`api/cases/evaluation?${q}`);
  const status = $('ev-status');
  if (r.status !== 200) {
    status.textContent = `${r.status}: ${r.body.message ?? ''}`;
    return;
  }
  const rows = r.body.rows ?? [];
  status.textContent = rows.length ? `${q.get('from')} – ${q.get('to')}: ${rows.length} 组` : '该时段无数据';
  const maxHours = Math.max(1, ...rows.flatMap((x) => HOURS.map((s) => (x[s.key] as number | null) ?? 0)));
  $('ev-charts').replaceChildren(chart(rows, RATES, 1, pct, '时限与质量 (%)'), chart(rows, HOURS, maxHours, hours, '各环节平均用时 (小时)'));
  const table = $('ev-table');
  const cols: Array<[keyof Row, string, (v: number) => string]> = [
    ['accepted', '立案数', String], ['dispatched', '派遣', String], ['returned', '回退', String], ['closed', '结案', String],
    ['dispatch_accuracy', '派遣准确率', pct], ['handled_on_time_rate', '按期处置率', pct], ['closed_on_time_rate', '按期结案率', pct], ['rework_rate', '返工率', pct],
  ];
  const head = document.createElement('tr');
  for (const h of ['部门/区县', ...cols.map((c) => c[1])]) head.append(Object.assign(document.createElement('th'), { textContent: h }));
  table.replaceChildren(head);
  for (const x of rows) {
    const tr = document.createElement('tr');
    tr.dataset.group = x.group ?? '';
    tr.append(Object.assign(document.createElement('td'), { textContent: x.group ?? '—' }));
    for (const [k, , f] of cols) {
      const v = x[k] as number | null;
      tr.append(Object.assign(document.createElement('td'), { textContent: v === null ? '—' : f(v) }));
    }
    table.append(tr);
  }
  const csv = $<HTMLAnchorElement>('ev-csv');
  csv.dataset.query = q.toString();
}
