import type Router from '@koa/router';
import { canSee } from '../access/access.ts';
import { notFound } from '../errors.ts';
import type { LayerRegistry } from '../registry/registry.ts';
import type { LayerMeta } from '../sources/source.ts';
import type { AppState } from '../app.ts';
import { baseUrl, keySuffix } from './tilejson.ts';

/**
 * GET /styles/default.json: one MapLibre style (v8) with every layer the caller may see that carries style
 * layers: one vector source per layer (its TileJSON on this server, the key carried on), the layer's own style
 * layers wired to it, in a stable drawing order. The base map is shown; theme layers are present but switched
 * off (layout.visibility none) until a viewer switches them on. No glyphs or sprite: labels are drawn from the
 * browser's fonts (MapLibre ≥ 5.11 renders text locally when a style has no `glyphs`), so nothing is fetched
 * from another host.
 */
export const STYLE_LAYER_KEY = 'citybase:layer';
const TYPE_ORDER = ['background', 'fill', 'fill-extrusion', 'line', 'heatmap', 'circle', 'symbol'];
const THEME_ORDER = ['basemap', 'planning', 'environment', 'civil_defence', 'urban', 'vehicles', 'contrib'];
const CENTER: [number, number] = [119.02, 33.5];

function drawingRank(type: string, theme: string): [number, number] {
  const t = TYPE_ORDER.indexOf(type);
  // Base-map fills go under everything, base-map labels over everything.
  const themeRank = THEME_ORDER.indexOf(theme) === -1 ? THEME_ORDER.length : THEME_ORDER.indexOf(theme);
  return [t === -1 ? TYPE_ORDER.length : t, type === 'symbol' && theme === 'basemap' ? THEME_ORDER.length + 1 : themeRank];
}

/** The city's raster base map (BASEMAP_RASTER_TILES), when configured. */
export interface RasterBaseMap {
  tiles: string;
  attribution?: string | undefined;
}

export function buildStyle(layers: readonly LayerMeta[], base: string, key: string, raster?: RasterBaseMap) {
  const sources: Record<string, Record<string, unknown>> = {};
  const styled: Array<{ rank: [number, number]; order: number; layer: Record<string, unknown> }> = [];
  for (const meta of layers) {
    if (meta.style.length === 0) continue;
    sources[meta.id] = { type: 'vector', url: `${base}/tiles/${meta.id}.json${key}` };
    for (const s of meta.style) {
      const type = String(s.type);
      const layout = { ...(s.layout as Record<string, unknown> | undefined) };
      if (meta.theme !== 'basemap') layout.visibility = 'none';
      styled.push({
        rank: drawingRank(type, meta.theme),
        order: styled.length,
        layer: {
          ...s,
          source: meta.id,
          'source-layer': meta.id,
          minzoom: Math.max(Number(s.minzoom ?? 0), meta.minzoom),
          ...(Object.keys(layout).length ? { layout } : {}),
          metadata: { ...(s.metadata as object | undefined), [STYLE_LAYER_KEY]: meta.id, 'citybase:theme': meta.theme },
        },
      });
    }
  }
  styled.sort((a, b) => a.rank[0] - b.rank[0] || a.rank[1] - b.rank[1] || a.order - b.order);
  // Imagery, under everything and switched off: the viewer's base-map switcher turns it on.
  const imagery = raster
    ? [{ id: 'basemap-raster', type: 'raster', source: 'basemap-raster', layout: { visibility: 'none' }, metadata: { 'citybase:basemap': 'raster' } }]
    : [];
  if (raster) sources['basemap-raster'] = { type: 'raster', tiles: [`${base}${raster.tiles}`], tileSize: 256, ...(raster.attribution ? { attribution: raster.attribution } : {}) };
  return {
    version: 8,
    name: 'CityBase 淮安',
    metadata: { 'citybase:generated': 'GET /styles/default.json' },
    center: CENTER,
    zoom: 8.5,
    sources,
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#EEF0F3' } }, ...imagery, ...styled.map((s) => s.layer)],
  };
}

export function styleRoutes(router: Router<AppState>, registry: LayerRegistry, publicUrl: string | undefined, raster?: RasterBaseMap): void {
  router.get('/styles/:file', (ctx) => {
    ctx.state.route = 'style';
    if (ctx.params.file !== 'default.json') throw notFound('unknown_style', `no style "${ctx.params.file!.slice(0, 64)}" (there is default.json)`);
    const visible = registry
      .list()
      .map((s) => s.meta)
      .filter((m) => canSee(ctx.state.principal, m));
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = buildStyle(visible, baseUrl(ctx, publicUrl), keySuffix(ctx), raster);
  });
}
