import type { GeoJSONSource, Map as MapLibreMap, StyleSpecification } from 'maplibre-gl';
import { maplibre } from '../map/maplibre.ts';
import { FenceEditor, type FenceEvent } from './fence-editor.ts';
import { Player, type TrackData } from './player.ts';
import { alarmTypeNames, lang, named, setLang, vehicleTypeNames, w } from './words.ts';
import './vdesk.css';

/**
 * The key-vehicle monitoring desk (/vehicles/): the live fleet over the WebSocket (/api/vehicles/live: a snapshot,
 * then batched changes; a reconnect is the resync), markers coloured by state and turned by heading, the fleet
 * list with search and filters by type and group, the alarm panel (acknowledge, close; sound on new alarms), a
 * vehicle's details, and playback of its track. Signed-in people with the right vehicle:watch only; what each
 * one sees (department, districts) is decided by the server.
 */
interface Vehicle {
  id: string;
  plate: string | null;
  type: string;
  company: string | null;
  district: string | null;
  group: string | null;
  status: 'online' | 'offline' | 'unknown';
  lon: number | null;
  lat: number | null;
  speedKmh: number | null;
  course: number | null;
  time: number | null;
  alarm: number;
}
interface Alarm {
  id: number;
  vehicle_id: string;
  type: string;
  state: 'raised' | 'acknowledged' | 'closed';
  first_at: string;
  last_at: string;
  repeats: number;
  lon: number | null;
  lat: number | null;
  note: string | null;
  acknowledged_by: string | null;
}
interface Session {
  authenticated: boolean;
  kind: string;
  login?: string;
  rights: string[];
  csrfToken?: string;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const api = (p: string) => new URL(`../${p}`, location.href).toString();
let csrf = '';

async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T & { error?: string; message?: string } }> {
  const res = await fetch(api(path), {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json', ...(method === 'GET' ? {} : { 'Content-Type': 'application/json', ...(csrf ? { 'X-CSRF-Token': csrf } : {}) }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as T & { error?: string; message?: string } };
}

const COLOURS = { online: '#1a9850', offline: '#7f7f7f', unknown: '#b0b0b0', alarm: '#d7301f' } as const;
const fleet = new Map<string, Vehicle>();
const alarms = new Map<number, Alarm>();
let selected: string | null = null;
let following = false;
let map: MapLibreMap;
let player: Player | null = null;
let fenceEditor: FenceEditor | null = null;
let canManage = false;

/** A vehicle's state on the desk: an open alarm wins over its connection status. */
let alarmed: Set<string> | null = null;
function stateOf(v: Vehicle): keyof typeof COLOURS {
  // The vehicles with an open alarm, worked out once per change of the alarms (not per vehicle and render).
  alarmed ??= new Set([...alarms.values()].filter((a) => a.state !== 'closed').map((a) => a.vehicle_id));
  return alarmed.has(v.id) ? 'alarm' : v.status;
}

// ---------------------------------------------------------------- words

function renderWords(): void {
  const t = w();
  document.title = `${t.title} · CityBase`;
  $('title').textContent = t.title;
  $('lang').textContent = t.switchLang;
  $('signout').textContent = t.signOut;
  $('tab-fleet').textContent = t.fleet;
  $('tab-alarms').firstChild!.textContent = `${t.alarms} `;
  $<HTMLInputElement>('q').placeholder = t.search;
  $<HTMLInputElement>('q').setAttribute('aria-label', t.search);
  $('sound-label').textContent = t.sound;
  $('from-label').textContent = t.from;
  $('to-label').textContent = t.to;
  $('rate-label').textContent = t.rate;
  $('load').textContent = t.load;
  $('exit-playback').textContent = t.exit;
  $('open-playback').textContent = t.playback;
  $('tab-reports').textContent = t.reports;
  $('rfrom-label').textContent = t.reportFrom;
  $('rto-label').textContent = t.reportTo;
  $('run-report').textContent = t.load;
  $('rh-plate').textContent = t.plate;
  $('rh-km').textContent = t.mileageKm;
  $('rh-fixes').textContent = t.fixes;
  $('rh-alarms').textContent = t.alarms;
  $('speed-chart').setAttribute('aria-label', t.speedChart);
  $('register-title').textContent = t.register;
  $('r-submit').textContent = t.registerButton;
  for (const el of document.querySelectorAll<HTMLElement>('#register [data-w]')) el.textContent = t[el.dataset.w as keyof typeof t];
  fillSelect('r-type', '', Object.keys(vehicleTypeNames).map((k) => [k, named(vehicleTypeNames, k)]));
  ($('r-type') as HTMLSelectElement).options[0]?.remove();
  $('player-title').textContent = `${t.playback} ${selected ? (fleet.get(selected)?.plate ?? selected) : ''}`;
  $('follow').textContent = following ? t.unfollow : t.follow;
  $('play').textContent = player?.playing ? t.pause : t.play;
  fillSelect('f-type', t.allTypes, Object.keys(vehicleTypeNames).map((k) => [k, named(vehicleTypeNames, k)]));
  fillSelect('f-status', t.allStates, (['online', 'offline', 'unknown', 'alarm'] as const).map((k) => [k, t[k]]));
  renderGroups();
  fenceEditor?.renderWords();
  renderAll();
}

function fillSelect(id: string, all: string, options: Array<[string, string]>): void {
  const select = $<HTMLSelectElement>(id);
  const value = select.value;
  select.replaceChildren(new Option(all, ''), ...options.map(([v, label]) => new Option(label, v)));
  select.value = options.some(([v]) => v === value) ? value : '';
  select.setAttribute('aria-label', all);
}

function renderGroups(): void {
  const groups = [...new Set([...fleet.values()].map((v) => v.group).filter((g): g is string => !!g))].sort();
  fillSelect('f-group', w().allGroups, groups.map((g) => [g, g]));
}

// ---------------------------------------------------------------- list, counts, details

function matches(v: Vehicle): boolean {
  const q = $<HTMLInputElement>('q').value.trim().toLowerCase();
  const type = $<HTMLSelectElement>('f-type').value;
  const group = $<HTMLSelectElement>('f-group').value;
  const status = $<HTMLSelectElement>('f-status').value;
  if (type && v.type !== type) return false;
  if (group && v.group !== group) return false;
  if (status && stateOf(v) !== status) return false;
  if (q && ![v.plate, v.id, v.company, v.group].some((s) => s?.toLowerCase().includes(q))) return false;
  return true;
}

let renderQueued = false;
function renderAll(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderList();
    renderCounts();
    renderDetail();
    updateMap();
  });
}

