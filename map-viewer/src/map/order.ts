import type { CatalogLayer } from '../catalog.ts';
import { geometryFamily } from '../catalog.ts';
import type { Map as MapLibreMap } from 'maplibre-gl';

/**
 * The viewer's drawing order, as the map has it now (the style's order after any reordering in the panel):
 * per catalog layer, the position of its topmost style layer. Higher is drawn later, on top.
 */
export function drawnAbove(map: MapLibreMap, layersOf: Map<string, string[]>): Map<string, number> {
  const position = new Map((map.getStyle().layers ?? []).map((l, i) => [l.id, i]));
  const rank = new Map<string, number>();
  for (const [id, styleIds] of layersOf) rank.set(id, Math.max(-1, ...styleIds.map((s) => position.get(s) ?? -1)));
  return rank;
}

/**
 * Which of the layers hit by a click a planner means first: the thematic layers (those switched on to be
 * looked at) before the base map, each group in drawing order (topmost first); base-map areas (districts,
 * townships, communities: outlines a user does not click for) only when no thematic layer was hit.
 */
export function identifyOrder<T extends { layer: CatalogLayer }>(hits: T[], rank: Map<string, number>): T[] {
  const group = (l: CatalogLayer) => (l.theme !== 'basemap' ? 0 : geometryFamily(l) === 'polygon' ? 2 : 1);
  const thematic = hits.some((h) => group(h.layer) === 0);
  return hits
    .map((hit, i) => ({ hit, i }))
    .filter(({ hit }) => !(thematic && group(hit.layer) === 2))
    .sort((a, b) => group(a.hit.layer) - group(b.hit.layer) || (rank.get(b.hit.layer.id) ?? 0) - (rank.get(a.hit.layer.id) ?? 0) || a.i - b.i)
    .map(({ hit }) => hit);
}

/**
 * Draw the layers in the panel's order (top of the panel on top of the map): their areas, lines and points in
 * that order, every label above all of them (a label under an area is unreadable), the viewer's own layers
 * (sketch, highlight) on top as before.
 */
export function applyOrder(map: MapLibreMap, panelOrder: string[], layersOf: Map<string, string[]>): void {
  const styleLayers = map.getStyle().layers ?? [];
  const typeOf = new Map(styleLayers.map((l) => [l.id, l.type]));
  const bottomUp = [...panelOrder].reverse();
  const drawn = bottomUp.flatMap((id) => (layersOf.get(id) ?? []).filter((s) => typeOf.has(s) && typeOf.get(s) !== 'symbol'));
  const labels = bottomUp.flatMap((id) => (layersOf.get(id) ?? []).filter((s) => typeOf.get(s) === 'symbol'));
  const own = styleLayers.filter((l) => l.id.startsWith('citybase-')).map((l) => l.id);
  for (const id of [...drawn, ...labels, ...own]) map.moveLayer(id);
}
