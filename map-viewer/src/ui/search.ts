import { getJson, notThereYet } from '../api.ts';
import type { CatalogLayer } from '../catalog.ts';
import { hitsFromApi, nameProperties, type Hit } from '../features.ts';
import { local, onLang, t } from '../i18n.ts';
import type { LngLatBoundsLike, Map as MapLibreMap } from 'maplibre-gl';
import { maplibre } from '../map/maplibre.ts';
import { fill, h } from './dom.ts';
import { icon } from './icons.ts';

/**
 * The search box: names of districts, streets and features, in every layer that has a name property. Through
 * the features API (`/collections/{layer}/items?filter=…`) when the server has it; else among the features
 * loaded on the map.
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

  let asked = 0;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    const ticket = ++asked;
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
