import { getJson, notThereYet } from '../api.ts';
import type { CatalogLayer } from '../catalog.ts';
import { hitsFromApi, nameProperties, type Hit } from '../features.ts';
import { lang, local, onLang, t } from '../i18n.ts';
import type { GeoJSONSource, LngLatBoundsLike, Map as MapLibreMap, Popup } from 'maplibre-gl';
import { maplibre } from '../map/maplibre.ts';
import { fill, h } from './dom.ts';
import { icon } from './icons.ts';

/**
 * The search box: places, codes and coordinates through the platform's geocoder (`GET /api/geocode`, ranked by
 * match, kind and closeness to the view, each with the street and district it lies in); the place chosen is
 * marked on the map and its popup opened. A server without the geocoder is searched through the features API
 * (`/collections/{layer}/items?filter=…`), and without that among the features loaded on the map.
 */
const PER_LAYER = 5;

export interface SearchDeps {
  map: MapLibreMap;
  catalog: CatalogLayer[];
  /** Make sure a found feature's layer is drawn. */
  show(layerId: string): void;
}

interface Found {
  hit: Hit;
  name: string;
}

/** One answer of GET /api/geocode (tile-server/src/geocode/geocode.ts). */
export interface Place {
  kind: string;
  kindLabel: { zh: string; en: string };
  layer: string | null;
  layerTitle: { zh: string; en: string } | null;
  id: number | string | null;
  name: string;
  code: string | null;
  match: { property: string; text: string; quality: string };
  context: Partial<Record<'community' | 'street' | 'district', { code: string; name: string }>>;
  point: [number, number];
  bbox: [number, number, number, number];
  geometry: GeoJSON.Geometry;
  distanceM: number | null;
}

const words = {
  zh: { code: '代码', matched: '匹配' },
  en: { code: 'Code', matched: 'Matched' },
};

async function geocode(map: MapLibreMap, q: string): Promise<Place[] | null> {
  const c = map.getCenter();
  const res = await getJson<{ results: Place[] }>('api/geocode', { q, lon: c.lng.toFixed(6), lat: c.lat.toFixed(6), limit: 10 });
  if (notThereYet(res)) return null;
  if (res.status !== 200) throw new Error(res.error ?? `HTTP ${res.status}`);
  return res.body?.results ?? [];
}

/** Where a place lies, innermost first: 新城路街道 · 清江浦区. */
const contextText = (p: Place) => [p.context.community, p.context.street, p.context.district].filter((x) => x).map((x) => x!.name).join(' · ');

const MARK = 'citybase-search-mark';

