import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { getJson } from '../api.ts';
import type { Hit } from '../features.ts';
import { t } from '../i18n.ts';
import { fill, h } from './dom.ts';

/**
 * The last 72 hours of a station's AQI as a small line chart (uPlot, loaded only with the first station
 * popup). Readings come from the 环保 theme's `GET /api/env/air/stations/{code}/readings?hours=72` (the latest
 * 72 hourly readings, oldest first); without readings the popup says so.
 */
const HOURS = 72;

type Reading = Record<string, unknown>;

/** [unix seconds, AQI] pairs out of `{ readings: [{ observed_at, aqi, … }] }`. */
function series(body: unknown): Array<[number, number | null]> {
  const b = body as Record<string, unknown> | null;
  const list = (Array.isArray(b?.readings) ? b.readings : []) as Reading[];
  return list
    .map((r): [number, number | null] => {
      const time = Date.parse(String(r.observed_at ?? ''));
      return [time / 1000, typeof r.aqi === 'number' ? r.aqi : null];
    })
    .filter(([s]) => Number.isFinite(s))
    .sort((a, b) => a[0] - b[0]);
}

export async function showAqiChart(slot: HTMLElement, hit: Hit): Promise<void> {
  const code = String(hit.properties.code);
  const res = await getJson<unknown>(`api/env/air/stations/${encodeURIComponent(code)}/readings`, { hours: HOURS }).catch(() => null);
  const points = res?.status === 200 ? series(res.body) : [];
  const words = t();
  if (points.filter(([, v]) => v !== null).length === 0) {
    fill(slot, h('p', { class: 'note' }, words.aqiNone));
    return;
  }
  const chart = h('div', { class: 'aqi-chart', 'data-station': code, 'data-points': points.length });
  fill(slot, h('h4', {}, words.aqiChart), chart);
  new uPlot(
    {
      width: 320,
      height: 160,
      legend: { show: false },
      scales: { y: { range: (_u, _min, max) => [0, Math.max(100, Math.ceil(max / 50) * 50)] } },
      axes: [{ size: 28 }, { size: 36 }],
      series: [{}, { label: 'AQI', stroke: '#D9480F', width: 1.5, spanGaps: false }],
    },
    [points.map(([s]) => s), points.map(([, v]) => v)],
    chart,
  );
}
