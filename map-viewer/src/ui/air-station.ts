import type { Hit } from '../features.ts';
import { lang, t } from '../i18n.ts';
import { formatNumber, h } from './dom.ts';

/** An air-quality station (环保 theme): a layer that publishes a station code and its AQI. */
export function isAirStation(hit: Hit): boolean {
  const props = hit.layer.properties;
  return hit.layer.theme === 'environment' && 'aqi' in props && 'code' in props && typeof hit.properties.code === 'string';
}

/** The pollutants as the environment bureau writes them, with their units (CO in mg/m³). */
export const POLLUTANTS = [
  { key: 'pm2_5', name: 'PM₂.₅', unit: 'µg/m³' },
  { key: 'pm10', name: 'PM₁₀', unit: 'µg/m³' },
  { key: 'o3', name: 'O₃', unit: 'µg/m³' },
  { key: 'no2', name: 'NO₂', unit: 'µg/m³' },
  { key: 'so2', name: 'SO₂', unit: 'µg/m³' },
  { key: 'co', name: 'CO', unit: 'mg/m³' },
] as const;

/** HJ 633 parameters (`pm2_5_24h`, `o3_8h` …) by name: the pollutant and its averaging time. */
export function parameterName(parameter: string): string {
  const m = /^(pm2_5|pm10|o3|no2|so2|co)(?:_(24h|1h|8h))?$/.exec(parameter.trim());
  if (!m) return parameter;
  const name = POLLUTANTS.find((p) => p.key === m[1])!.name;
  const period = m[2] ? t().aqiPeriods[m[2]] : '';
  return period ? `${name}（${period}）` : name;
}

/** HJ 633 附录A: the six levels, their names and colours (the same table the server computes with). */
export const AQI_LEVELS = [
  { max: 50, zh: '优', en: 'Excellent', color: '#00E400' },
  { max: 100, zh: '良', en: 'Good', color: '#FFFF00' },
  { max: 150, zh: '轻度污染', en: 'Lightly polluted', color: '#FF7E00' },
  { max: 200, zh: '中度污染', en: 'Moderately polluted', color: '#FF0000' },
  { max: 300, zh: '重度污染', en: 'Heavily polluted', color: '#99004C' },
  { max: 500, zh: '严重污染', en: 'Severely polluted', color: '#7E0023' },
] as const;

export function aqiLevel(aqi: number): (typeof AQI_LEVELS)[number] {
  return AQI_LEVELS.find((l) => aqi <= l.max) ?? AQI_LEVELS[AQI_LEVELS.length - 1]!;
}

/** Readings older than this are "no recent data": the hourly feed has stopped for the station. */
export const RECENT_HOURS = 3;

/** An hour written in China time (`2026-03-01 14:00`) as an instant. */
export const chinaTime = (local: string): number => Date.parse(`${local.trim().replace(' ', 'T')}:00+08:00`);

/**
 * The head of a station's popup: its AQI on the level's colour band with the level's name, the hour of the
 * reading (the data's own time, not the viewer's clock), a clear "no recent data" when that hour is old, the
 * primary pollutants by name and each pollutant's concentration.
 */
export function stationSummary(hit: Hit): HTMLElement {
  const words = t();
  const p = hit.properties;
  const aqi = typeof p.aqi === 'number' ? p.aqi : null;
  const observed = typeof p.observed_local === 'string' ? p.observed_local : null;
  const age = observed ? (Date.now() - chinaTime(observed)) / 3_600_000 : Infinity;
  const level = aqi === null ? null : aqiLevel(aqi);
  const band = h('div', { class: 'aqi-band', 'data-level': level ? AQI_LEVELS.indexOf(level) + 1 : '' });
  band.style.backgroundColor = level?.color ?? '#9E9E9E';
  // Dark text on the light bands, white on the dark ones.
  band.style.color = level && AQI_LEVELS.indexOf(level) >= 3 ? '#FFFFFF' : '#1F2328';
  band.append(h('strong', { class: 'aqi-value' }, aqi ?? '—'), h('span', { class: 'aqi-level' }, level ? (lang() === 'zh' ? level.zh : level.en) : words.aqiNone));
  const primary = String(p.primary_pollutants ?? '')
    .split(',')
    .filter(Boolean)
    .map(parameterName);
  return h(
    'div',
    { class: 'station' },
    h('p', { class: 'station-name' }, String(p.name ?? p.code)),
    band,
    h('p', { class: 'aqi-time', 'data-observed': observed ?? '' }, observed ? `${words.dataTime} ${observed}（${words.chinaTime}）` : words.aqiNone),
    age > RECENT_HOURS ? h('p', { class: 'aqi-stale', role: 'note' }, observed ? words.aqiStale(observed) : words.aqiNone) : null,
    primary.length ? h('p', { class: 'aqi-primary' }, `${words.primaryPollutants}：${primary.join('、')}`) : null,
    h(
      'table',
      { class: 'attributes pollutants' },
      h(
        'tbody',
        {},
        ...POLLUTANTS.map((pol) =>
          h(
            'tr',
            { 'data-pollutant': pol.key },
            h('th', { scope: 'row' }, pol.name),
            h('td', {}, typeof p[pol.key] === 'number' ? `${formatNumber(p[pol.key] as number, pol.key === 'co' ? 2 : 0)} ${pol.unit}` : '—'),
          ),
        ),
      ),
    ),
  );
}
