import type { GeoJSONSource, Map as MapLibreMap, MapLayerMouseEvent, MapLayerTouchEvent, MapMouseEvent, MapTouchEvent } from 'maplibre-gl';
import { dayNames, fenceKindNames, lang, named, vehicleTypeNames, w } from './words.ts';

/**
 * The fences layer of the vehicle desk and its editor: the department's fences (GET /api/vehicles/fences) listed
 * and drawn (polygons filled by kind, corridors as lines, circles), one selected by a click, kept current by the
 * live channel's fence events (another desk's changes); for people with vehicle:manage, a new polygon (or route
 * line) drawn by clicking vertices, a circle by its centre and a second click or a drag for the radius, a selected
 * fence's vertices dragged (mouse and touch), added from an edge's midpoint and removed (double-click, right-click,
 * or selected and Delete), a circle's centre and radius dragged, its properties changed in a form, saved with POST
 * or PUT, deleted after a confirm.
 */
type LonLat = [number, number];
type Shape = 'polygon' | 'line' | 'circle';
interface ScheduleWindow {
  days: number[];
  from: string;
  to: string;
}
interface FenceProps {
  name: string;
  kind: string;
  radiusM: number | null;
  widthM: number | null;
  speedLimitKmh: number | null;
  vehicleTypes: string[] | null;
  schedule: ScheduleWindow[] | null;
  dwellS: number;
}
export interface FenceFeature {
  type: 'Feature';
  id: number;
  geometry: { type: 'Polygon'; coordinates: LonLat[][] } | { type: 'LineString'; coordinates: LonLat[] } | { type: 'Point'; coordinates: LonLat };
  properties: FenceProps;
}
interface Draft {
  id: number | null;
  shape: Shape;
  points: LonLat[];
  /** A circle's radius (m); null while drawing until the second click. */
  radiusM: number | null;
}
/** A fence event of the live channel (tile-server/src/vehicles/service.ts readFences). */
export interface FenceEvent {
  kind: 'fence';
  op: 'saved' | 'deleted';
  id?: number;
  fence?: FenceFeature;
}
export type Caller = <T>(method: string, path: string, body?: unknown) => Promise<{ status: number; body: T & { error?: string; message?: string } }>;

