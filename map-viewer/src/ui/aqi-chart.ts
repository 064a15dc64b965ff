import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { getJson } from '../api.ts';
import type { Hit } from '../features.ts';
import { lang, t } from '../i18n.ts';
import { AQI_LEVELS, aqiLevel, POLLUTANTS } from './air-station.ts';
import { fill, formatNumber, h } from './dom.ts';

/**
 * A station's last 72 hourly readings as a small chart (uPlot, loaded only with the first station popup):
 * the AQI over the colour bands of its levels (优 良 轻度污染 …), or one pollutant at a time (PM₂.₅, PM₁₀, O₃,
 * NO₂, SO₂, CO), the value under the pointer (or the finger) read out beside it, and the time span the
 * readings really cover: the data's own hours, which may be long ago, never "the last 72 hours" of the clock.
 * Readings come from `GET /api/env/air/stations/{code}/readings?hours=72` (oldest first).
 */
const HOURS = 72;

type Reading = Record<string, unknown>;
type Measure = 'aqi' | (typeof POLLUTANTS)[number]['key'];

const chinaHour = (s: number) => new Date(s * 1000 + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');

function readings(body: unknown): Reading[] {
  const b = body as Record<string, unknown> | null;
  const list = (Array.isArray(b?.readings) ? b.readings : []) as Reading[];
  return list.filter((r) => Number.isFinite(Date.parse(String(r.observed_at ?? '')))).sort((a, b) => Date.parse(String(a.observed_at)) - Date.parse(String(b.observed_at)));
}

/** [unix seconds, value] of one measure. */
function series(list: Reading[], measure: Measure): Array<[number, number | null]> {
  return list.map((r) => [Date.parse(String(r.observed_at)) / 1000, typeof r[measure] === 'number' ? (r[measure] as number) : null]);
}

function measureName(m: Measure): string {
  return m === 'aqi' ? 'AQI' : POLLUTANTS.find((p) => p.key === m)!.name;
}

function unitOf(m: Measure): string {
  return m === 'aqi' ? '' : ` ${POLLUTANTS.find((p) => p.key === m)!.unit}`;
}

/** The AQI levels' colours behind the curve, each over its range of the y axis. */
function bands(u: uPlot): void {
  const { ctx, bbox } = u;
  ctx.save();
  let lo = 0;
  for (const level of AQI_LEVELS) {
    const top = u.valToPos(Math.min(level.max, u.scales.y!.max ?? level.max), 'y', true);
    const bottom = u.valToPos(lo, 'y', true);
    if (bottom > bbox.top) {
      ctx.fillStyle = `${level.color}33`;
      ctx.fillRect(bbox.left, Math.max(bbox.top, top), bbox.width, bottom - Math.max(bbox.top, top));
    }
    lo = level.max;
  }
  ctx.restore();
}

export async function showAqiChart(slot: HTMLElement, hit: Hit): Promise<void> {
  const code = String(hit.properties.code);
  const res = await getJson<unknown>(`api/env/air/stations/${encodeURIComponent(code)}/readings`, { hours: HOURS }).catch(() => null);
  const list = res?.status === 200 ? readings(res.body) : [];
  const words = t();
  if (list.filter((r) => typeof r.aqi === 'number').length === 0) {
    fill(slot, h('p', { class: 'note aqi-none' }, words.aqiNone));
    return;
  }
  let measure: Measure = 'aqi';
  let plot: uPlot | null = null;
  const title = h('h4', { class: 'aqi-series' });
  const tip = h('output', { class: 'aqi-tip', 'aria-live': 'polite' });
  const chart = h('div', { class: 'aqi-chart', 'data-station': code, 'data-points': list.length });
  const buttons = h('div', { class: 'aqi-measures', role: 'group', 'aria-label': words.aqiMeasure });

  const draw = () => {
    const points = series(list, measure);
    const withValue = points.filter(([, v]) => v !== null);
    title.textContent = words.aqiSeries(measureName(measure), chinaHour(points[0]![0]), chinaHour(points[points.length - 1]![0]), withValue.length);
    chart.setAttribute('data-measure', measure);
    for (const b of buttons.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.getAttribute('data-measure') === measure));
    tip.textContent = '';
    plot?.destroy();
    const isAqi = measure === 'aqi';
    plot = new uPlot(
      {
        width: 320,
        height: 160,
        legend: { show: false },
        cursor: { points: { size: 7 } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, isAqi ? Math.max(100, Math.ceil(max / 50) * 50) : Math.max(1, max * 1.15)] } },
        axes: [{ size: 28 }, { size: 40 }],
        series: [{}, { label: measureName(measure), stroke: isAqi ? '#333333' : '#D9480F', width: 1.5, spanGaps: false }],
        hooks: {
          drawClear: isAqi ? [bands] : [],
          // The value under the pointer, read out as text: hour (China time), value, and for the AQI its level.
          setCursor: [
            (u) => {
              const i = u.cursor.idx;
              if (i === null || i === undefined) return;
              const v = u.data[1]![i];
              if (v === null || v === undefined) {
                tip.textContent = `${chinaHour(u.data[0]![i]!)} —`;
                return;
              }
              const level = isAqi ? ` ${lang() === 'zh' ? aqiLevel(v).zh : aqiLevel(v).en}` : '';
              tip.textContent = `${chinaHour(u.data[0]![i]!)} · ${measureName(measure)} ${formatNumber(v, measure === 'co' ? 2 : 0)}${unitOf(measure)}${level}`;
            },
          ],
        },
      },
      [points.map(([s]) => s), points.map(([, v]) => v)],
      chart,
    );
  };
  buttons.append(
    ...(['aqi', ...POLLUTANTS.map((p) => p.key)] as Measure[]).map((m) =>
      h('button', { type: 'button', 'data-measure': m, 'aria-pressed': 'false', onclick: () => ((measure = m), draw()) }, measureName(m)),
    ),
  );
  fill(slot, title, buttons, chart, tip);
  draw();
}
