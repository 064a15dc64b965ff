import type { GeoJSONSource, LayerSpecification, Map as MapLibreMap, Marker, StyleSpecification } from 'maplibre-gl';
import { maplibre } from '../map/maplibre.ts';
import { api, auth } from './net.ts';

/**
 * The desk's map beside the queue: the server's own base map (GET /styles/default.json, its basemap layers only:
 * nothing from another host) and the queue's cases as points, coloured like the cases_open layer (超期 red,
 * 临期 orange, by state otherwise), the selected case ringed, the bulk-selected ones outlined. A click on a
 * case selects it; the hotline's point is a marker the operator can drag to where the caller means.
 */
export interface QueueCase {
  code: string;
  lon: number;
  lat: number;
  state: string;
  overdue: boolean;
  warning: boolean;
}

const HUAIAN: [[number, number], [number, number]] = [
  [118.2, 32.7],
  [119.65, 34.1],
];
const CJK_FONTS = 'Noto Sans CJK SC,Source Han Sans SC,Microsoft YaHei,PingFang SC,sans-serif';

export class DeskMap {
  readonly map: MapLibreMap;
  private marker: Marker | null = null;
  /** A click on the map away from the cases (the hotline uses it to put its point there). */
  onEmptyClick: ((lonLat: [number, number]) => void) | null = null;
  private ready: Promise<void>;

  private constructor(map: MapLibreMap, onSelect: (code: string) => void) {
    this.map = map;
    this.ready = new Promise((resolve) => map.once('load', () => resolve()));
    void this.ready.then(() => {
      map.addSource('queue', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
      map.addLayer({
        id: 'queue-dots',
        type: 'circle',
        source: 'queue',
        paint: {
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 8, 4, 16, 9],
          'circle-color': ['case', ['get', 'overdue'], '#D62728', ['get', 'warning'], '#FF7F0E', ['match', ['get', 'state'], ['reported', 'verifying'], '#1F77B4', ['accepted'], '#9467BD', '#2CA02C']],
          'circle-stroke-color': ['case', ['get', 'checked'], '#000000', '#FFFFFF'],
          'circle-stroke-width': ['case', ['get', 'checked'], 3, 1],
        },
      });
      map.addLayer({
        id: 'queue-selected',
        type: 'circle',
        source: 'queue',
        filter: ['==', ['get', 'code'], ''],
        paint: { 'circle-radius': 14, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#00B7FF', 'circle-stroke-width': 4 },
      });
      map.on('click', 'queue-dots', (e) => {
        const code = e.features?.[0]?.properties?.code;
        if (typeof code === 'string') onSelect(code);
      });
      map.on('click', (e) => {
        if (map.queryRenderedFeatures(e.point, { layers: ['queue-dots'] }).length) return;
        this.onEmptyClick?.([e.lngLat.lng, e.lngLat.lat]);
      });
      map.on('mouseenter', 'queue-dots', () => (map.getCanvas().style.cursor = 'pointer'));
      map.on('mouseleave', 'queue-dots', () => (map.getCanvas().style.cursor = ''));
    });
  }

  static async create(container: string, onSelect: (code: string) => void): Promise<DeskMap> {
    const res = await fetch(api('styles/default.json'), { headers: auth(), credentials: 'same-origin' });
    const base = (await res.json()) as StyleSpecification;
    // The base map only: the cases come from the queue, so the map shows exactly what the list does.
    const keep = (l: LayerSpecification) => l.type === 'background' || ('source' in l && typeof l.source === 'string' && l.source.startsWith('basemap_'));
    const layers = base.layers.filter(keep);
    const sources = Object.fromEntries(Object.entries(base.sources).filter(([id]) => layers.some((l) => 'source' in l && l.source === id)));
    const map = new maplibre.Map({
      container,
      style: { version: 8, sources, layers },
      bounds: HUAIAN,
      maxZoom: 19,
      localIdeographFontFamily: CJK_FONTS,
      attributionControl: { compact: true },
    });
    map.addControl(new maplibre.NavigationControl({ showCompass: false }));
    return new DeskMap(map, onSelect);
  }

  async showQueue(cases: readonly QueueCase[], checked: ReadonlySet<string>): Promise<void> {
    await this.ready;
    (this.map.getSource('queue') as GeoJSONSource).setData({
      type: 'FeatureCollection',
      features: cases.map((c) => ({
        type: 'Feature',
        properties: { code: c.code, state: c.state, overdue: c.overdue, warning: c.warning, checked: checked.has(c.code) },
        geometry: { type: 'Point', coordinates: [c.lon, c.lat] },
      })),
    });
  }

  async select(c: { code: string; lon: number; lat: number } | null): Promise<void> {
    await this.ready;
    this.map.setFilter('queue-selected', ['==', ['get', 'code'], c?.code ?? '']);
    if (c && !this.map.getBounds().contains([c.lon, c.lat])) this.map.easeTo({ center: [c.lon, c.lat], duration: 0 });
  }

  /** The hotline's point: a draggable marker; `moved` hears where it ends up. */
  async placeMarker(lonLat: [number, number], moved: (lonLat: [number, number]) => void): Promise<void> {
    await this.ready;
    this.marker?.remove();
    const marker = new maplibre.Marker({ draggable: true, color: '#D62728' }).setLngLat(lonLat).addTo(this.map);
    marker.on('dragend', () => {
      const p = marker.getLngLat();
      moved([p.lng, p.lat]);
    });
    this.marker = marker;
    this.map.jumpTo({ center: lonLat, zoom: Math.max(this.map.getZoom(), 15) });
  }

  clearMarker(): void {
    this.marker?.remove();
    this.marker = null;
  }
}