/** The found place, drawn above everything: its outline, a translucent fill, a ring for a point. */
function mark(map: MapLibreMap, p: Place): void {
  const data: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: p.geometry }] };
  const source = map.getSource(MARK) as GeoJSONSource | undefined;
  if (source) {
    source.setData(data);
    return;
  }
  map.addSource(MARK, { type: 'geojson', data });
  const colour = '#00A0E9';
  map.addLayer({ id: `${MARK}-fill`, type: 'fill', source: MARK, filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': colour, 'fill-opacity': 0.15 } });
  map.addLayer({ id: `${MARK}-line`, type: 'line', source: MARK, filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': colour, 'line-width': 3 } });
  map.addLayer({
    id: `${MARK}-point`,
    type: 'circle',
    source: MARK,
    filter: ['==', ['geometry-type'], 'Point'],
    paint: { 'circle-radius': 9, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': colour, 'circle-stroke-width': 3 },
  });
}

function popupContent(p: Place): HTMLElement {
  const w = words[lang()];
  const context = contextText(p);
  return h(
    'div',
    { class: 'search-popup', 'data-kind': p.kind, 'data-code': p.code ?? '' },
    h('h3', {}, p.name),
    h('p', {}, local(p.kindLabel), p.layerTitle && p.kind === 'feature' ? ` · ${local(p.layerTitle)}` : '', context ? ` · ${context}` : ''),
    h(
      'dl',
      {},
      p.code ? h('dt', {}, w.code) : null,
      p.code ? h('dd', {}, p.code) : null,
      h('dt', {}, w.matched),
      h('dd', {}, `${p.match.text}${p.match.property && p.match.property !== 'name' ? ` (${p.match.property})` : ''}`),
      h('dt', {}, 'WGS84'),
      h('dd', {}, `${p.point[0].toFixed(6)}, ${p.point[1].toFixed(6)}`),
    ),
  );
}

const cqlText = (s: string) => `'${s.replace(/'/g, "''")}'`;

async function searchApi(deps: SearchDeps, q: string): Promise<Found[] | null> {
  const searchable = deps.catalog.map((layer) => ({ layer, names: nameProperties(layer) })).filter((x) => x.names.length > 0);
  const answers = await Promise.all(
    searchable.map(({ layer, names }) =>
      getJson<unknown>(`collections/${encodeURIComponent(layer.id)}/items`, {
        filter: names.map((n) => `${n} LIKE ${cqlText(`%${q}%`)}`).join(' OR '),
        'filter-lang': 'cql2-text',
        limit: PER_LAYER,
      }),
    ),
  );
  if (answers.every(notThereYet)) return null;
  return answers.flatMap((res, i) => {
    const { layer, names } = searchable[i]!;
    if (res.status !== 200) return [];
    return hitsFromApi(res.body, new Map([[layer.id, layer]]), layer.id).map((hit) => ({ hit, name: nameOf(hit, names) }));
  });
}

function nameOf(hit: Hit, names: string[]): string {
  return names.map((n) => hit.properties[n]).find((v) => typeof v === 'string' && v) as string | undefined ?? String(hit.id ?? '');
}

function searchMap(deps: SearchDeps, q: string): Found[] {
  const needle = q.toLowerCase();
  const found: Found[] = [];
  for (const layer of deps.catalog) {
    const names = nameProperties(layer);
    if (names.length === 0 || !deps.map.getSource(layer.id)) continue;
    const seen = new Set<string>();
    for (const f of deps.map.querySourceFeatures(layer.id, { sourceLayer: layer.id })) {
      const match = names.some((n) => String(f.properties[n] ?? '').toLowerCase().includes(needle));
      const key = String(f.id ?? JSON.stringify(f.properties));
      if (!match || seen.has(key) || seen.size >= PER_LAYER) continue;
      seen.add(key);
      const hit: Hit = { layer, id: f.id, properties: f.properties, geometry: f.geometry };
      found.push({ hit, name: nameOf(hit, names) });
    }
  }
  return found;
}

function bounds(g: GeoJSON.Geometry): LngLatBoundsLike {
  const b = new maplibre.LngLatBounds();
  const walk = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === 'number') b.extend(c as [number, number]);
    else if (Array.isArray(c)) c.forEach(walk);
  };
  if (g.type === 'GeometryCollection') g.geometries.forEach((x) => walk((x as GeoJSON.Point).coordinates));
  else walk(g.coordinates);
  return b;
}

export function enableSearch(form: HTMLFormElement, deps: SearchDeps): void {
  const input = h('input', { type: 'search', name: 'q', autocomplete: 'off', 'data-search': '' });
  const button = h('button', { type: 'submit' }, icon('search'));
  const list = h('ul', { class: 'search-results', hidden: true, 'aria-live': 'polite' });
  form.append(input, button, list);
  onLang(() => {
    input.placeholder = t().search;
    input.setAttribute('aria-label', t().searchLabel);
    input.title = t().searchHint;
    button.setAttribute('aria-label', t().searchLabel);
  });

  const go = (f: Found) => {
    deps.show(f.hit.layer.id);
    list.hidden = true;
    if (f.hit.geometry) deps.map.fitBounds(bounds(f.hit.geometry), { padding: 80, maxZoom: 14, duration: 600 });
  };

  let popup: Popup | null = null;
  const goTo = (place: Place) => {
    if (place.layer && deps.catalog.some((l) => l.id === place.layer)) deps.show(place.layer);
    list.hidden = true;
    const [w, s, e, n] = place.bbox;
    if (w === e && s === n) deps.map.jumpTo({ center: place.point, zoom: Math.max(deps.map.getZoom(), 16) });
    else deps.map.fitBounds([[w, s], [e, n]], { padding: 80, maxZoom: 17, duration: 0 });
    mark(deps.map, place);
    popup?.remove();
    popup = new maplibre.Popup({ maxWidth: '320px', className: 'search-result-popup' }).setLngLat(place.point).setDOMContent(popupContent(place)).addTo(deps.map);
  };

  const placeRow = (place: Place) => {
    const context = contextText(place);
    return h(
      'li',
      {},
      h(
        'button',
        { type: 'button', 'data-kind': place.kind, 'data-layer': place.layer ?? '', 'data-code': place.code ?? '', onclick: () => goTo(place) },
        place.name,
        h('small', {}, ` · ${local(place.kindLabel)}${context ? ` · ${context}` : ''}`),
      ),
    );
  };

  let asked = 0;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    const ticket = ++asked;
    const places = await geocode(deps.map, q).catch(() => null);
    if (ticket !== asked) return;
    if (places) {
      fill(list, ...(places.length ? places.map(placeRow) : [h('li', { class: 'none' }, t().searchNone)]));
      list.hidden = false;
      list.querySelector('button')?.focus();
      return;
    }
    const found = (await searchApi(deps, q).catch(() => null)) ?? searchMap(deps, q);
    if (ticket !== asked) return;
    fill(
      list,
      ...(found.length
        ? found.map((f) =>
            h('li', {}, h('button', { type: 'button', 'data-layer': f.hit.layer.id, onclick: () => go(f) }, f.name, h('small', {}, ` · ${local(f.hit.layer.title)}`))),
          )
        : [h('li', { class: 'none' }, t().searchNone)]),
    );
    list.hidden = false;
    list.querySelector('button')?.focus();
  });
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') list.hidden = true;
  });
}
