import { geometryFamily, type CatalogLayer } from '../catalog.ts';
import type { LayerSpecification, SourceSpecification, StyleSpecification } from 'maplibre-gl';
import { opacityProps } from './opacity.ts';

/**
 * The map's style, made from what the server publishes: the catalog's style layers (one vector source per
 * catalog layer, the source-layer being the layer id), or the themes' `GET /styles/default.json` when the
 * server has it, completed from the catalog. Every layer the caller may not see is left out, as the catalog
 * leaves it out; nothing refers to another host.
 */
export interface LayerState {
  visible: boolean;
  /** 0..1, multiplied into the style's own opacities. */
  opacity: number;
}

const CATALOG_KEY = 'citybase:layer';
const BACKGROUND = '#EEF0F3';

/** The catalog layer a style layer draws: named in its metadata, else its source-layer (the MVT layer name). */
export function catalogIdOf(layer: LayerSpecification): string | undefined {
  const meta = (layer as { metadata?: Record<string, unknown> }).metadata;
  if (typeof meta?.[CATALOG_KEY] === 'string') return meta[CATALOG_KEY] as string;
  return 'source-layer' in layer ? layer['source-layer'] : undefined;
}

/** Drawing order when the style comes from the catalog: base map fills, then areas, lines, points, labels. */
function rank(layer: CatalogLayer, spec: Record<string, unknown>): number {
  if (spec.type === 'symbol') return 5;
  if (layer.theme === 'basemap') return spec.type === 'fill' ? 0 : 1;
  return { polygon: 2, other: 2, line: 3, point: 4 }[geometryFamily(layer)];
}

function sourceOf(layer: CatalogLayer): SourceSpecification {
  return {
    type: 'vector',
    tiles: [layer.tiles],
    minzoom: layer.minzoom,
    maxzoom: layer.maxzoom,
    ...(layer.attribution ? { attribution: layer.attribution } : {}),
  };
}

/** The catalog's style layers of one layer, wired to its source. */
function catalogStyleLayers(layer: CatalogLayer): Array<{ rank: number; spec: LayerSpecification }> {
  return layer.style.map((s) => ({
    rank: rank(layer, s),
    spec: {
      ...s,
      source: layer.id,
      'source-layer': layer.id,
      minzoom: Math.max(Number(s.minzoom ?? 0), layer.minzoom),
      metadata: { ...(s.metadata as object | undefined), [CATALOG_KEY]: layer.id },
    } as unknown as LayerSpecification,
  }));
}

function sameOrigin(url: unknown): boolean {
  if (typeof url !== 'string') return false;
  try {
    return new URL(url, document.baseURI).origin === location.origin;
  } catch {
    return false;
  }
}

/** Whether a layer is drawn when neither the URL nor the user said: the base map yes, themes on demand. */
export function defaultVisible(layer: CatalogLayer, base: StyleSpecification | null): boolean {
  if (!base) return layer.theme === 'basemap';
  const own = base.layers.filter((l) => catalogIdOf(l) === layer.id);
  return own.length > 0 ? own.some((l) => l.layout?.visibility !== 'none') : layer.theme === 'basemap';
}

/** Apply a layer's state (visibility, opacity) to one of its style layers. */
function withState(spec: LayerSpecification, state: LayerState | undefined, originals: Map<string, Record<string, unknown>>): LayerSpecification {
  if (!state) return spec;
  const paint = { ...(spec as { paint?: Record<string, unknown> }).paint };
  originals.set(spec.id, Object.fromEntries(opacityProps(spec.type).map((p) => [p, paint[p]])));
  return {
    ...spec,
    layout: { ...spec.layout, visibility: state.visible ? 'visible' : 'none' },
    paint: { ...paint, ...defined(scaledPaint(spec.type, originals.get(spec.id)!, state.opacity)) },
  } as LayerSpecification;
}

const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** The opacity paint properties of a style layer at `factor` × its own values (undefined = the spec default). */
export function scaledPaint(type: string, originals: Record<string, unknown>, factor: number): Record<string, unknown> {
  if (factor === 1) return originals;
  return Object.fromEntries(opacityProps(type).map((p) => [p, scaleOpacity(originals[p], factor)]));
}

