import { apiUrl } from '../api.ts';
import type { CatalogLayer } from '../catalog.ts';
import { lang, local } from '../i18n.ts';
import { h } from './dom.ts';

/**
 * A layer's download menu in the layer panel: format (GeoJSON, CSV, Shapefile, GeoPackage), coordinate system
 * (WGS84, CGCS2000, CGCS2000 GK CM 120°E: the bureaus' desktop GIS work in CGCS2000) and the whole layer or only
 * what lies in the current view; the file comes from `GET /collections/{layer}/download`, through the server's
 * access check like everything else. `filter` is the layer's CQL2 filter when one is set.
 */
const words = {
  zh: { download: '下载', format: '格式', crs: '坐标系', inView: '仅当前视图范围', go: '下载数据' },
  en: { download: 'Download', format: 'Format', crs: 'Coordinates', inView: 'Only the current view', go: 'Download data' },
};

const FORMATS = [
  ['shp', 'Shapefile (.zip)'],
  ['gpkg', 'GeoPackage'],
  ['geojson', 'GeoJSON'],
  ['csv', 'CSV (WKT)'],
] as const;

const CRSS = [
  ['EPSG:4326', 'WGS84 (EPSG:4326)'],
  ['EPSG:4490', 'CGCS2000 (EPSG:4490)'],
  ['EPSG:4549', 'CGCS2000 GK 120°E (EPSG:4549)'],
] as const;

export interface DownloadContext {
  /** The view's [west, south, east, north]. */
  viewBounds(): [number, number, number, number];
  filter?(layerId: string): string | null;
}

/** The map main.ts publishes as `window.citybase.map`: the panel is built without it. */
const fromPage: DownloadContext = {
  viewBounds() {
    const map = (window as unknown as { citybase?: { map?: { getBounds(): { toArray(): number[][] } } } }).citybase?.map;
    const b = map?.getBounds().toArray() ?? [[-180, -90], [180, 90]];
    return [b[0]![0]!, b[0]![1]!, b[1]![0]!, b[1]![1]!].map((v, i) => Math.max(i % 2 ? -90 : -180, Math.min(i % 2 ? 90 : 180, v))) as [number, number, number, number];
  },
};

export function downloadMenu(layer: CatalogLayer, context: DownloadContext = fromPage): HTMLElement {
  const w = words[lang()];
  const id = (part: string) => `download-${part}-${layer.id}`;
  const format = h('select', { id: id('format'), 'data-download-format': layer.id }, ...FORMATS.map(([v, label]) => h('option', { value: v }, label)));
  const crs = h('select', { id: id('crs'), 'data-download-crs': layer.id }, ...CRSS.map(([v, label]) => h('option', { value: v }, label)));
  const inView = h('input', { type: 'checkbox', id: id('view'), 'data-download-view': layer.id });
  const link = h('a', { class: 'download-link', 'data-download': layer.id, href: '#', download: '' }, w.go);
  // The address is made at the moment of the click, so it holds the view and filter of that moment.
  link.addEventListener('click', () => {
    const params: Record<string, string> = { f: format.value, crs: crs.value };
    if (inView.checked) params.bbox = context.viewBounds().map((v) => v.toFixed(6)).join(',');
    const filter = context.filter?.(layer.id);
    if (filter) params.filter = filter;
    link.href = apiUrl(`collections/${encodeURIComponent(layer.id)}/download`, params);
  });
  return h(
    'details',
    { class: 'layer-download', 'data-download-menu': layer.id },
    h('summary', { 'aria-label': `${w.download}: ${local(layer.title)}` }, w.download),
    h('p', {}, h('label', { for: format.id }, w.format), ' ', format),
    h('p', {}, h('label', { for: crs.id }, w.crs), ' ', crs),
    h('p', {}, inView, h('label', { for: inView.id }, w.inView)),
    h('p', {}, link),
  );
}
