import type { LayerState } from './map/style.ts';

/**
 * The view in the URL hash, so a link reproduces it: `#map=zoom/lat/lon&layers=id,id@0.5`. MapLibre keeps
 * `map=` (its `hash: 'map'` option); this module keeps `layers=`: the layers switched on, in panel order,
 * each with its opacity when not 1. Without `layers=` the catalog's defaults apply.
 */
const PARAM = 'layers';

function params(): URLSearchParams {
  return new URLSearchParams(location.hash.replace(/^#/, ''));
}

/** The layers the URL switches on, with opacities; null when the URL does not say. */
export function readLayers(): Map<string, number> | null {
  const value = params().get(PARAM);
  if (value === null) return null;
  const on = new Map<string, number>();
  for (const item of value.split(',')) {
    const [id, op] = item.split('@');
    if (!id) continue;
    const opacity = op === undefined ? 1 : Number(op);
    on.set(id, Number.isFinite(opacity) ? Math.min(1, Math.max(0, opacity)) : 1);
  }
  return on;
}

/** Write the layers' state into the hash, leaving the rest of it (MapLibre's `map=`) as it is. */
export function writeLayers(order: string[], state: Map<string, LayerState>): void {
  const value = order
    .filter((id) => state.get(id)?.visible)
    .map((id) => {
      const op = state.get(id)!.opacity;
      return op === 1 ? id : `${id}@${Math.round(op * 100) / 100}`;
    })
    .join(',');
  const p = params();
  p.set(PARAM, value);
  // Readable links: ids are [a-z0-9_], commas and @ need no escaping in a fragment.
  const hash = `#${decodeURIComponent(p.toString())}`;
  if (hash !== location.hash) history.replaceState(history.state, '', hash);
}
