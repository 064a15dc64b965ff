import turfArea from '@turf/area';
import turfLength from '@turf/length';
import { t } from '../i18n.ts';
import type { Map as MapLibreMap } from 'maplibre-gl';
import { fill, formatNumber, h } from '../ui/dom.ts';
import { usingTouch } from '../ui/input-mode.ts';
import { Sketch, type Position, type SketchKind } from './sketch.ts';
import type { Tool } from './tool-host.ts';

/**
 * Measuring on the sphere of radius 6,371,008.8 m (turf): lengths are great-circle lengths, as PostGIS's
 * geography gives them with `use_spheroid => false`; areas agree with PostGIS's to well under 0.1 % at city
 * scale. The sphere is within about 0.3 % of the CGCS2000 ellipsoid, below what a drawn line means.
 */
export function lengthMetres(line: Position[]): number {
  return line.length < 2 ? 0 : turfLength({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: line } }, { units: 'kilometers' }) * 1000;
}

export function areaSquareMetres(ring: Position[]): number {
  return ring.length < 3 ? 0 : turfArea({ type: 'Polygon', coordinates: [[...ring, ring[0]!]] });
}

export function formatLength(m: number): string {
  return m < 1000 ? `${formatNumber(m, 1)} m` : `${formatNumber(m / 1000, 3)} km`;
}

export function formatArea(m2: number): string {
  const hectares = `${formatNumber(m2 / 10_000, 2)} ${t().hectares}`;
  return m2 < 1_000_000 ? `${formatNumber(m2, 0)} m² (${hectares})` : `${formatNumber(m2 / 1_000_000, 4)} km² (${hectares})`;
}

/** The tool's hint for this device: keys for a keyboard, taps and buttons for a touch screen. */
export function hint(kind: SketchKind): string {
  const words = t();
  const touch = usingTouch();
  if (kind === 'line') return touch ? words.toolHintLineTouch : words.toolHintLine;
  return touch ? words.toolHintPolygonTouch : words.toolHintPolygon;
}

/** A result line: the text a planner reads, and the exact value in `data-value` for whoever copies it. */
function result(name: string, value: number, text: string, kind: string): HTMLElement {
  return h('div', { class: 'result' }, h('span', {}, name), h('output', { 'data-measure': kind, 'data-value': value }, text));
}

export function measureTool(map: MapLibreMap, kind: SketchKind): Tool {
  let sketch: Sketch | null = null;
  let panel: HTMLElement | null = null;
  let vertices: Position[] = [];
  let finished = false;

  const render = () => {
    if (!panel) return;
    const words = t();
    const lines: HTMLElement[] = [];
    if (kind === 'line') {
      const d = lengthMetres(vertices);
      lines.push(result(words.distance, d, formatLength(d), 'distance'));
    } else {
      const a = areaSquareMetres(vertices);
      const p = vertices.length >= 3 ? lengthMetres([...vertices, vertices[0]!]) : lengthMetres(vertices);
      lines.push(result(words.area, a, formatArea(a), 'area'), result(words.perimeter, p, formatLength(p), 'perimeter'));
    }
    fill(
      panel,
      h('p', { class: 'hint' }, hint(kind)),
      h('div', { class: 'results', 'aria-live': 'polite', 'data-finished': String(finished) }, ...lines),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', 'data-action': 'finish', onclick: () => sketch?.finish() }, words.finish),
        h('button', { type: 'button', 'data-action': 'undo', onclick: () => sketch?.undo() }, words.undo),
        h('button', { type: 'button', 'data-action': 'clear', onclick: () => sketch?.clear() }, words.cancel),
      ),
    );
  };

  return {
    id: kind === 'line' ? 'distance' : 'area',
    icon: kind === 'line' ? 'distance' : 'area',
    kind: 'drawing',
    label: () => (kind === 'line' ? t().measureDistance : t().measureArea),
    start(el) {
      panel = el;
      vertices = [];
      finished = false;
      sketch = new Sketch(map, kind, {
        change: (v) => {
          vertices = v;
          finished = false;
          render();
        },
        done: (v) => {
          vertices = v;
          finished = true;
          render();
        },
      });
      sketch.start();
      render();
    },
    stop() {
      sketch?.stop();
      sketch = null;
      panel = null;
    },
    refresh: render,
  };
}
