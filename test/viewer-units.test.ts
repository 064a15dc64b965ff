import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import test from 'ava';
import type { StyleSpecification } from 'maplibre-gl';
import type { CatalogLayer } from '../map-viewer/src/catalog.ts';
import { hitsFromApi, nameProperties, summable } from '../map-viewer/src/features.ts';
import { buildStyle, scaleOpacity, type LayerState } from '../map-viewer/src/map/style.ts';

/**
 * The viewer's pure parts, without a browser: opacity applied to style values (a zoom curve included, and the
 * result still a valid style), the style built from the catalog, what is added up under a drawn area, and
 * features read out of the features API's answers.
 */

function layer(id: string, theme: string, geometryType: string, over: Partial<CatalogLayer> = {}): CatalogLayer {
  return {
    id,
    title: { zh: id, en: id },
    theme,
    owner: 'zrzy',
    access: 'public',
    geometryType,
    minzoom: 4,
    maxzoom: 18,
    tilejson: `http://h/tiles/${id}.json`,
    tiles: `http://h/tiles/${id}/{z}/{x}/{y}.mvt`,
    properties: {},
    style: [],
    legend: [],
    ...over,
  };
}

const districts = layer('basemap_districts', 'basemap', 'MULTIPOLYGON', {
  minzoom: 0,
  style: [
    { id: 'basemap_districts-fill', type: 'fill', paint: { 'fill-color': '#F7F4EC', 'fill-opacity': ['interpolate', ['linear'], ['zoom'], 5, 0.2, 10, 0.8] } },
    { id: 'basemap_districts-label', type: 'symbol', layout: { 'text-field': ['get', 'name'] } },
  ],
});
const shelters = layer('civil_defence_shelters', 'civil_defence', 'POINT', {
  properties: {
    name: { label: { zh: '名称', en: 'Name' } },
    capacity: { label: { zh: '可掩蔽人数', en: 'Capacity' }, unit: '人', additive: true },
    usable_area_m2: { label: { zh: '使用面积', en: 'Usable area' }, unit: 'm²', additive: true },
    staff: { label: { zh: '值守人数', en: 'Staff on duty' }, unit: '人', additive: false },
    completed_year: { label: { zh: '建成年份', en: 'Year' } },
  },
  fields: { name: 'String', capacity: 'Number', usable_area_m2: 'Number', completed_year: 'Number' },
  style: [{ id: 'civil_defence_shelters-dot', type: 'circle', paint: { 'circle-radius': 4, 'circle-opacity': 0.9 } }],
});
const routes = layer('civil_defence_evacuation_routes', 'civil_defence', 'MULTILINESTRING', {
  properties: { length_m: { label: { zh: '长度', en: 'Length' }, unit: 'm', additive: true } },
  style: [{ id: 'civil_defence_evacuation_routes-line', type: 'line', paint: { 'line-color': '#00AA00', 'line-opacity': ['step', ['zoom'], 0.5, 12, 1] } }],
});
const stations = layer('environment_air_stations', 'environment', 'POINT', {
  properties: {
    code: { label: { zh: '站点编码', en: 'Code' } },
    pm2_5: { label: { zh: 'PM2.5', en: 'PM2.5' }, unit: 'µg/m³' },
    radius_m: { label: { zh: '覆盖半径', en: 'Radius' }, unit: 'm' },
  },
});
const catalog = [shelters, routes, districts];
const state = (visible: string[], opacity = 1) => new Map(catalog.map((l) => [l.id, { visible: visible.includes(l.id), opacity } satisfies LayerState]));

test('opacity multiplies the style\'s own: numbers, defaults, expressions, and the outputs of zoom curves', (t) => {
  t.is(scaleOpacity(undefined, 0.5), 0.5);
  t.is(scaleOpacity(0.6, 0.5), 0.3);
  t.deepEqual(scaleOpacity(['get', 'o'], 0.5), ['*', ['get', 'o'], 0.5]);
  t.deepEqual(scaleOpacity(['interpolate', ['linear'], ['zoom'], 5, 0.2, 10, 0.8], 0.5), ['interpolate', ['linear'], ['zoom'], 5, 0.1, 10, 0.4]);
  t.deepEqual(scaleOpacity(['step', ['zoom'], 0.5, 12, 1], 0.5), ['step', ['zoom'], 0.25, 12, 0.5]);
  t.deepEqual(scaleOpacity({ stops: [[5, 1], [10, 0.4]] }, 0.5), { stops: [[5, 0.5], [10, 0.2]] });
});

