import { getJson } from './api.ts';

/** What `GET /layers` says about a layer (tile-server/src/routes/catalog.ts). */
export interface Localized {
  zh: string;
  en: string;
}

export interface CatalogLayer {
  id: string;
  title: Localized;
  description?: Localized;
  theme: string;
  owner: string;
  access: 'public' | 'internal' | 'restricted';
  geometryType: string;
  minzoom: number;
  maxzoom: number;
  attribution?: string;
  tilejson: string;
  tiles: string;
  properties: Record<string, { label: Localized; unit?: string; additive?: boolean }>;
  fields?: Record<string, string>;
  style: Array<Record<string, unknown>>;
  legend: Array<{ label: Localized; color: string; shape: 'fill' | 'line' | 'circle' | 'symbol' }>;
  /** The caller may download it (server's canExport); absent from older servers: offered. */
  downloadable?: boolean;
}

/** Theme order in the panel: the departments' themes first, the base map last (it sits under everything). */
export const THEME_ORDER = ['urban', 'planning', 'civil_defence', 'environment', 'vehicles', 'contrib', 'basemap'];

export async function loadCatalog(): Promise<CatalogLayer[]> {
  const res = await getJson<{ layers: CatalogLayer[] }>('layers');
  if (res.status !== 200 || !res.body) throw new Error(`GET /layers: HTTP ${res.status} ${res.error ?? ''}`);
  return res.body.layers;
}

/** Rough geometry family of a layer, for drawing order and for counting features under a drawn polygon. */
export function geometryFamily(layer: CatalogLayer): 'point' | 'line' | 'polygon' | 'other' {
  const g = layer.geometryType.toUpperCase();
  if (g.includes('POINT')) return 'point';
  if (g.includes('LINE')) return 'line';
  if (g.includes('POLYGON')) return 'polygon';
  return 'other';
}