/**
 * `original × factor` for an opacity value: a number, an expression, or a zoom curve (whose outputs are scaled,
 * because the style spec only allows `["zoom"]` in a top-level step or interpolate).
 */
export function scaleOpacity(original: unknown, factor: number): unknown {
  if (original === undefined) return factor;
  if (typeof original === 'number') return Math.round(original * factor * 1000) / 1000;
  if (Array.isArray(original)) {
    const [op] = original;
    const usesZoom = JSON.stringify(original).includes('["zoom"]');
    if (usesZoom && op === 'interpolate') return original.map((v, i) => (i >= 4 && i % 2 === 0 ? scaleOpacity(v, factor) : v));
    if (usesZoom && op === 'step') return original.map((v, i) => (i >= 2 && i % 2 === 0 ? scaleOpacity(v, factor) : v));
    return ['*', original, factor];
  }
  const legacy = original as { stops?: Array<[unknown, unknown]> };
  if (legacy && Array.isArray(legacy.stops)) return { ...legacy, stops: legacy.stops.map(([z, v]) => [z, scaleOpacity(v, factor)]) };
  return original;
}

export interface BuiltStyle {
  style: StyleSpecification;
  /** Style layer ids per catalog layer, in drawing order. */
  layersOf: Map<string, string[]>;
  /** The style's own opacity values per style layer, before the user's opacity is applied. */
  originals: Map<string, Record<string, unknown>>;
}

export function buildStyle(catalog: CatalogLayer[], base: StyleSpecification | null, state: Map<string, LayerState>): BuiltStyle {
  const known = new Map(catalog.map((l) => [l.id, l]));
  const sources: Record<string, SourceSpecification> = {};
  let layers: LayerSpecification[];
  if (base) {
    // The themes' style: keep its order and look, drop what this caller may not see.
    // The city's imagery (BASEMAP_RASTER_TILES) has no catalog layer: it is kept for the base-map switcher.
    const imagery = (l: LayerSpecification) => (l as { metadata?: Record<string, unknown> }).metadata?.['citybase:basemap'] === 'raster';
    layers = base.layers.filter((l) => l.type === 'background' || imagery(l) || known.has(catalogIdOf(l) ?? ''));
    for (const l of layers) if ('source' in l && l.source && base.sources[l.source]) sources[l.source] = base.sources[l.source]!;
    const covered = new Set(layers.map(catalogIdOf));
    const extra = catalog.filter((l) => !covered.has(l.id));
    for (const l of extra) sources[l.id] = sourceOf(l);
    layers.push(...extra.flatMap(catalogStyleLayers).sort((a, b) => a.rank - b.rank).map((x) => x.spec));
  } else {
    for (const l of catalog) sources[l.id] = sourceOf(l);
    layers = [
      { id: 'background', type: 'background', paint: { 'background-color': BACKGROUND } },
      ...catalog.flatMap(catalogStyleLayers).sort((a, b) => a.rank - b.rank).map((x) => x.spec),
    ];
  }

  const originals = new Map<string, Record<string, unknown>>();
  const layersOf = new Map<string, string[]>();
  const seen = new Set<string>();
  const styled = layers.map((l) => {
    // Two catalog layers could name a style layer alike: ids must be unique in a style.
    const spec = seen.has(l.id) ? ({ ...l, id: `${l.id}~${seen.size}` } as LayerSpecification) : l;
    seen.add(spec.id);
    const id = catalogIdOf(spec);
    if (id) layersOf.set(id, [...(layersOf.get(id) ?? []), spec.id]);
    return id ? withState(spec, state.get(id), originals) : spec;
  });

  const style: StyleSpecification = {
    version: 8,
    name: base?.name ?? 'CityBase',
    sources,
    layers: styled,
  };
  // Text is drawn from the browser's fonts (see README "Map viewer"); a glyph or sprite URL elsewhere would
  // be a request to another host, which the city intranet cannot reach.
  if (base?.glyphs && sameOrigin(base.glyphs)) style.glyphs = base.glyphs;
  if (base?.sprite && typeof base.sprite === 'string' && sameOrigin(base.sprite)) style.sprite = base.sprite;
  return { style, layersOf, originals };
}
