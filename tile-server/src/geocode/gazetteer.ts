/**
 * What the geocoder searches, as data: which layers' names and codes are places, of what kind, and how kinds
 * rank (a district before a street before a community before a road before a feature). Any other table layer
 * that exposes a `name` (or `name_zh`) is searched as a feature of its own title, so an imported layer with
 * names is found without being listed here. Every layer is read only when the caller may see it (FeatureLayers).
 */
export interface PlaceKind {
  id: string;
  label: { zh: string; en: string };
  /** Lower ranks first among matches of the same quality. */
  rank: number;
}

export const KINDS = {
  coordinate: { id: 'coordinate', label: { zh: '坐标', en: 'Coordinates' }, rank: 0 },
  city: { id: 'city', label: { zh: '市', en: 'City' }, rank: 1 },
  district: { id: 'district', label: { zh: '区县', en: 'District' }, rank: 2 },
  street: { id: 'street', label: { zh: '乡镇街道', en: 'Township' }, rank: 3 },
  community: { id: 'community', label: { zh: '社区村', en: 'Community' }, rank: 4 },
  grid: { id: 'grid', label: { zh: '单元网格', en: 'Grid cell' }, rank: 5 },
  road: { id: 'road', label: { zh: '道路', en: 'Road' }, rank: 6 },
  water: { id: 'water', label: { zh: '水系', en: 'Water' }, rank: 7 },
  place: { id: 'place', label: { zh: '地名', en: 'Place' }, rank: 8 },
  feature: { id: 'feature', label: { zh: '要素', en: 'Feature' }, rank: 9 },
} as const satisfies Record<string, PlaceKind>;

export type KindId = keyof typeof KINDS;

/** Layers with a kind of their own; `null` = not searched (their features repeat another layer's). */
export const PLACE_LAYERS: Record<string, KindId | null> = {
  basemap_prefecture: 'city',
  basemap_districts: 'district',
  basemap_streets: 'street',
  basemap_communities: 'community',
  urban_grid_cells: 'grid',
  basemap_roads: 'road',
  basemap_water: 'water',
  basemap_rivers: 'water',
  basemap_places: 'place',
  // Label points of the admin areas above, and the sirens again as coverage circles.
  basemap_labels: null,
  civil_defence_siren_coverage: null,
};

/** Properties read as names, first the one shown. */
export const NAME_PROPERTIES = ['name_zh', 'name'];
/** Properties read as codes (exact match only): 行政区划 and grid codes, parcel, station and component ids. */
export const CODE_PROPERTIES = ['adcode', 'code', 'bjbsm', 'permit_no'];

/**
 * The admin areas a result is placed in (its context), innermost first: the point of a result is looked up in
 * each of these layers the caller may see. A result is never its own context, nor placed in a smaller area.
 */
export const CONTEXT_LEVELS: ReadonlyArray<{ as: 'community' | 'street' | 'district'; layer: string; code: string; name: string }> = [
  { as: 'community', layer: 'basemap_communities', code: 'code', name: 'name' },
  { as: 'street', layer: 'basemap_streets', code: 'code', name: 'name' },
  { as: 'district', layer: 'basemap_districts', code: 'adcode', name: 'name' },
];