function renderList(): void {
  const t = w();
  const shown = [...fleet.values()].filter(matches).sort((a, b) => (a.plate ?? a.id).localeCompare(b.plate ?? b.id, 'zh-CN'));
  const items = shown.map((v) => {
    const li = document.createElement('li');
    const state = stateOf(v);
    li.dataset.id = v.id;
    li.dataset.state = state;
    li.tabIndex = 0;
    li.className = v.id === selected ? 'selected' : '';
    const dot = Object.assign(document.createElement('span'), { className: `dot ${state}`, title: t[state] });
    const plate = Object.assign(document.createElement('b'), { textContent: v.plate ?? v.id });
    const info = Object.assign(document.createElement('small'), {
      textContent: [named(vehicleTypeNames, v.type), v.group, v.status === 'online' && v.speedKmh !== null ? `${Math.round(v.speedKmh)} ${t.kmh}` : t[state]].filter(Boolean).join(' · '),
    });
    li.append(dot, plate, info);
    li.addEventListener('click', () => select(v.id, true));
    li.addEventListener('keydown', (e) => e.key === 'Enter' && select(v.id, true));
    return li;
  });
  // The list is redrawn as the fleet moves: keyboard focus stays on the vehicle it was on.
  const focused = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('#fleet li')?.dataset.id;
  $('fleet').replaceChildren(...(items.length ? items : [Object.assign(document.createElement('li'), { className: 'empty', textContent: t.noVehicles })]));
  if (focused) items.find((li) => li.dataset.id === focused)?.focus();
}

function renderCounts(): void {
  const t = w();
  const n = { online: 0, offline: 0, unknown: 0, alarm: 0 };
  for (const v of fleet.values()) n[stateOf(v)]++;
  $('counts').textContent = `${t.online} ${n.online} · ${t.offline} ${n.offline + n.unknown} · ${t.alarm} ${n.alarm}`;
  const open = [...alarms.values()].filter((a) => a.state === 'raised').length;
  $('alarm-count').textContent = String(open);
}

function renderDetail(): void {
  const v = selected ? fleet.get(selected) : undefined;
  $('detail').hidden = !v;
  if (!v) return;
  const t = w();
  $('detail-title').textContent = `${t.detail} ${v.plate ?? v.id}`;
  const facts: Array<[string, string]> = [
    [t.type, named(vehicleTypeNames, v.type)],
    [t.company, v.company ?? '—'],
    [t.group, v.group ?? '—'],
    [t.district, v.district ?? '—'],
    [t.status, t[stateOf(v)]],
    [t.speed, v.speedKmh === null ? '—' : `${v.speedKmh.toFixed(0)} ${t.kmh}`],
    [t.heading, v.course === null ? '—' : `${Math.round(v.course)}°`],
    [t.fixTime, v.time === null ? '—' : new Date(v.time).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB')],
    [t.position, v.lon === null || v.lat === null ? '—' : `${v.lon.toFixed(5)}, ${v.lat.toFixed(5)}`],
  ];
  $('facts').replaceChildren(...facts.flatMap(([k, val]) => [Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: val })]));
  $('follow').textContent = following ? t.unfollow : t.follow;
  $('follow').setAttribute('aria-pressed', String(following));
}

function select(id: string, fly: boolean): void {
  selected = id;
  const v = fleet.get(id);
  if (fly && v?.lon != null && v.lat != null) map.easeTo({ center: [v.lon, v.lat], zoom: Math.max(map.getZoom(), 14) });
  renderAll();
}

// ---------------------------------------------------------------- alarms