test('the style from the catalog: a source per layer, its style layers tagged, drawn base map first and labels last, valid', (t) => {
  const { style, layersOf } = buildStyle(catalog, null, state(['basemap_districts', 'civil_defence_shelters'], 0.5));
  t.deepEqual(Object.keys(style.sources).sort(), catalog.map((l) => l.id).sort());
  t.deepEqual(
    style.layers.map((l) => l.id),
    ['background', 'basemap_districts-fill', 'civil_defence_evacuation_routes-line', 'civil_defence_shelters-dot', 'basemap_districts-label'],
  );
  t.deepEqual(layersOf.get('basemap_districts'), ['basemap_districts-fill', 'basemap_districts-label']);
  const fill = style.layers.find((l) => l.id === 'basemap_districts-fill')!;
  t.like(fill, { source: 'basemap_districts', 'source-layer': 'basemap_districts', layout: { visibility: 'visible' } });
  t.deepEqual((fill as { paint: Record<string, unknown> }).paint['fill-opacity'], ['interpolate', ['linear'], ['zoom'], 5, 0.1, 10, 0.4]);
  t.is(style.layers.find((l) => l.id === 'civil_defence_evacuation_routes-line')!.layout!.visibility, 'none');
  t.is(style.glyphs, undefined, 'no glyph server: labels come from local fonts');
  t.deepEqual(validateStyleMin(style as never), []);
});

test('the themes\' style is followed, less what the caller may not see and any outside URL, plus catalog layers it lacks', (t) => {
  const base: StyleSpecification = {
    version: 8,
    glyphs: 'https://fonts.example.com/{fontstack}/{range}.pbf',
    sprite: 'https://sprites.example.com/sprite',
    sources: {
      basemap_districts: { type: 'vector', url: 'http://h/tiles/basemap_districts.json' },
      secret: { type: 'vector', url: 'http://h/tiles/secret.json' },
    },
    layers: [
      { id: 'bg', type: 'background', paint: { 'background-color': '#FFFFFF' } },
      { id: 'secret-fill', type: 'fill', source: 'secret', 'source-layer': 'secret' },
      { id: 'districts', type: 'line', source: 'basemap_districts', 'source-layer': 'basemap_districts', metadata: { 'citybase:layer': 'basemap_districts' } },
    ],
  };
  const { style } = buildStyle(catalog, base, state(['basemap_districts']));
  t.deepEqual(
    style.layers.map((l) => l.id),
    ['bg', 'districts', 'civil_defence_evacuation_routes-line', 'civil_defence_shelters-dot'],
  );
  t.false('secret' in style.sources);
  t.is(style.glyphs, undefined);
  t.is(style.sprite, undefined);
  t.deepEqual(validateStyleMin(style as never), []);
});

test('under a drawn area, the properties the layer declares additive are added up; units alone decide nothing', (t) => {
  t.deepEqual(summable(shelters), ['capacity', 'usable_area_m2']);
  t.deepEqual(summable(routes), ['length_m']);
  t.deepEqual(summable(stations), []);
  t.deepEqual(nameProperties(shelters), ['name']);
});

test('features are read out of /identify, POST /query and items answers, each with its catalog layer', (t) => {
  const known = new Map(catalog.map((l) => [l.id, l]));
  const point = { type: 'Point', coordinates: [119, 33.6] };
  const identify = {
    type: 'FeatureCollection',
    layers: ['civil_defence_shelters', 'basemap_districts'],
    features: [
      { type: 'Feature', id: 7, geometry: point, properties: { name: '一号工程' }, layer: 'civil_defence_shelters', distance: 3.2 },
      { type: 'Feature', id: 320803, geometry: null, properties: { name: '淮安区' }, layer: 'basemap_districts', distance: 0 },
      { type: 'Feature', id: 1, geometry: point, properties: {}, layer: 'not_in_the_catalog' },
    ],
  };
  t.deepEqual(
    hitsFromApi(identify, known).map((h) => [h.layer.id, h.id, h.properties.name]),
    [
      ['civil_defence_shelters', 7, '一号工程'],
      ['basemap_districts', 320803, '淮安区'],
    ],
  );
  const query = { areaM2: 1e6, layers: [{ layer: 'civil_defence_shelters', count: 1, sums: { capacity: 800 }, features: { type: 'FeatureCollection', features: [identify.features[0]] } }] };
  t.deepEqual(hitsFromApi(query, known).map((h) => h.id), [7]);
  const items = { type: 'FeatureCollection', features: [{ type: 'Feature', id: 9, geometry: point, properties: { name: '二号' } }] };
  t.deepEqual(hitsFromApi(items, known, 'civil_defence_shelters').map((h) => [h.layer.id, h.id]), [['civil_defence_shelters', 9]]);
});
