import type { Hit } from '../features.ts';

/** An air-quality station (环保 theme): a layer that publishes a station code and its AQI. */
export function isAirStation(hit: Hit): boolean {
  const props = hit.layer.properties;
  return hit.layer.theme === 'environment' && 'aqi' in props && 'code' in props && typeof hit.properties.code === 'string';
}