function alarmItem(a: Alarm): HTMLLIElement {
  const t = w();
  const v = fleet.get(a.vehicle_id);
  const li = document.createElement('li');
  li.dataset.alarm = String(a.id);
  li.dataset.state = a.state;
  const head = Object.assign(document.createElement('div'), { className: 'head' });
  head.append(
    Object.assign(document.createElement('b'), { textContent: v?.plate ?? a.vehicle_id }),
    Object.assign(document.createElement('span'), { className: 'type', textContent: named(alarmTypeNames, a.type) }),
    Object.assign(document.createElement('span'), { className: 'state', textContent: t[a.state] }),
  );
  const when = Object.assign(document.createElement('small'), {
    textContent: `${new Date(a.first_at).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB')}${a.repeats > 1 ? ` · ${a.repeats}${t.repeats}` : ''}${a.acknowledged_by ? ` · ${a.acknowledged_by}` : ''}${a.note ? ` · ${a.note}` : ''}`,
  });
  li.append(head, when);
  if (a.state !== 'closed') {
    const note = Object.assign(document.createElement('input'), { className: 'note', placeholder: t.note, maxLength: 2000 });
    note.setAttribute('aria-label', t.note);
    const row = Object.assign(document.createElement('div'), { className: 'row' });
    row.append(note);
    for (const action of a.state === 'raised' ? (['acknowledge', 'close'] as const) : (['close'] as const)) {
      const b = Object.assign(document.createElement('button'), { type: 'button', textContent: t[action] });
      b.dataset.action = action;
      b.addEventListener('click', () => void act(a, action, note.value.trim()));
      row.append(b);
    }
    li.append(row);
  }
  li.addEventListener('click', (e) => {
    if ((e.target as HTMLElement).closest('button, input')) return;
    if (a.lon !== null && a.lat !== null) map.easeTo({ center: [a.lon, a.lat], zoom: Math.max(map.getZoom(), 14) });
    select(a.vehicle_id, false);
  });
  return li;
}

function renderAlarms(): void {
  alarmed = null;
  const open = [...alarms.values()].filter((a) => a.state !== 'closed').sort((a, b) => b.last_at.localeCompare(a.last_at) || b.id - a.id);
  $('alarm-list').replaceChildren(...(open.length ? open.map(alarmItem) : [Object.assign(document.createElement('li'), { className: 'empty', textContent: w().noAlarms })]));
  renderAll();
}

async function act(a: Alarm, action: 'acknowledge' | 'close', note: string): Promise<void> {
  const r = await call<{ alarm: Alarm }>('POST', `api/vehicles/alarms/${a.id}/${action}`, note ? { note } : {});
  // Alarm ids are bigints, sent as strings: the desk keys them by number.
  if (r.status === 200) alarms.set(Number(a.id), { ...r.body.alarm, id: Number(a.id) });
  else alert(`${r.status}: ${r.body.message ?? r.body.error ?? ''}`);
  renderAlarms();
}

async function loadAlarms(): Promise<void> {
  const r = await call<{ alarms: Alarm[] }>('GET', 'api/vehicles/alarms?state=open&limit=500');
  if (r.status !== 200) return;
  alarms.clear();
  for (const a of r.body.alarms) alarms.set(Number(a.id), { ...a, id: Number(a.id) });
  renderAlarms();
}

let audio: AudioContext | null = null;
/** A short two-tone beep made here (the page loads no sound file). */
function beep(): void {
  if (!$<HTMLInputElement>('sound').checked) return;
  audio ??= new AudioContext();
  for (const [f, at] of [[880, 0], [660, 0.18]] as const) {
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.frequency.value = f;
    g.gain.value = 0.15;
    o.connect(g).connect(audio.destination);
    o.start(audio.currentTime + at);
    o.stop(audio.currentTime + at + 0.15);
  }
}

// ---------------------------------------------------------------- live channel

let retry = 1000;
let connectedBefore = false;
function connect(): void {
  const ws = new WebSocket(api('api/vehicles/live').replace(/^http/, 'ws'));
  ws.addEventListener('open', () => {
    retry = 1000;
    $('conn').textContent = w().live;
    $('conn').className = 'ok';
    // Alarms raised while the desk was away: read again with the snapshot (the resync). Fences too, after a break.
    void loadAlarms();
    if (connectedBefore) void fenceEditor?.load();
    connectedBefore = true;
  });
  ws.addEventListener('message', (e) => {
    const m = JSON.parse(String(e.data)) as { type: 'snapshot' | 'changes'; vehicles: Vehicle[]; events?: Array<{ kind: string; repeated?: boolean; alarm?: Alarm } | FenceEvent> };
    if (m.type === 'snapshot') {
      const first = fleet.size === 0;
      fleet.clear();
      for (const v of m.vehicles) fleet.set(v.id, v);
      renderGroups();
      if (first) fitFleet();
    }
    const known = new Set([...$<HTMLSelectElement>('f-group').options].map((o) => o.value));
    for (const v of m.type === 'changes' ? m.vehicles : []) fleet.set(v.id, v);
    // A group the list has not had (a vehicle just registered): the filter offers it.
    if (m.type === 'changes' && m.vehicles.some((v) => v.group && !known.has(v.group))) renderGroups();
    let fresh = false;
    // Fences made, changed or deleted on any desk (any instance): the fences tab and layer follow.
    for (const e of m.events ?? []) if (e.kind === 'fence') fenceEditor?.applyEvent(e as FenceEvent);
    for (const e of m.events ?? [])
      if (e.kind === 'alarm' && 'alarm' in e && e.alarm) {
        const id = Number(e.alarm.id);
        if (!alarms.has(id)) fresh = true;
        alarms.set(id, { ...e.alarm, id });
      }
    if (fresh) beep();
    if (m.events?.some((e) => e.kind === 'alarm')) renderAlarms();
    if (following && selected) {
      const v = fleet.get(selected);
      if (v?.lon != null && v.lat != null && !player) map.easeTo({ center: [v.lon, v.lat] });
    }
    renderAll();
  });
  let opened = false;
  ws.addEventListener('open', () => (opened = true));
  ws.addEventListener('close', async () => {
    // Refused at once: the session may have ended (expired, signed out elsewhere) — then sign in again.
    if (!opened) {
      const r = await call<Session>('GET', 'api/session').catch(() => null);
      if (r?.status === 200 && !r.body.authenticated) {
        $('desk').hidden = true;
        return gate('signIn');
      }
    }
    $('conn').textContent = w().reconnecting;
    $('conn').className = 'down';
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 30_000);
  });
}

