import type { CatalogLayer } from '../catalog.ts';
import { t } from '../i18n.ts';
import type { Map as MapLibreMap, StyleSpecification } from 'maplibre-gl';
import type { LayerState } from '../map/style.ts';
import { h } from './dom.ts';

/**
 * The base-map switcher: the platform's vector base map, a plain grey (the themes alone, for a report), or
 * imagery when the city configures a local raster source (BASEMAP_RASTER_TILES: a raster style layer whose
 * metadata says `"citybase:basemap": "raster"`, on this server's host; none by default, so the page never asks
 * another host for tiles).
 */
export type BaseMap = 'vector' | 'grey' | 'raster';
const GREY = '#D9DCE0';

export interface BaseMapDeps {
  map: MapLibreMap;
  /** The style the map was made with (the switcher reads its background and raster sources). */
  style: StyleSpecification;
  catalog: CatalogLayer[];
  state: Map<string, LayerState>;
  defaults: (layer: CatalogLayer) => boolean;
  apply: (changes: Array<[string, LayerState]>) => void;
  rerender: () => void;
}

export class BaseMapSwitcher {
  private current: BaseMap = 'vector';
  private readonly background: unknown;
  private readonly raster: string[];

  constructor(private readonly deps: BaseMapDeps) {
    const style = deps.style;
    this.background = (style.layers.find((l) => l.id === 'background') as { paint?: Record<string, unknown> } | undefined)?.paint?.['background-color'];
    this.raster = style.layers.filter((l) => l.type === 'raster' && (l as { metadata?: Record<string, unknown> }).metadata?.['citybase:basemap'] === 'raster').map((l) => l.id);
  }

  choose(next: BaseMap): void {
    const { map, catalog, state } = this.deps;
    this.current = next;
    const basemap = catalog.filter((l) => l.theme === 'basemap');
    // Vector: the base map's default layers; grey and imagery: none of its layers but the labels on imagery.
    this.deps.apply(
      basemap.map((l) => [l.id, { ...state.get(l.id)!, visible: next === 'vector' ? this.deps.defaults(l) : next === 'raster' && /label|place/.test(l.id) }]),
    );
    for (const id of this.raster) map.setLayoutProperty(id, 'visibility', next === 'raster' ? 'visible' : 'none');
    if (map.getLayer('background')) map.setPaintProperty('background', 'background-color', next === 'grey' ? GREY : (this.background as string));
    this.deps.rerender();
  }

  element(): HTMLElement {
    const words = t();
    const options: Array<[BaseMap, string]> = [
      ['vector', words.baseVector],
      ['grey', words.baseGrey],
      ...(this.raster.length ? ([['raster', words.baseRaster]] as Array<[BaseMap, string]>) : []),
    ];
    return h(
      'fieldset',
      { class: 'basemap-switcher' },
      h('legend', {}, words.baseMap),
      ...options.map(([value, label]) => {
        const input = h('input', { type: 'radio', name: 'basemap', id: `basemap-${value}`, value, 'data-basemap': value, onchange: () => this.choose(value) });
        input.checked = this.current === value;
        return h('div', { class: 'layer-head' }, input, h('label', { for: input.id }, label));
      }),
    );
  }
}