export const KIND_COLOURS: Record<string, string> = { no_entry: '#d7301f', speed_limit: '#f39c12', expected_stop: '#1a9850', route: '#2166ac' };
const EMPTY: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };
const SNAP_PX = 10;
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** Metres between two points (equirectangular at the first's latitude, as the alarm engine measures: city-sized). */
export function metres(a: LonLat, b: LonLat): number {
  const k = Math.cos((a[1] * Math.PI) / 180);
  return Math.hypot((b[0] - a[0]) * k, b[1] - a[1]) * 111_320;
}

/** The least vertices a shape keeps. */
const MIN_POINTS: Record<Shape, number> = { polygon: 3, line: 2, circle: 1 };

/** A circle as a 64-gon (metres on a sphere; the fences are city-sized). */
function circleRing(c: LonLat, radiusM: number): LonLat[] {
  const dLat = radiusM / 111_320;
  const dLon = dLat / Math.cos((c[1] * Math.PI) / 180);
  return Array.from({ length: 65 }, (_, i) => {
    const a = ((i % 64) / 64) * 2 * Math.PI;
    return [c[0] + dLon * Math.cos(a), c[1] + dLat * Math.sin(a)] as LonLat;
  });
}

export function scheduleSummary(schedule: ScheduleWindow[] | null): string {
  const t = w();
  if (!schedule?.length) return t.always;
  const zh = lang() === 'zh';
  return schedule
    .map((s) => {
      const days = s.days.length === 7 ? t.allDays : `${zh ? '周' : ''}${s.days.map((d) => named(dayNames, String(d))).join(zh ? '' : ',')}`;
      return `${days} ${s.from === s.to ? t.allHours : `${s.from}–${s.to}`}`;
    })
    .join('; ');
}

export class FenceEditor {
  fences: FenceFeature[] = [];
  selected: number | null = null;
  mode: 'idle' | 'drawing' | 'editing' = 'idle';
  draft: Draft | null = null;
  /** The fence's schedule windows after the first, which the form does not edit: saved back unchanged. */
  private keptWindows: ScheduleWindow[] = [];
  private hover: LonLat | null = null;
  private dragging: number | null = null;
  /** The vertex last grabbed or tapped: Delete (or the Remove vertex button) removes it. */
  activeVertex: number | null = null;
  /** A circle being drawn by dragging from its centre (mouse). */
  private circleDrag = false;

  constructor(
    private readonly map: MapLibreMap,
    private readonly call: Caller,
    readonly canManage: boolean,
  ) {}

  /** Sources, layers and map handlers; call once after the map's style has loaded. */
  install(): void {
    const map = this.map;
    map.addSource('fences', { type: 'geojson', data: EMPTY, promoteId: 'id' });
    map.addSource('fence-draft', { type: 'geojson', data: EMPTY });
    const colour = ['match', ['get', 'kind'], ...Object.entries(KIND_COLOURS).flat(), '#555555'] as unknown as string;
    const before = map.getLayer('playback-line') ? 'playback-line' : undefined;
    map.addLayer({ id: 'fences-fill', type: 'fill', source: 'fences', filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': colour, 'fill-opacity': ['case', ['get', 'selected'], 0.35, 0.18] } }, before);
    map.addLayer({ id: 'fences-outline', type: 'line', source: 'fences', paint: { 'line-color': ['case', ['get', 'selected'], '#f0a500', colour], 'line-width': ['case', ['==', ['geometry-type'], 'LineString'], ['case', ['get', 'selected'], 6, 4], ['case', ['get', 'selected'], 3, 1.5]], 'line-opacity': 0.9 } }, before);
    map.addLayer({ id: 'fences-label', type: 'symbol', source: 'fences', minzoom: 12, layout: { 'text-field': ['get', 'name'], 'text-size': 12, 'symbol-placement': 'point' }, paint: { 'text-color': '#1b1b1b', 'text-halo-color': '#fff', 'text-halo-width': 1.5 } });
    map.addLayer({ id: 'fence-draft-fill', type: 'fill', source: 'fence-draft', filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#f0a500', 'fill-opacity': 0.2 } });
    map.addLayer({ id: 'fence-draft-line', type: 'line', source: 'fence-draft', filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': '#f0a500', 'line-width': 2.5, 'line-dasharray': [2, 1] } });
    map.addLayer({ id: 'fence-midpoints', type: 'circle', source: 'fence-draft', filter: ['all', ['==', ['geometry-type'], 'Point'], ['==', ['get', 'role'], 'mid']], paint: { 'circle-radius': 5, 'circle-color': '#f0a500', 'circle-opacity': 0.55, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1.5 } });
    map.addLayer({ id: 'fence-handles', type: 'circle', source: 'fence-draft', filter: ['all', ['==', ['geometry-type'], 'Point'], ['==', ['get', 'role'], 'vertex']], paint: { 'circle-radius': ['case', ['get', 'active'], 9, ['==', ['get', 'index'], 0], 8, 6], 'circle-color': ['case', ['get', 'active'], '#f0a500', '#ffffff'], 'circle-stroke-color': ['case', ['get', 'active'], '#7a4f00', '#f0a500'], 'circle-stroke-width': 3 } });
    map.addLayer({ id: 'fence-measure', type: 'symbol', source: 'fence-draft', filter: ['all', ['==', ['geometry-type'], 'Point'], ['==', ['get', 'role'], 'label']], layout: { 'text-field': ['get', 'label'], 'text-size': 13, 'text-offset': [0, -1.2], 'text-allow-overlap': true, 'text-ignore-placement': true }, paint: { 'text-color': '#7a4f00', 'text-halo-color': '#fff', 'text-halo-width': 2 } });

    map.on('click', (e) => this.onClick(e));
    map.on('dblclick', (e) => {
      if (this.mode === 'editing') {
        // A double-click on a vertex removes it (the handles' own listener); elsewhere it does not zoom while editing.
        e.preventDefault();
        return;
      }
      if (this.mode !== 'drawing' || this.draft?.shape === 'circle') return;
      e.preventDefault();
      this.finish();
    });
    map.on('dblclick', 'fence-handles', (e: MapLayerMouseEvent) => {
      if (!this.editable()) return;
      e.preventDefault();
      const index = e.features?.[0]?.properties?.index as number | undefined;
      if (index !== undefined) this.removeVertex(index);
    });
    map.on('contextmenu', 'fence-handles', (e: MapLayerMouseEvent) => {
      if (!this.editable()) return;
      e.preventDefault();
      e.originalEvent.preventDefault();
      const index = e.features?.[0]?.properties?.index as number | undefined;
      if (index !== undefined) this.removeVertex(index);
    });
    map.on('mousemove', (e) => {
      if (this.dragging !== null) return this.moveHandle(e.lngLat);
      if (this.mode === 'drawing') {
        this.hover = [e.lngLat.lng, e.lngLat.lat];
        this.redrawDraft();
      }
    });
    // A circle drawn by pressing at its centre and dragging out its radius (a click there, then another, also does).
    map.on('mousedown', (e: MapMouseEvent) => {
      const d = this.draft;
      if (this.mode !== 'drawing' || d?.shape !== 'circle' || d.points.length > 0 || e.originalEvent.button !== 0) return;
      e.preventDefault();
      d.points.push([e.lngLat.lng, e.lngLat.lat]);
      this.circleDrag = true;
      this.map.dragPan.disable();
      this.redrawDraft();
    });
    map.on('mousedown', 'fence-handles', (e: MapLayerMouseEvent) => this.grab(e));
    map.on('touchstart', 'fence-handles', (e: MapLayerTouchEvent) => this.grab(e));
    map.on('mousedown', 'fence-midpoints', (e: MapLayerMouseEvent) => this.grabMidpoint(e));
    map.on('touchstart', 'fence-midpoints', (e: MapLayerTouchEvent) => this.grabMidpoint(e));
    map.on('touchmove', (e: MapTouchEvent) => {
      if (this.dragging === null) return;
      e.preventDefault();
      this.moveHandle(e.lngLat);
    });
    map.on('mouseup', (e) => {
      if (this.circleDrag) this.endCircleDrag(e);
      this.drop();
    });
    map.on('touchend', () => this.drop());
    map.on('touchcancel', () => this.drop());
    map.on('mouseenter', 'fence-handles', () => this.editable() && (map.getCanvas().style.cursor = 'move'));
    map.on('mouseleave', 'fence-handles', () => (map.getCanvas().style.cursor = ''));
    map.on('mouseenter', 'fence-midpoints', () => this.editable() && (map.getCanvas().style.cursor = 'copy'));
    map.on('mouseleave', 'fence-midpoints', () => (map.getCanvas().style.cursor = ''));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.mode !== 'idle') this.cancel();
    });
    // The vertices by keyboard while editing (captured before the map's own keys, which would pan): ] and [ select
    // the next and previous vertex, + (or Insert) adds one after the selected, Delete removes it, the arrows move it
    // (Shift: ten times as far). Keys meant for a field of the form are left alone.
    document.addEventListener(
      'keydown',
      (e) => {
        const d = this.draft;
        const t = e.target;
        if (!this.editable() || !d || d.shape === 'circle' || e.ctrlKey || e.metaKey || e.altKey) return;
        if (t instanceof HTMLElement && /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName)) return;
        const n = d.points.length;
        const at = this.activeVertex;
        const step = e.shiftKey ? 10 : 1;
        const arrows: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
        if (e.key === ']' || e.key === '[') this.activate(at === null ? (e.key === ']' ? 0 : n - 1) : (at + (e.key === ']' ? 1 : n - 1)) % n);
        else if ((e.key === '+' || e.key === 'Insert') && at !== null && (d.shape === 'polygon' || at < n - 1)) this.addVertex(at);
        else if ((e.key === 'Delete' || e.key === 'Backspace') && at !== null) this.removeVertex(at);
        else if (arrows[e.key] && at !== null) {
          const p = this.map.project(d.points[at]!);
          const ll = this.map.unproject([p.x + arrows[e.key]![0], p.y + arrows[e.key]![1]]);
          d.points[at] = [ll.lng, ll.lat];
          this.redrawDraft();
        } else return;
        e.preventDefault();
        e.stopPropagation();
      },
      true,
    );
    this.wire();
    this.renderWords();
  }

  /** The drawing and its handles over every other layer (call after the desk has added its own). */
  raise(): void {
    for (const id of ['fence-draft-fill', 'fence-draft-line', 'fence-midpoints', 'fence-handles', 'fence-measure']) this.map.moveLayer(id);
  }

  async load(): Promise<void> {
    const r = await this.call<{ features: FenceFeature[] }>('GET', 'api/vehicles/fences');
    if (r.status !== 200) return;
    this.fences = r.body.features;
    if (this.selected !== null && !this.fences.some((f) => f.id === this.selected)) this.selected = null;
    this.render();
  }

  // ------------------------------------------------------------ drawing and dragging

  startDrawing(shape: Shape): void {
    if (!this.canManage) return;
    this.cancel();
    this.mode = 'drawing';
    this.draft = { id: null, shape, points: [], radiusM: null };
    this.map.doubleClickZoom.disable();
    this.map.getCanvas().style.cursor = 'crosshair';
    this.showTools(shape === 'polygon' ? w().drawHintArea : shape === 'line' ? w().drawHintRoute : w().drawHintCircle, shape !== 'circle');
    $('fence-form').hidden = true;
    this.redrawDraft();
  }

  /** Ends the drawing (enough vertices) and opens the form; false when there are too few. */
  finish(): boolean {
    const d = this.draft;
    if (this.mode !== 'drawing' || !d) return false;
    if (d.shape === 'circle') {
      if (!d.points.length || !d.radiusM) return false;
      this.mode = 'editing';
      this.hover = null;
      this.circleDrag = false;
      this.map.dragPan.enable();
      this.map.getCanvas().style.cursor = '';
      this.showTools(w().editHintCircle, false);
      this.openForm(null, 'circle');
      this.redrawDraft();
      return true;
    }
    const need = d.shape === 'polygon' ? 3 : 2;
    if (d.points.length < need) {
      $('fence-hint').textContent = `${w().needVertices} (${d.points.length}/${need}). ${d.shape === 'polygon' ? w().drawHintArea : w().drawHintRoute}`;
      return false;
    }
    this.mode = 'editing';
    this.hover = null;
    this.map.getCanvas().style.cursor = '';
    setTimeout(() => this.map.doubleClickZoom.enable(), 400);
    this.map.doubleClickZoom.disable();
    this.showTools(this.editHint(), false);
    this.openForm(null, d.shape);
    this.redrawDraft();
    return true;
  }

  cancel(): void {
    this.mode = 'idle';
    this.draft = null;
    this.hover = null;
    this.dragging = null;
    this.activeVertex = null;
    this.circleDrag = false;
    this.map.doubleClickZoom.enable();
    this.map.dragPan.enable();
    this.map.getCanvas().style.cursor = '';
    $('fence-tools').hidden = true;
    $('fence-form').hidden = true;
    this.redrawDraft();
    this.render();
  }

  /** Edit the selected fence: its vertices become handles, its properties fill the form. */
  edit(): void {
    const f = this.fences.find((x) => x.id === this.selected);
    if (!f || !this.canManage) return;
    this.cancel();
    const g = f.geometry;
    const shape: Shape = g.type === 'Polygon' ? 'polygon' : g.type === 'LineString' ? 'line' : 'circle';
    const points = g.type === 'Polygon' ? g.coordinates[0]!.slice(0, -1) : g.type === 'LineString' ? g.coordinates.slice() : [g.coordinates];
    this.draft = { id: f.id, shape, points: points.map((p) => [p[0], p[1]] as LonLat), radiusM: f.properties.radiusM };
    this.mode = 'editing';
    this.map.doubleClickZoom.disable();
    this.showTools(shape === 'circle' ? w().editHintCircle : this.editHint(), false);
    this.openForm(f, shape);
    this.redrawDraft();
    this.render();
  }

  private editable(): boolean {
    return this.mode === 'editing' && this.draft !== null;
  }

  private onClick(e: MapMouseEvent): void {
    if (this.mode === 'drawing') {
      const d = this.draft!;
      const p = e.point;
      const near = (q: LonLat | undefined) => {
        if (!q) return false;
        const s = this.map.project(q);
        return Math.hypot(s.x - p.x, s.y - p.y) <= SNAP_PX;
      };
      if (d.shape === 'circle') {
        // The first click (or press) is the centre; the next one away from it sets the radius and ends the drawing.
        if (!d.points.length) d.points.push([e.lngLat.lng, e.lngLat.lat]);
        else if (!near(d.points[0])) {
          d.radiusM = Math.max(1, Math.round(metres(d.points[0]!, [e.lngLat.lng, e.lngLat.lat])));
          return void this.finish();
        }
        this.redrawDraft();
        return;
      }
      // The first vertex again closes the polygon; a second click on the last one is half of a double-click.
      if (d.shape === 'polygon' && d.points.length >= 3 && near(d.points[0])) return void this.finish();
      if (near(d.points[d.points.length - 1])) return;
      d.points.push([e.lngLat.lng, e.lngLat.lat]);
      this.redrawDraft();
      return;
    }
    if (this.mode === 'editing') return;
    const hit = this.map.queryRenderedFeatures(e.point, { layers: ['fences-fill', 'fences-outline'] })[0];
    if (hit && typeof hit.id === 'number') this.select(hit.id);
  }

  /** When the last touch began: the mouse events a browser makes up after a tap are not a second press. */
  private touchedAt = 0;

  /** A press to act on: the left button, or a touch (not the mouse events that follow a tap). */
  private pressed(e: MapLayerMouseEvent | MapLayerTouchEvent): boolean {
    if (e.type === 'touchstart') {
      this.touchedAt = Date.now();
      return true;
    }
    return (e.originalEvent as MouseEvent).button === 0 && Date.now() - this.touchedAt > 1000;
  }

  private grab(e: MapLayerMouseEvent | MapLayerTouchEvent): void {
    if (!this.editable() || !this.pressed(e)) return;
    const index = e.features?.[0]?.properties?.index as number | undefined;
    if (index === undefined) return;
    e.preventDefault();
    this.dragging = index;
    // A vertex (not a circle's radius point) becomes the one Delete removes.
    this.activeVertex = this.draft!.shape === 'circle' ? null : index;
    this.map.dragPan.disable();
    this.updateVertexTools();
    this.redrawDraft();
  }

  /** An edge's midpoint pressed: a new vertex there (a click adds it, a drag moves it at once). */
  private grabMidpoint(e: MapLayerMouseEvent | MapLayerTouchEvent): void {
    if (!this.editable() || this.draft!.shape === 'circle' || !this.pressed(e)) return;
    const edge = e.features?.[0]?.properties?.index as number | undefined;
    if (edge === undefined) return;
    e.preventDefault();
    this.addVertex(edge);
    this.dragging = edge + 1;
    this.map.dragPan.disable();
  }

  /** Select a vertex (keyboard): it is drawn larger, and Delete, + and the arrows act on it. */
  activate(index: number): void {
    if (!this.editable() || !this.draft || index < 0 || index >= this.draft.points.length) return;
    this.activeVertex = index;
    this.updateVertexTools();
    this.redrawDraft();
  }

  /** A vertex in the middle of edge `edge` (from vertex edge to the next); it becomes the selected one. */
  addVertex(edge: number): void {
    const d = this.draft;
    if (!this.editable() || !d || d.shape === 'circle') return;
    const a = d.points[edge]!;
    const b = d.points[(edge + 1) % d.points.length]!;
    d.points.splice(edge + 1, 0, [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]);
    this.activeVertex = edge + 1;
    this.updateVertexTools();
    this.redrawDraft();
  }

  /** Remove a vertex, never below 3 for an area (2 for a route). */
  removeVertex(index: number): boolean {
    const d = this.draft;
    if (!this.editable() || !d || d.shape === 'circle' || index < 0 || index >= d.points.length) return false;
    const min = MIN_POINTS[d.shape];
    if (d.points.length <= min) {
      $('fence-hint').textContent = `${w().tooFewVertices} ${min}`;
      return false;
    }
    d.points.splice(index, 1);
    this.activeVertex = null;
    this.dragging = null;
    this.map.dragPan.enable();
    this.updateVertexTools();
    this.redrawDraft();
    return true;
  }

  private updateVertexTools(): void {
    const d = this.draft;
    $('fence-vertex-remove').hidden = !(this.editable() && d && d.shape !== 'circle' && this.activeVertex !== null);
  }

  private moveHandle(ll: { lng: number; lat: number }): void {
    const d = this.draft;
    if (!d) return;
    const p: LonLat = [ll.lng, ll.lat];
    if (this.circleDrag && d.shape === 'circle' && d.points.length) {
      this.hover = p;
      return this.redrawDraft();
    }
    if (this.dragging === null) return;
    if (d.shape === 'circle' && this.dragging === 1) {
      d.radiusM = Math.max(1, Math.round(metres(d.points[0]!, p)));
      $<HTMLInputElement>('fe-radius').value = String(d.radiusM);
    } else d.points[this.dragging] = p;
    this.redrawDraft();
  }

  /** The press that set a circle's centre is released: far enough away, that is its radius. */
  private endCircleDrag(e: MapMouseEvent): void {
    const d = this.draft;
    this.circleDrag = false;
    this.map.dragPan.enable();
    if (!d || d.shape !== 'circle' || !d.points.length) return;
    const c = this.map.project(d.points[0]!);
    if (Math.hypot(c.x - e.point.x, c.y - e.point.y) <= SNAP_PX) return; // a click: the next click sets the radius
    d.radiusM = Math.max(1, Math.round(metres(d.points[0]!, [e.lngLat.lng, e.lngLat.lat])));
    this.finish();
  }

  private drop(): void {
    if (this.dragging === null) return;
    this.dragging = null;
    this.map.dragPan.enable();
  }

  private draftGeometry(): FenceFeature['geometry'] | null {
    const d = this.draft;
    if (!d) return null;
    if (d.shape === 'circle') return { type: 'Point', coordinates: d.points[0]! };
    if (d.shape === 'line') return { type: 'LineString', coordinates: d.points.slice() };
    return { type: 'Polygon', coordinates: [[...d.points, d.points[0]!]] };
  }

  private redrawDraft(): void {
    const src = this.map.getSource('fence-draft') as GeoJSONSource | undefined;
    if (!src) return;
    const d = this.draft;
    if (!d) return void src.setData(EMPTY);
    const features: GeoJSON.Feature[] = d.points.map((p, index) => ({ type: 'Feature', properties: { index, role: 'vertex', active: index === this.activeVertex }, geometry: { type: 'Point', coordinates: p } }));
    const pts = this.mode === 'drawing' && this.hover ? [...d.points, this.hover] : d.points;
    if (d.shape === 'circle') {
      const c = d.points[0];
      // While drawing, the radius follows the pointer; then it is the draft's (the form's field changes it too).
      const r = this.mode === 'drawing' ? (c && this.hover ? Math.max(1, Math.round(metres(c, this.hover))) : null) : d.radiusM;
      const text = r ? `${w().radius} ${r} ${w().metres}` : '';
      $('fence-measure').textContent = text;
      if (c && r) {
        const ring = circleRing(c, r);
        features.push({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [ring] } });
        // The radius point (east of the centre), dragged to change the radius while editing, labelled with it.
        if (this.mode === 'editing') features.push({ type: 'Feature', properties: { index: 1, role: 'vertex', active: false }, geometry: { type: 'Point', coordinates: ring[0]! } });
        features.push({ type: 'Feature', properties: { role: 'label', label: `${r} m` }, geometry: { type: 'Point', coordinates: ring[0]! } });
      }
    } else {
      $('fence-measure').textContent = '';
      // Editing: a midpoint on each edge adds a vertex there.
      if (this.mode === 'editing') {
        const edges = d.shape === 'polygon' ? d.points.length : d.points.length - 1;
        for (let i = 0; i < edges; i++) {
          const a = d.points[i]!;
          const b = d.points[(i + 1) % d.points.length]!;
          features.push({ type: 'Feature', properties: { index: i, role: 'mid' }, geometry: { type: 'Point', coordinates: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2] } });
        }
      }
    }
    if (d.shape === 'circle') {
      /* drawn above */
    } else if (d.shape === 'polygon' && pts.length >= 3) features.push({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[...pts, pts[0]!]] } });
    else if (pts.length >= 2) features.push({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: pts } });
    src.setData({ type: 'FeatureCollection', features });
  }

  /** How to edit vertices; the keys only where there is a keyboard and a mouse (the bar covers the map on phones). */
  private editHint(): string {
    return matchMedia('(pointer: fine)').matches ? `${w().editHint}${lang() === 'zh' ? '。' : '. '}${w().editKeys}` : w().editHint;
  }

  private showTools(hint: string, finishing: boolean): void {
    $('fence-tools').hidden = false;
    $('fence-hint').textContent = hint;
    $('fence-finish').hidden = !finishing;
    this.updateVertexTools();
  }

  // ------------------------------------------------------------ list, selection, form

  select(id: number | null, fly = false): void {
    if (this.mode !== 'idle') return;
    this.selected = id;
    this.render();
    const f = this.fences.find((x) => x.id === id);
    if (f && fly) {
      const pts = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0]! : f.geometry.type === 'LineString' ? f.geometry.coordinates : circleRing(f.geometry.coordinates, f.properties.radiusM ?? 100);
      const lons = pts.map((p) => p[0]);
      const lats = pts.map((p) => p[1]);
      this.map.fitBounds([Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)], { padding: 60, maxZoom: 16, duration: 0 });
    }
  }

  render(): void {
    const t = w();
    const src = this.map.getSource('fences') as GeoJSONSource | undefined;
    src?.setData({
      type: 'FeatureCollection',
      features: this.fences
        .filter((f) => !(this.mode === 'editing' && this.draft?.id === f.id))
        .map((f) => ({
          type: 'Feature',
          id: f.id,
          properties: { id: f.id, name: f.properties.name, kind: f.properties.kind, selected: f.id === this.selected },
          geometry: f.geometry.type === 'Point' ? { type: 'Polygon', coordinates: [circleRing(f.geometry.coordinates, f.properties.radiusM ?? 100)] } : f.geometry,
        })),
    });
    const items = this.fences.map((f) => {
      const li = document.createElement('li');
      li.dataset.fence = String(f.id);
      li.tabIndex = 0;
      li.className = f.id === this.selected ? 'selected' : '';
      const swatch = Object.assign(document.createElement('span'), { className: 'swatch' });
      swatch.style.background = KIND_COLOURS[f.properties.kind] ?? '#555';
      const name = Object.assign(document.createElement('b'), { textContent: f.properties.name });
      const shape = f.geometry.type === 'Point' ? ` · ${t.circle} ${f.properties.radiusM} m` : f.geometry.type === 'LineString' ? ` · ${f.properties.widthM} m` : '';
      const limit = f.properties.speedLimitKmh ? ` ${f.properties.speedLimitKmh} ${t.kmh}` : '';
      const info = Object.assign(document.createElement('small'), { textContent: `${named(fenceKindNames, f.properties.kind)}${limit}${shape} · ${scheduleSummary(f.properties.schedule)}` });
      li.append(swatch, name, info);
      li.addEventListener('click', () => this.select(f.id, true));
      li.addEventListener('keydown', (e) => e.key === 'Enter' && this.select(f.id, true));
      return li;
    });
    $('fence-list').replaceChildren(...(items.length ? items : [Object.assign(document.createElement('li'), { className: 'empty', textContent: t.noFences })]));
    $('fence-draw').hidden = !this.canManage || this.mode !== 'idle';
    $('fence-actions').hidden = !this.canManage || this.selected === null || this.mode !== 'idle';
  }

  renderWords(): void {
    const t = w();
    $('tab-fences').textContent = t.fences;
    $('fence-draw-area').textContent = t.drawArea;
    $('fence-draw-route').textContent = t.drawRoute;
    $('fence-draw-circle').textContent = t.drawCircle;
    $('fence-vertex-remove').textContent = t.removeVertex;
    $('fence-edit').textContent = t.edit;
    $('fence-delete').textContent = t.remove;
    $('fence-finish').textContent = t.finish;
    $('fence-abort').textContent = t.cancel;
    $('fe-save').textContent = t.save;
    $('fe-cancel').textContent = t.cancel;
    for (const el of document.querySelectorAll<HTMLElement>('#fence-form [data-w]')) el.textContent = t[el.dataset.w as keyof typeof t];
    const kind = $<HTMLSelectElement>('fe-kind');
    const value = kind.value;
    kind.replaceChildren(...Object.keys(fenceKindNames).map((k) => new Option(named(fenceKindNames, k), k)));
    if (value) kind.value = value;
    const checked = (sel: string) => new Set([...document.querySelectorAll<HTMLInputElement>(`${sel} input:checked`)].map((i) => i.value));
    const types = checked('#fe-types');
    const days = document.querySelector('#fe-days input') ? checked('#fe-days') : new Set(['1', '2', '3', '4', '5', '6', '7']);
    const box = (name: string, v: string, label: string, on: boolean) => {
      const l = document.createElement('label');
      const i = Object.assign(document.createElement('input'), { type: 'checkbox', name, value: v, checked: on });
      l.append(i, ` ${label}`);
      return l;
    };
    $('fe-types').replaceChildren($('fe-types').querySelector('legend')!, ...Object.keys(vehicleTypeNames).map((k) => box('vt', k, named(vehicleTypeNames, k), types.has(k))));
    $('fe-days').replaceChildren(...Object.keys(dayNames).map((d) => box('day', d, named(dayNames, d), days.has(d))));
    this.render();
  }

  private openForm(f: FenceFeature | null, shape: Shape): void {
    const p = f?.properties;
    $<HTMLInputElement>('fe-name').value = p?.name ?? '';
    $<HTMLSelectElement>('fe-kind').value = p?.kind ?? (shape === 'line' ? 'route' : 'no_entry');
    $<HTMLInputElement>('fe-speed').value = p?.speedLimitKmh ? String(p.speedLimitKmh) : '';
    $<HTMLInputElement>('fe-width').value = String(p?.widthM ?? 50);
    $<HTMLInputElement>('fe-radius').value = String(p?.radiusM ?? this.draft?.radiusM ?? 100);
    $<HTMLInputElement>('fe-dwell').value = String(p?.dwellS ?? 30);
    const types = new Set(p?.vehicleTypes ?? []);
    for (const i of document.querySelectorAll<HTMLInputElement>('#fe-types input')) i.checked = types.has(i.value);
    const win = p?.schedule?.[0] ?? { days: [1, 2, 3, 4, 5, 6, 7], from: '00:00', to: '00:00' };
    for (const i of document.querySelectorAll<HTMLInputElement>('#fe-days input')) i.checked = win.days.includes(Number(i.value));
    $<HTMLInputElement>('fe-from').value = win.from;
    $<HTMLInputElement>('fe-to').value = win.to;
    // A fence may have several windows (school hours: morning and afternoon), set by the API or a CSV. The form edits
    // the first; the others go back unchanged, never dropped by a save.
    this.keptWindows = p?.schedule?.slice(1) ?? [];
    const more = $('fe-more-windows');
    more.hidden = this.keptWindows.length === 0;
    more.textContent = w().moreWindows.replace('{n}', String(this.keptWindows.length));
    $('fe-width-row').hidden = shape !== 'line';
    $('fe-radius-row').hidden = shape !== 'circle';
    $('fence-error').textContent = '';
    this.kindChanged();
    $('fence-form').hidden = false;
    $('fe-name').focus({ preventScroll: true });
  }

  private kindChanged(): void {
    $('fe-speed-row').hidden = $<HTMLSelectElement>('fe-kind').value !== 'speed_limit';
  }

  /** The API body from the draft and the form. */
  body(): Record<string, unknown> {
    const num = (id: string) => Number($<HTMLInputElement>(id).value);
    const kind = $<HTMLSelectElement>('fe-kind').value;
    const geometry = this.draftGeometry();
    const types = [...document.querySelectorAll<HTMLInputElement>('#fe-types input:checked')].map((i) => i.value);
    const days = [...document.querySelectorAll<HTMLInputElement>('#fe-days input:checked')].map((i) => Number(i.value));
    const from = $<HTMLInputElement>('fe-from').value || '00:00';
    const to = $<HTMLInputElement>('fe-to').value || '00:00';
    const always = days.length === 7 && from === to;
    return {
      name: $<HTMLInputElement>('fe-name').value.trim(),
      kind,
      geometry,
      ...(geometry?.type === 'LineString' ? { widthM: num('fe-width') } : {}),
      ...(geometry?.type === 'Point' ? { radiusM: num('fe-radius') } : {}),
      ...(kind === 'speed_limit' && $<HTMLInputElement>('fe-speed').value ? { speedLimitKmh: num('fe-speed') } : {}),
      ...(types.length ? { vehicleTypes: types } : {}),
      // Every day with the same from and to is all the time: no schedule. A window with days: [] is the server's to refuse.
      ...(always ? {} : { schedule: [{ days, from, to }, ...this.keptWindows] }),
      dwellS: num('fe-dwell'),
    };
  }

  async save(): Promise<void> {
    const d = this.draft;
    if (!d) return;
    const r = d.id === null ? await this.call<{ id: number }>('POST', 'api/vehicles/fences', this.body()) : await this.call<{ id: number }>('PUT', `api/vehicles/fences/${d.id}`, this.body());
    if (r.status !== 200 && r.status !== 201) {
      $('fence-error').textContent = `${r.status}: ${r.body.message ?? r.body.error ?? ''}`;
      return;
    }
    const id = r.body.id;
    this.cancel();
    this.selected = id;
    await this.load();
    $('fence-status').textContent = `${w().saved}: ${this.fences.find((f) => f.id === id)?.properties.name ?? id}`;
  }

  /**
   * A fence made, changed or deleted by someone (the live channel; this desk's own saves come back too): the list
   * and the layer follow. A fence being edited here keeps the draft, and the form says what happened to it.
   */
  applyEvent(e: FenceEvent): void {
    const id = e.op === 'saved' ? e.fence?.id : e.id;
    if (id === undefined) return;
    const was = this.fences.find((f) => f.id === id);
    if (e.op === 'saved' && e.fence) {
      if (was && JSON.stringify(was) === JSON.stringify(e.fence)) return;
      this.fences = [...this.fences.filter((f) => f.id !== id), e.fence].sort((a, b) => a.id - b.id);
      if (was && this.mode === 'editing' && this.draft?.id === id) $('fence-error').textContent = w().fenceChangedElsewhere;
    } else {
      if (!was) return;
      this.fences = this.fences.filter((f) => f.id !== id);
      if (this.mode === 'editing' && this.draft?.id === id) {
        this.cancel();
        $('fence-status').textContent = `${w().fenceDeletedElsewhere}: ${was.properties.name}`;
      }
      if (this.selected === id) this.selected = null;
    }
    this.render();
  }

  async remove(): Promise<void> {
    const f = this.fences.find((x) => x.id === this.selected);
    if (!f || !confirm(`${w().confirmDelete} “${f.properties.name}”?`)) return;
    const r = await this.call('DELETE', `api/vehicles/fences/${f.id}`);
    if (r.status !== 204) {
      $('fence-status').textContent = `${r.status}: ${r.body.message ?? r.body.error ?? ''}`;
      return;
    }
    this.selected = null;
    await this.load();
  }

  private wire(): void {
    $('fence-draw-area').addEventListener('click', () => this.startDrawing('polygon'));
    $('fence-draw-route').addEventListener('click', () => this.startDrawing('line'));
    $('fence-draw-circle').addEventListener('click', () => this.startDrawing('circle'));
    $('fence-vertex-remove').addEventListener('click', () => this.activeVertex !== null && this.removeVertex(this.activeVertex));
    $('fence-finish').addEventListener('click', () => this.finish());
    $('fence-abort').addEventListener('click', () => this.cancel());
    $('fe-cancel').addEventListener('click', () => this.cancel());
    $('fence-edit').addEventListener('click', () => this.edit());
    $('fence-delete').addEventListener('click', () => void this.remove());
    $('fe-kind').addEventListener('change', () => this.kindChanged());
    $('fe-radius').addEventListener('input', () => {
      const r = Number($<HTMLInputElement>('fe-radius').value);
      if (this.draft?.shape === 'circle' && r > 0) this.draft.radiusM = r;
      this.redrawDraft();
    });
    $('fence-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.save();
    });
  }
}