// ---------------------------------------------------------------- map

function arrowImage(): ImageData {
  const size = 48;
  const c = document.createElement('canvas');
  c.width = c.height = size;
  const g = c.getContext('2d')!;
  g.beginPath();
  g.moveTo(size / 2, 6);
  g.lineTo(size - 12, size - 10);
  g.lineTo(size / 2, size - 18);
  g.lineTo(12, size - 10);
  g.closePath();
  g.fillStyle = '#ffffff';
  g.strokeStyle = '#1b1b1b';
  g.lineWidth = 3;
  g.fill();
  g.stroke();
  return g.getImageData(0, 0, size, size);
}

function fleetGeoJSON(): GeoJSON.FeatureCollection {
  const features: GeoJSON.Feature[] = [];
  for (const v of fleet.values()) {
    // Filtered out here, not by a layer filter: clusters count only what the list shows.
    if (v.lon === null || v.lat === null || !matches(v) || (player && v.id === selected)) continue;
    const at = shown.get(v.id) ?? [v.lon, v.lat];
    features.push({
      type: 'Feature',
      id: v.id,
      geometry: { type: 'Point', coordinates: at },
      properties: { id: v.id, plate: v.plate ?? v.id, type: v.type, status: v.status, state: stateOf(v), course: v.course ?? 0, moving: (v.speedKmh ?? 0) > 1, selected: v.id === selected },
    });
  }
  return { type: 'FeatureCollection', features };
}

/** Where each marker is drawn now: it glides to a new fix in ANIMATE_MS instead of jumping. */
const shown = new Map<string, [number, number]>();
const ANIMATE_MS = 700;
let animation: { from: Map<string, [number, number]>; started: number } | null = null;

function updateMap(): void {
  if (!map?.getSource('fleet')) return;
  const from = new Map<string, [number, number]>();
  let moved = 0;
  for (const v of fleet.values()) {
    if (v.lon === null || v.lat === null) continue;
    const cur = shown.get(v.id);
    if (cur && (cur[0] !== v.lon || cur[1] !== v.lat)) {
      from.set(v.id, cur);
      moved++;
    }
  }
  // A whole fleet moving at once is drawn where it is (animating thousands of markers would cost more than it shows).
  if (moved === 0 || moved > 300) {
    for (const v of fleet.values()) if (v.lon !== null && v.lat !== null) shown.set(v.id, [v.lon, v.lat]);
    (map.getSource('fleet') as GeoJSONSource).setData(fleetGeoJSON());
    return;
  }
  animation = { from, started: performance.now() };
  requestAnimationFrame(frame);
}

function frame(now: number): void {
  if (!animation) return;
  const u = Math.min(1, (now - animation.started) / ANIMATE_MS);
  const ease = u * (2 - u);
  for (const [id, [x0, y0]] of animation.from) {
    const v = fleet.get(id);
    if (v?.lon == null || v.lat == null) continue;
    shown.set(id, [x0 + (v.lon - x0) * ease, y0 + (v.lat - y0) * ease]);
  }
  if (u >= 1) {
    for (const v of fleet.values()) if (v.lon !== null && v.lat !== null) shown.set(v.id, [v.lon, v.lat]);
    animation = null;
  }
  (map.getSource('fleet') as GeoJSONSource).setData(fleetGeoJSON());
  if (animation) requestAnimationFrame(frame);
}

function fitFleet(): void {
  const placed = [...fleet.values()].filter((v) => v.lon !== null && v.lat !== null);
  if (!map || placed.length === 0) return;
  const b = new maplibre.LngLatBounds();
  for (const v of placed) b.extend([v.lon!, v.lat!]);
  map.fitBounds(b, { padding: 60, maxZoom: 14, duration: 0 });
}

const EMPTY: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

