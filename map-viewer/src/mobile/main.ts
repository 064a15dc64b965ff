import './mobile.css';
import { all, put, remove, type PendingReport } from './outbox.ts';

/**
 * The inspector's phone page (/m/): 上报 with GPS, category search, camera photos and a description; reports go
 * to an outbox in IndexedDB first and are sent when the network is there, exactly once (client_id); "my tasks"
 * (核实/核查 orders, nearest first) and "my reports" with their states. Plain DOM, no map library: it must load
 * fast on the city's phones.
 */
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const KEY = 'citybase.key';
let key = new URLSearchParams(location.search).get('key') ?? localStorage.getItem(KEY) ?? '';
let lastPosition: { lon: number; lat: number } | null = null;
let flushing: Promise<void> | null = null;

const auth = (): HeadersInit => (key ? { Authorization: `Bearer ${key}` } : {});
const api = (path: string) => new URL(`../${path}`, location.href).toString();

function text(el: HTMLElement, s: string) {
  el.textContent = s;
}
function item(list: HTMLElement, s: string, data: Record<string, string> = {}) {
  const li = document.createElement('li');
  li.textContent = s;
  for (const [k, v] of Object.entries(data)) li.dataset[k] = v;
  list.append(li);
}

async function loadCategories() {
  const res = await fetch(api('api/cases/categories'));
  const cats = (await res.json()) as Array<{ code: string; kind: string; major_name: string; name: string }>;
  const select = $<HTMLSelectElement>('category');
  const render = (q: string) => {
    select.replaceChildren(
      ...cats
        .filter((c) => !q || c.name.includes(q) || c.major_name.includes(q) || c.code.includes(q.toUpperCase()))
        .map((c) => new Option(`${c.kind} · ${c.major_name} · ${c.name}`, c.code)),
    );
  };
  render('');
  $<HTMLInputElement>('category-search').addEventListener('input', (e) => render((e.target as HTMLInputElement).value.trim()));
}

async function showOutbox() {
  const pending = await all();
  text($('pending'), String(pending.length));
  $('outbox').replaceChildren();
  for (const p of pending) item($('outbox'), `${new Date(p.createdAt).toLocaleTimeString()} ${p.fields.category} · ${p.photos.length} 张照片${p.error ? ` · ${p.error}` : ' · 等待网络'}`, { clientId: p.clientId });
}

/** Send every waiting report; a network failure keeps it for later, a refusal keeps it with the reason. */
function flush(): Promise<void> {
  flushing ??= (async () => {
    try {
      for (const p of await all()) {
        const form = new FormData();
        form.set('client_id', p.clientId);
        for (const [k, v] of Object.entries(p.fields)) form.set(k, v);
        for (const ph of p.photos) form.append('photo', ph.blob, ph.name);
        let res: Response;
        try {
          res = await fetch(api('api/cases'), { method: 'POST', headers: auth(), body: form });
        } catch {
          return; // offline: try again when the network returns
        }
        if (res.status === 200 || res.status === 201) {
          const body = (await res.json()) as { code: string; duplicates: unknown[] };
          await remove(p.clientId);
          text($('report-status'), `已上报 ${body.code}${body.duplicates.length ? ` (附近有 ${body.duplicates.length} 件同类案件)` : ''}`);
        } else {
          const body = (await res.json().catch(() => ({}))) as { message?: string };
          await put({ ...p, error: body.message ?? `HTTP ${res.status}` });
        }
      }
    } finally {
      flushing = null;
      await showOutbox();
      void refreshLists();
    }
  })();
  return flushing;
}

async function refreshLists() {
  if (!key || !navigator.onLine) return;
  const near = lastPosition ? `&near=${lastPosition.lon},${lastPosition.lat}` : '';
  for (const [id, query] of [['tasks', `queue=tasks${near}`], ['mine', 'queue=reports&limit=50']] as const) {
    const res = await fetch(api(`api/cases?${query}`), { headers: auth() }).catch(() => null);
    if (!res?.ok) continue;
    const { cases } = (await res.json()) as { cases: Array<{ code: string; category_name: string; state_name: string; lon: number; lat: number; overdue: boolean }> };
    $(id).replaceChildren();
    for (const c of cases) item($(id), `${c.code} · ${c.category_name} · ${c.state_name}${c.overdue ? ' · 超期' : ''}`, { code: c.code });
  }
}

function updateNet() {
  text($('net'), navigator.onLine ? '在线' : '离线: 上报将在联网后发送');
}

$<HTMLInputElement>('key').value = key;
$('save-key').addEventListener('click', () => {
  key = $<HTMLInputElement>('key').value.trim();
  localStorage.setItem(KEY, key);
  void refreshLists();
});
if (key) localStorage.setItem(KEY, key);

$('gps').addEventListener('click', () => {
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      lastPosition = { lon: pos.coords.longitude, lat: pos.coords.latitude };
      $<HTMLInputElement>('lon').value = lastPosition.lon.toFixed(6);
      $<HTMLInputElement>('lat').value = lastPosition.lat.toFixed(6);
    },
    (err) => text($('report-status'), `无法定位: ${err.message}`),
    { enableHighAccuracy: true, timeout: 15_000 },
  );
});

$<HTMLFormElement>('report').addEventListener('submit', async (e) => {
  e.preventDefault();
  const fields: Record<string, string> = { category: $<HTMLSelectElement>('category').value, urgency: $<HTMLSelectElement>('urgency').value };
  const lon = $<HTMLInputElement>('lon').value.trim();
  const lat = $<HTMLInputElement>('lat').value.trim();
  if (lon && lat) Object.assign(fields, { lon, lat });
  const description = $<HTMLTextAreaElement>('description').value.trim();
  if (description) fields.description = description;
  const files = [...($<HTMLInputElement>('photos').files ?? [])];
  const report: PendingReport = { clientId: crypto.randomUUID(), fields, photos: files.map((f) => ({ name: f.name, blob: f })), createdAt: Date.now() };
  await put(report);
  $<HTMLFormElement>('report').reset();
  text($('report-status'), navigator.onLine ? '正在发送…' : '已保存, 联网后自动发送');
  await showOutbox();
  void flush();
});

window.addEventListener('online', () => {
  updateNet();
  void flush();
});
window.addEventListener('offline', updateNet);
updateNet();
void loadCategories();
void showOutbox().then(() => flush());
