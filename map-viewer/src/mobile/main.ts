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

let csrf: string | undefined;
let signedIn = false;
/** A key as a Bearer header; else the session cookie goes along, and a write carries the session's CSRF token. */
const auth = (): Record<string, string> => (key ? { Authorization: `Bearer ${key}` } : csrf ? { 'X-CSRF-Token': csrf } : {});

/** Who is this (GET /api/session): a signed-in person's name and CSRF token; asked again before sending. */
async function session(): Promise<void> {
  const res = await fetch(api('api/session'), { headers: key ? { Authorization: `Bearer ${key}` } : {} }).catch(() => null);
  if (!res?.ok) return;
  const s = (await res.json()) as { kind: string; login?: string; csrfToken?: string };
  csrf = s.csrfToken;
  signedIn = s.kind !== 'anonymous';
  text($('who'), s.kind === 'user' ? `已登录: ${s.login}` : s.kind === 'key' ? '已用 API 密钥' : '未登录');
  $('sign-in-link').hidden = s.kind === 'user';
}
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

/**
 * Send every waiting report; a network failure keeps it for later, a refusal keeps it with the reason. A call
 * while a send is under way (the network came back while it was still failing) runs another send after it, and a
 * send that failed while the phone says it is online is tried again, later and later (2 s doubling to 60 s).
 */
let flushAgain = false;
let retryMs = 2_000;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
function flush(): Promise<void> {
  if (flushing) {
    flushAgain = true;
    return flushing;
  }
  clearTimeout(retryTimer);
  let failed = false;
  flushing = (async () => {
    try {
      for (const p of await all()) {
        const form = new FormData();
        form.set('client_id', p.clientId);
        for (const [k, v] of Object.entries(p.fields)) form.set(k, v);
        for (const ph of p.photos) form.append('photo', ph.blob, ph.name);
        let res: Response;
        try {
          if (!key && !csrf) await session(); // a session's CSRF token, read when the network is there
          res = await fetch(api('api/cases'), { method: 'POST', headers: auth(), body: form });
        } catch {
          failed = true;
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
      if (flushAgain) {
        flushAgain = false;
        void flush();
      } else if (failed && navigator.onLine) {
        retryTimer = setTimeout(() => void flush(), retryMs);
        retryMs = Math.min(retryMs * 2, 60_000);
      } else if (!failed) retryMs = 2_000;
    }
  })();
  return flushing;
}

async function refreshLists() {
  if (!(key || signedIn) || !navigator.onLine) return;
  const near = lastPosition ? `&near=${lastPosition.lon},${lastPosition.lat}` : '';
  for (const [id, query] of [['tasks', `queue=tasks${near}`], ['mine', 'queue=reports&limit=50']] as const) {
    const res = await fetch(api(`api/cases?${query}`), { headers: auth() }).catch(() => null);
    if (!res?.ok) continue;
    const { cases } = (await res.json()) as { cases: TaskCase[] };
    $(id).replaceChildren();
    for (const c of cases) {
      item($(id), `${c.code} · ${c.category_name} · ${c.state_name}${c.overdue ? ' · 超期' : ''}`, { code: c.code, state: c.state });
      if (id === 'tasks') taskControls($(id).lastElementChild as HTMLElement, c);
    }
  }
}

interface TaskCase { code: string; category_name: string; state: string; state_name: string; lon: number; lat: number; overdue: boolean; version: number; address: string }
/** What an inspector does with a task: 核实 answers a 核实 order; 核查 passes (结案) or fails (返工, with a reason). */
const TASK_ACTIONS: Record<string, Array<{ action: string; label: string; reason?: boolean }>> = {
  verifying: [{ action: 'verify', label: '核实反馈' }],
  checking: [
    { action: 'check_pass', label: '核查通过·结案' },
    { action: 'check_fail', label: '核查不通过·返工', reason: true },
  ],
};

/** A task's place (opens the phone's map app: geo: URI, nothing fetched), a photo, a note, and its actions. */
function taskControls(li: HTMLElement, c: TaskCase) {
  const nav = Object.assign(document.createElement('a'), { href: `geo:${c.lat},${c.lon}?q=${c.lat},${c.lon}`, textContent: '导航' });
  const photo = Object.assign(document.createElement('input'), { type: 'file', accept: 'image/jpeg,image/png,image/webp', capture: 'environment', multiple: true });
  photo.setAttribute('aria-label', `${c.code} 照片`);
  photo.className = 'task-photo';
  const note = Object.assign(document.createElement('input'), { placeholder: '说明/原因', className: 'task-note' });
  note.setAttribute('aria-label', `${c.code} 说明`);
  const status = Object.assign(document.createElement('p'), { className: 'task-status' });
  status.setAttribute('role', 'status');
  const buttons = (TASK_ACTIONS[c.state] ?? []).map((a) => {
    const b = Object.assign(document.createElement('button'), { type: 'button', textContent: a.label });
    b.dataset.action = a.action;
    b.addEventListener('click', async () => {
      const form = new FormData();
      form.set('action', a.action);
      form.set('version', String(c.version));
      const text = note.value.trim();
      if (text) form.set(a.reason ? 'reason' : 'note', text);
      for (const f of photo.files ?? []) form.append('photo', f, f.name);
      const res = await fetch(api(`api/cases/${c.code}/transitions`), { method: 'POST', headers: auth(), body: form }).catch(() => null);
      if (!res) return void (status.textContent = '离线: 请联网后再提交');
      const body = (await res.json().catch(() => ({}))) as { state?: string; message?: string };
      status.textContent = res.ok ? `${a.label}: ${body.state}` : `${res.status}: ${body.message ?? ''}`;
      if (res.ok) void refreshLists();
    });
    return b;
  });
  const box = document.createElement('div');
  box.className = 'task';
  box.append(nav, photo, note, ...buttons, status);
  li.append(box);
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
// The key must not stay in the address bar (history, a shared screenshot or link): kept on the phone instead.
if (new URLSearchParams(location.search).has('key')) history.replaceState(null, '', location.pathname + location.hash);

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

$('refresh').addEventListener('click', () => void refreshLists());
document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && void refreshLists());

window.addEventListener('online', () => {
  updateNet();
  void flush();
});
window.addEventListener('offline', updateNet);
updateNet();
void loadCategories();
void session().then(() => showOutbox().then(() => flush()));
// The page opens without a network once it has been opened with one (public/m/sw.js keeps it).
if ('serviceWorker' in navigator) void navigator.serviceWorker.register('sw.js').catch(() => {});
