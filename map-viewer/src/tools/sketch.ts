import type { GeoJSONSource, MapMouseEvent, Map as MapLibreMap } from 'maplibre-gl';

/**
 * Drawing a line or a polygon on the map, for the measuring and query tools: click adds a vertex, double-click
 * or Enter finishes, Backspace removes the last vertex, Escape cancels. Keyboard users add vertices at the map
 * centre with Space (the map pans with the arrow keys), so no tool needs a pointer.
 */
export type SketchKind = 'line' | 'polygon';
export type Position = [number, number];

export interface SketchEvents {
  /** The vertices changed (with the pointer's position as a provisional last vertex while moving). */
  change(vertices: Position[]): void;
  /** Finished with enough vertices. */
  done(vertices: Position[]): void;
}

const SOURCE = 'citybase-sketch';
const COLOR = '#D9480F';

export class Sketch {
  private vertices: Position[] = [];
  private hover: Position | null = null;
  private finished = false;
  private readonly handlers: Array<() => void> = [];

  constructor(
    private readonly map: MapLibreMap,
    readonly kind: SketchKind,
    private readonly events: SketchEvents,
  ) {}

  get minimum(): number {
    return this.kind === 'line' ? 2 : 3;
  }

  start(): void {
    const map = this.map;
    if (!map.getSource(SOURCE)) {
      map.addSource(SOURCE, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
      map.addLayer({ id: `${SOURCE}-fill`, type: 'fill', source: SOURCE, filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': COLOR, 'fill-opacity': 0.15 } });
      map.addLayer({ id: `${SOURCE}-line`, type: 'line', source: SOURCE, filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': COLOR, 'line-width': 2 } });
      map.addLayer({ id: `${SOURCE}-vertex`, type: 'circle', source: SOURCE, filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-radius': 4, 'circle-color': '#FFFFFF', 'circle-stroke-color': COLOR, 'circle-stroke-width': 2 } });
    }
    // A double-click finishes the sketch; it must not zoom as well.
    map.doubleClickZoom.disable();
    map.getCanvas().style.cursor = 'crosshair';
    this.on('click', (e: MapMouseEvent) => this.add([e.lngLat.lng, e.lngLat.lat]));
    this.on('dblclick', (e: MapMouseEvent) => {
      e.preventDefault();
      // The double-click's two clicks added (about) the same point twice.
      if (this.vertices.length >= 2) {
        const [a, b] = this.vertices.slice(-2).map((p) => this.map.project(p));
        if (a && b && Math.hypot(a.x - b.x, a.y - b.y) < 4) this.vertices.pop();
      }
      this.finish();
    });
    this.on('mousemove', (e: MapMouseEvent) => {
      if (this.finished) return;
      this.hover = [e.lngLat.lng, e.lngLat.lat];
      this.redraw();
    });
    const keys = (e: KeyboardEvent) => this.key(e);
    map.getContainer().addEventListener('keydown', keys);
    this.handlers.push(() => map.getContainer().removeEventListener('keydown', keys));
    this.redraw();
  }

  private on(type: 'click' | 'dblclick' | 'mousemove', fn: (e: MapMouseEvent) => void): void {
    this.map.on(type, fn);
    this.handlers.push(() => this.map.off(type, fn));
  }

  private key(e: KeyboardEvent): void {
    if (e.key === ' ' && e.target === this.map.getCanvas()) {
      const c = this.map.getCenter();
      this.add([c.lng, c.lat]);
    } else if (e.key === 'Enter') this.finish();
    else if (e.key === 'Backspace') this.undo();
    else if (e.key === 'Escape') this.clear();
    else return;
    e.preventDefault();
  }

  add(p: Position): void {
    if (this.finished) this.clear();
    this.vertices.push(p);
    this.redraw();
  }

  undo(): void {
    if (this.finished) this.finished = false;
    this.vertices.pop();
    this.redraw();
  }

  clear(): void {
    this.vertices = [];
    this.finished = false;
    this.redraw();
  }

  finish(): void {
    if (this.vertices.length < this.minimum || this.finished) return;
    this.finished = true;
    this.hover = null;
    this.redraw();
    this.events.done([...this.vertices]);
  }

  /** Stop listening and remove the drawing. */
  stop(): void {
    for (const off of this.handlers.splice(0)) off();
    this.map.doubleClickZoom.enable();
    this.map.getCanvas().style.cursor = '';
    for (const id of [`${SOURCE}-vertex`, `${SOURCE}-line`, `${SOURCE}-fill`]) if (this.map.getLayer(id)) this.map.removeLayer(id);
    if (this.map.getSource(SOURCE)) this.map.removeSource(SOURCE);
  }

  private redraw(): void {
    const shown = this.finished || !this.hover ? this.vertices : [...this.vertices, this.hover];
    const features: GeoJSON.Feature[] = this.vertices.map((p) => ({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: p } }));
    if (shown.length >= 2) {
      const ring = this.kind === 'polygon' && shown.length >= 3;
      features.push({
        type: 'Feature',
        properties: {},
        geometry: ring ? { type: 'Polygon', coordinates: [[...shown, shown[0]!]] } : { type: 'LineString', coordinates: shown },
      });
    }
    (this.map.getSource(SOURCE) as GeoJSONSource | undefined)?.setData({ type: 'FeatureCollection', features });
    this.events.change(shown);
  }
}