async function baseStyle(): Promise<StyleSpecification> {
  // The platform's own style (every layer this person may see, basemap first); a plain background without it.
  const r = await call<StyleSpecification>('GET', 'styles/default.json').catch(() => null);
  if (r?.status === 200 && r.body.version === 8) return r.body;
  return { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#EEF0F3' } }] };
}

async function createMap(): Promise<void> {
  const style = await baseStyle();
  map = new maplibre.Map({ container: 'map', style, bounds: [118.2, 32.7, 119.6, 34.2], maxZoom: 19, attributionControl: { compact: true }, localIdeographFontFamily: 'sans-serif' });
  map.addControl(new maplibre.NavigationControl({ visualizePitch: false }), 'top-right');
  map.addControl(new maplibre.ScaleControl({ unit: 'metric' }), 'bottom-left');
  (window as unknown as { citybase: unknown }).citybase = { map, desk: { fleet, alarms, get player() { return player; }, get fences() { return fenceEditor; } } };
  await new Promise<void>((resolve) => map.once('load', () => resolve()));
  map.addImage('vdesk-arrow', arrowImage(), { pixelRatio: 2 });
  map.addSource('playback-track', { type: 'geojson', data: EMPTY });
  // Fences under everything the desk draws on them: added first.
  fenceEditor = new FenceEditor(map, call, canManage);
  fenceEditor.install();
  void fenceEditor.load();
  map.addSource('playback-marker', { type: 'geojson', data: EMPTY });
  // Clustered below zoom 12 (traccar-web clusters to 14); a cluster with an alarm in it is red.
  map.addSource('fleet', {
    type: 'geojson',
    data: EMPTY,
    promoteId: 'id',
    cluster: true,
    clusterMaxZoom: 11,
    clusterRadius: 50,
    clusterProperties: { alarms: ['+', ['case', ['==', ['get', 'state'], 'alarm'], 1, 0]] },
  });
  map.addLayer({ id: 'playback-line', type: 'line', source: 'playback-track', filter: ['==', ['get', 'kind'], 'track'], paint: { 'line-color': '#2166ac', 'line-width': 4, 'line-opacity': 0.85 } });
  map.addLayer({ id: 'playback-stops', type: 'circle', source: 'playback-track', filter: ['==', ['get', 'kind'], 'stop'], paint: { 'circle-radius': 7, 'circle-color': '#fdae61', 'circle-stroke-color': '#1b1b1b', 'circle-stroke-width': 1.5 } });
  map.addLayer({ id: 'playback-alarms', type: 'circle', source: 'playback-track', filter: ['==', ['get', 'kind'], 'alarm'], paint: { 'circle-radius': 6, 'circle-color': COLOURS.alarm, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
  map.addLayer({ id: 'playback-car', type: 'circle', source: 'playback-marker', paint: { 'circle-radius': 9, 'circle-color': '#2166ac', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  map.addLayer({ id: 'playback-car-arrow', type: 'symbol', source: 'playback-marker', layout: { 'icon-image': 'vdesk-arrow', 'icon-size': 0.6, 'icon-rotate': ['get', 'course'], 'icon-rotation-alignment': 'map', 'icon-allow-overlap': true } });
  map.addLayer({
    id: 'vdesk-vehicles',
    type: 'circle',
    source: 'fleet',
    filter: ['!', ['has', 'point_count']],
    paint: {
      'circle-radius': ['case', ['get', 'selected'], 11, 8],
      'circle-color': ['match', ['get', 'state'], 'alarm', COLOURS.alarm, 'online', COLOURS.online, 'offline', COLOURS.offline, COLOURS.unknown],
      'circle-stroke-color': ['case', ['get', 'selected'], '#f0a500', '#ffffff'],
      'circle-stroke-width': ['case', ['get', 'selected'], 3, 1.5],
    },
  });
  map.addLayer({ id: 'vdesk-headings', type: 'symbol', source: 'fleet', filter: ['all', ['!', ['has', 'point_count']], ['get', 'moving']], layout: { 'icon-image': 'vdesk-arrow', 'icon-size': 0.45, 'icon-rotate': ['get', 'course'], 'icon-rotation-alignment': 'map', 'icon-allow-overlap': true } });
  map.addLayer({ id: 'vdesk-plates', type: 'symbol', source: 'fleet', minzoom: 12, filter: ['!', ['has', 'point_count']], layout: { 'text-field': ['get', 'plate'], 'text-size': 12, 'text-offset': [0, 1.4], 'text-anchor': 'top', 'text-optional': true }, paint: { 'text-color': '#1b1b1b', 'text-halo-color': '#ffffff', 'text-halo-width': 1.5 } });
  map.addLayer({
    id: 'vdesk-clusters',
    type: 'circle',
    source: 'fleet',
    filter: ['has', 'point_count'],
    paint: {
      'circle-color': ['case', ['>', ['get', 'alarms'], 0], COLOURS.alarm, '#1f5f8b'],
      'circle-radius': ['step', ['get', 'point_count'], 14, 10, 18, 100, 24],
      'circle-stroke-color': '#ffffff',
      'circle-stroke-width': 2,
    },
  });
  map.addLayer({ id: 'vdesk-cluster-count', type: 'symbol', source: 'fleet', filter: ['has', 'point_count'], layout: { 'text-field': ['get', 'point_count_abbreviated'], 'text-size': 12, 'text-allow-overlap': true }, paint: { 'text-color': '#ffffff' } });
  map.on('click', 'vdesk-clusters', async (e) => {
    const f = e.features?.[0];
    if (!f) return;
    const zoom = await (map.getSource('fleet') as GeoJSONSource).getClusterExpansionZoom(f.properties.cluster_id as number);
    map.easeTo({ center: (f.geometry as GeoJSON.Point).coordinates as [number, number], zoom });
  });
  map.on('click', 'vdesk-vehicles', (e) => {
    const id = e.features?.[0]?.properties?.id as string | undefined;
    if (id) select(id, false);
  });
  map.on('click', 'playback-line', (e) => fixAt(e.lngLat));
  map.on('mouseenter', 'vdesk-vehicles', () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', 'vdesk-vehicles', () => (map.getCanvas().style.cursor = ''));
  map.on('dragstart', () => {
    if (following) {
      following = false;
      renderDetail();
    }
  });
  fenceEditor.raise();
  updateMap();
  fitFleet();
}

// ---------------------------------------------------------------- playback

const pad = (n: number) => String(n).padStart(2, '0');
const localInput = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;

function openPlayback(): void {
  if (!selected) return;
  $('player').hidden = false;
  document.body.classList.add('playing');
  const now = new Date();
  if (!$<HTMLInputElement>('from').value) {
    $<HTMLInputElement>('to').value = localInput(new Date(now.getTime() + 60_000));
    $<HTMLInputElement>('from').value = localInput(new Date(now.getTime() - 2 * 3600_000));
  }
  renderWords();
}

function closePlayback(): void {
  $('player').hidden = true;
  document.body.classList.remove('playing');
  player = null;
  (map.getSource('playback-track') as GeoJSONSource).setData(EMPTY);
  (map.getSource('playback-marker') as GeoJSONSource).setData(EMPTY);
  $('track-stats').textContent = '';
  $('segments').replaceChildren();
  (map.getSource('fleet') as GeoJSONSource).setData(fleetGeoJSON());
}

async function loadTrack(): Promise<void> {
  if (!selected) return;
  const t = w();
  const from = new Date($<HTMLInputElement>('from').value);
  const to = new Date($<HTMLInputElement>('to').value);
  $('track-stats').textContent = t.loading;
  const q = new URLSearchParams({ from: Number.isNaN(from.getTime()) ? '' : from.toISOString(), to: Number.isNaN(to.getTime()) ? '' : to.toISOString() });
  const r = await call<GeoJSON.FeatureCollection & { stats: { fixes: number; distanceKm: number; stops: number } }>('GET', `api/vehicles/${encodeURIComponent(selected)}/track?${q}`);
  if (r.status !== 200) {
    $('track-stats').textContent = `${r.status}: ${r.body.message ?? r.body.error}`;
    return;
  }
  const fixes = r.body.features.find((f) => f.properties?.kind === 'fixes');
  const coords = ((fixes?.geometry as GeoJSON.MultiPoint | undefined)?.coordinates ?? []) as Array<[number, number]>;
  (map.getSource('playback-track') as GeoJSONSource).setData({ type: 'FeatureCollection', features: r.body.features.filter((f) => f.geometry && f.properties?.kind !== 'fixes') });
  showSegments(r.body.features);
  for (const f of ['gpx', 'kml', 'csv']) $(`export-${f}`).hidden = true;
  if (coords.length === 0) {
    player = null;
    drawChart();
    $('track-stats').textContent = t.noTrack;
    ($('play') as HTMLButtonElement).disabled = true;
    ($('slider') as HTMLInputElement).disabled = true;
    return;
  }
  const p = fixes!.properties as { times: number[]; speeds: Array<number | null>; courses: Array<number | null> };
  const data: TrackData = { times: p.times, coords, speeds: p.speeds, courses: p.courses };
  player = new Player(data);
  player.rate = Number($<HTMLSelectElement>('rate').value);
  const s = r.body.stats;
  $('track-stats').textContent = `${t.fixes} ${s.fixes} · ${t.distance} ${s.distanceKm.toFixed(2)} ${t.km} · ${t.stops} ${s.stops}`;
  ($('play') as HTMLButtonElement).disabled = false;
  ($('slider') as HTMLInputElement).disabled = false;
  for (const f of ['gpx', 'kml', 'csv']) {
    const a = $<HTMLAnchorElement>(`export-${f}`);
    a.href = api(`api/vehicles/${encodeURIComponent(selected)}/track?${q}&format=${f}`);
    a.hidden = false;
  }
  const b = new maplibre.LngLatBounds();
  for (const c of coords) b.extend(c);
  map.fitBounds(b, { padding: 60, maxZoom: 16, duration: 0 });
  // While its track plays, the vehicle's live marker steps aside for the playback marker.
  (map.getSource('fleet') as GeoJSONSource).setData(fleetGeoJSON());
  drawPlayer();
}

function drawPlayer(): void {
  if (!player) return;
  const s = player.state();
  (map.getSource('playback-marker') as GeoJSONSource).setData({ type: 'Feature', geometry: { type: 'Point', coordinates: [s.lon, s.lat] }, properties: { course: s.course ?? 0 } });
  $<HTMLInputElement>('slider').value = String(Math.round(player.fraction * 1000));
  $('clock').textContent = `${new Date(s.time).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB')} · ${s.speedKmh === null ? '—' : Math.round(s.speedKmh)} ${w().kmh}`;
  $('play').textContent = player.playing ? w().pause : w().play;
  if (following && player.playing) map.setCenter([s.lon, s.lat]);
  drawChart();
}

/** The speed under the map: speed against time over the range, a line at the player's clock (a click seeks). */
function drawChart(): void {
  const c = $<HTMLCanvasElement>('speed-chart');
  const width = c.clientWidth;
  if (c.width !== width * devicePixelRatio) c.width = width * devicePixelRatio;
  c.height = 70 * devicePixelRatio;
  const g = c.getContext('2d')!;
  g.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
  g.clearRect(0, 0, width, 70);
  if (!player) return;
  const { times, speeds } = player.track;
  const span = Math.max(1, player.end - player.start);
  const top = Math.max(10, ...speeds.map((v) => v ?? 0));
  const x = (t: number) => ((t - player!.start) / span) * (width - 2) + 1;
  const y = (v: number) => 66 - (v / top) * 60;
  g.strokeStyle = '#2166ac';
  g.lineWidth = 1.5;
  g.beginPath();
  times.forEach((t, i) => (i ? g.lineTo(x(t), y(speeds[i] ?? 0)) : g.moveTo(x(t), y(speeds[i] ?? 0))));
  g.stroke();
  g.fillStyle = '#555';
  g.font = '11px sans-serif';
  g.fillText(`${Math.round(top)} ${w().kmh}`, 4, 12);
  g.strokeStyle = '#d7301f';
  g.beginPath();
  g.moveTo(x(player.time), 0);
  g.lineTo(x(player.time), 70);
  g.stroke();
}

/** Trips and stops of the playback in time order; a click seeks to the beginning of one. */
function showSegments(features: GeoJSON.Feature[]): void {
  const t = w();
  const time = (iso: string) => new Date(iso).toLocaleTimeString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
  const items = features
    .filter((f) => f.properties?.kind === 'trip' || f.properties?.kind === 'stop')
    .map((f) => f.properties as { kind: 'trip' | 'stop'; start?: string; end?: string; arrive?: string; leave?: string; durationS: number; distanceKm?: number })
    .map((p) => ({ ...p, from: (p.start ?? p.arrive)!, to: (p.end ?? p.leave)! }))
    .sort((a, b) => a.from.localeCompare(b.from));
  $('segments').replaceChildren(
    ...items.map((p) => {
      const li = document.createElement('li');
      li.dataset.kind = p.kind;
      li.tabIndex = 0;
      li.textContent = `${t[p.kind]} ${time(p.from)}–${time(p.to)} · ${Math.round(p.durationS / 60)} ${t.minutes}${p.distanceKm !== undefined ? ` · ${p.distanceKm.toFixed(2)} ${t.km}` : ''}`;
      const seek = () => {
        if (!player) return;
        player.playing = false;
        player.time = Date.parse(p.from);
        drawPlayer();
      };
      li.addEventListener('click', seek);
      li.addEventListener('keydown', (e) => e.key === 'Enter' && seek());
      return li;
    }),
  );
}

/** A click on the drawn track: the nearest fix, shown and made the player's time. */
function fixAt(lngLat: { lng: number; lat: number }): void {
  if (!player) return;
  const { coords, times, speeds } = player.track;
  const k = Math.cos((lngLat.lat * Math.PI) / 180);
  let best = 0;
  let bestD = Infinity;
  coords.forEach(([lon, lat], i) => {
    const d = ((lon - lngLat.lng) * k) ** 2 + (lat - lngLat.lat) ** 2;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  });
  player.playing = false;
  player.time = times[best]!;
  drawPlayer();
  const t = w();
  new maplibre.Popup({ closeButton: true, className: 'fix-popup' })
    .setLngLat(coords[best]!)
    .setText(`${new Date(times[best]!).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB')} · ${speeds[best] === null ? '—' : Math.round(speeds[best]!)} ${t.kmh}`)
    .addTo(map);
}

// ---------------------------------------------------------------- registration (vehicle:manage)

async function registerVehicle(): Promise<void> {
  const v = (id: string) => $<HTMLInputElement>(id).value.trim();
  const body = { plate: v('r-plate'), color: Number(v('r-color')), phone: v('r-phone'), type: v('r-type'), company: v('r-company') || null, district: v('r-district') || null, group: v('r-group') || null };
  const r = await call<{ vehicle: { id: string } }>('POST', 'api/vehicles', body);
  $('register-status').textContent = r.status === 201 ? `${w().registered}: ${r.body.vehicle.id}` : `${r.status}: ${r.body.message ?? r.body.error}`;
  if (r.status === 201) ($('register-form') as HTMLFormElement).reset();
}

async function importCsv(file: File): Promise<void> {
  const r = await call<{ imported: number }>('POST', 'api/vehicles/import', { csv: await file.text() });
  $('register-status').textContent = r.status === 200 ? `${w().imported}: ${r.body.imported}` : `${r.status}: ${r.body.message ?? r.body.error}`;
  $<HTMLInputElement>('r-csv').value = '';
}

// ---------------------------------------------------------------- reports

interface ReportBody {
  days: string[];
  vehicles: Array<{ id: string; plate: string | null; days: Array<{ fixes: number; mileageKm: number; alarms: Record<string, number> }> }>;
  summary: { connectionRate: number | null; onlineRate: number | null; dataQualifiedRate: number | null; overspeedPerOnlineVehicle: number | null; fatigueAlarms: number; mileageKm: number };
}

const cityToday = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);

async function runReport(): Promise<void> {
  const t = w();
  if (!$<HTMLInputElement>('rto').value) $<HTMLInputElement>('rto').value = cityToday();
  if (!$<HTMLInputElement>('rfrom').value) $<HTMLInputElement>('rfrom').value = $<HTMLInputElement>('rto').value;
  const q = new URLSearchParams({ from: $<HTMLInputElement>('rfrom').value, to: $<HTMLInputElement>('rto').value });
  const r = await call<ReportBody>('GET', `api/vehicles/reports/daily?${q}`);
  const tbody = $('report-table').querySelector('tbody')!;
  if (r.status !== 200) {
    $('report-summary').textContent = `${r.status}: ${r.body.message ?? r.body.error}`;
    tbody.replaceChildren();
    return;
  }
  const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
  const s = r.body.summary;
  const facts: Array<[string, string]> = [
    [t.connectionRate, pct(s.connectionRate)],
    [t.onlineRate, pct(s.onlineRate)],
    [t.dataRate, pct(s.dataQualifiedRate)],
    [t.overspeedPer, s.overspeedPerOnlineVehicle === null ? '—' : String(s.overspeedPerOnlineVehicle)],
    [t.fatigueAlarms, String(s.fatigueAlarms)],
    [t.mileageKm, s.mileageKm.toFixed(1)],
  ];
  $('report-summary').replaceChildren(...facts.flatMap(([k, v]) => [Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v })]));
  tbody.replaceChildren(
    ...r.body.vehicles.map((v) => {
      const tr = document.createElement('tr');
      tr.dataset.id = v.id;
      const km = v.days.reduce((a, d) => a + d.mileageKm, 0);
      const fixes = v.days.reduce((a, d) => a + d.fixes, 0);
      const alarmsN = v.days.reduce((a, d) => a + Object.values(d.alarms).reduce((x, y) => x + y, 0), 0);
      for (const text of [v.plate ?? v.id, km.toFixed(2), String(fixes), String(alarmsN)]) tr.append(Object.assign(document.createElement('td'), { textContent: text }));
      return tr;
    }),
  );
  $<HTMLAnchorElement>('report-csv').href = api(`api/vehicles/reports/daily?${q}&format=csv`);
}

let last = 0;
function playFrame(now: number): void {
  if (!player?.playing) return drawPlayer();
  player.tick(last ? now - last : 0);
  last = now;
  drawPlayer();
  requestAnimationFrame(playFrame);
}

function togglePlay(): void {
  if (!player) return;
  if (!player.playing && player.time >= player.end) player.seek(0);
  player.playing = !player.playing;
  last = 0;
  requestAnimationFrame(playFrame);
}

// ---------------------------------------------------------------- start

function wire(): void {
  $('lang').addEventListener('click', () => {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    renderWords();
    renderAlarms();
  });
  $('signout').addEventListener('click', async () => {
    await call('DELETE', 'api/session');
    location.assign(api(`login?next=${encodeURIComponent(location.pathname)}`));
  });
  const tabs = [['tab-fleet', 'fleet-panel'], ['tab-alarms', 'alarm-panel'], ['tab-reports', 'report-panel'], ['tab-fences', 'fence-panel']] as const;
  for (const [tab] of tabs)
    $(tab).addEventListener('click', () => {
      for (const [other, panel] of tabs) {
        $(panel).hidden = other !== tab;
        $(other).setAttribute('aria-selected', String(other === tab));
      }
      if (tab === 'tab-reports' && !$('report-table').querySelector('tbody')!.children.length) void runReport();
    });
  $('register-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void registerVehicle();
  });
  $('r-csv').addEventListener('change', () => {
    const file = $<HTMLInputElement>('r-csv').files?.[0];
    if (file) void importCsv(file);
  });
  $('report-range').addEventListener('submit', (e) => {
    e.preventDefault();
    void runReport();
  });
  $('speed-chart').addEventListener('click', (e) => {
    if (!player) return;
    const c = e.currentTarget as HTMLCanvasElement;
    player.seek((e as MouseEvent).offsetX / c.clientWidth);
    drawPlayer();
  });
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  for (const id of ['q', 'f-type', 'f-group', 'f-status']) $(id).addEventListener('input', () => renderAll());
  $('follow').addEventListener('click', () => {
    following = !following;
    const v = selected ? fleet.get(selected) : undefined;
    if (following && v?.lon != null && v.lat != null) map.easeTo({ center: [v.lon, v.lat], zoom: Math.max(map.getZoom(), 15) });
    renderDetail();
  });
  $('open-playback').addEventListener('click', openPlayback);
  $('exit-playback').addEventListener('click', closePlayback);
  $('range').addEventListener('submit', (e) => {
    e.preventDefault();
    void loadTrack();
  });
  $('play').addEventListener('click', togglePlay);
  $('rate').addEventListener('change', () => player && (player.rate = Number($<HTMLSelectElement>('rate').value)));
  $('slider').addEventListener('input', () => {
    player?.seek(Number($<HTMLInputElement>('slider').value) / 1000);
    drawPlayer();
  });
}

async function start(): Promise<void> {
  renderWordsGate();
  const r = await call<Session>('GET', 'api/session');
  const session = r.status === 200 ? r.body : null;
  if (!session?.authenticated || session.kind !== 'user') return gate('signIn');
  if (!session.rights.includes('vehicle:watch')) return gate('noRight');
  csrf = session.csrfToken ?? '';
  wire();
  canManage = session.rights.includes('vehicle:manage');
  if (canManage) $('register').hidden = false;
  $('who').textContent = session.login ?? '';
  $('signout').hidden = false;
  $('desk').hidden = false;
  renderWords();
  await createMap();
  connect();
}

let gated: 'signIn' | 'noRight' | null = null;
function gate(why: 'signIn' | 'noRight'): void {
  gated = why;
  renderWordsGate();
}
function renderWordsGate(): void {
  const t = w();
  $('title').textContent = t.title;
  $('lang').textContent = t.switchLang;
  const el = $('gate');
  el.hidden = gated === null;
  if (gated === 'signIn') {
    const a = Object.assign(document.createElement('a'), { href: api(`login?next=${encodeURIComponent(location.pathname)}`), textContent: t.signIn });
    el.replaceChildren(`${t.signInNeeded} `, a);
  } else if (gated === 'noRight') el.textContent = t.noRight;
}
$('lang').addEventListener('click', () => {
  if (gated) {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    renderWordsGate();
  }
});
void start();
