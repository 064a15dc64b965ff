import './desk.css';

/**
 * The centre's desk (/cases/): the case list with filters and the 超期/临期 clock, the case sheet with its photos
 * and timeline, and the actions the workflow table allows from the case's state (the server decides who may).
 */
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const KEY = 'citybase.key';
let key = new URLSearchParams(location.search).get('key') ?? localStorage.getItem(KEY) ?? '';
const api = (p: string) => new URL(`../${p}`, location.href).toString();
const auth = (): HeadersInit => (key ? { Authorization: `Bearer ${key}` } : {});

interface Transition { action: string; name_zh: string; from: string[]; needs_reason: boolean }
interface CaseRow { id: string; code: string; category_name: string; district_code: string; state: string; state_name: string; due_at: string | null; overdue: boolean; warning: boolean; version: number }
let transitions: Transition[] = [];
let current: string | null = null;

function cell(tr: HTMLElement, s: string) {
  const td = document.createElement('td');
  td.textContent = s;
  tr.append(td);
}

async function loadList() {
  const q = new URLSearchParams({ limit: '200' });
  const state = $<HTMLSelectElement>('f-state').value;
  if (state) q.set('state', state);
  if ($<HTMLInputElement>('f-district').value) q.set('district', $<HTMLInputElement>('f-district').value.trim());
  if ($<HTMLInputElement>('f-category').value) q.set('category', $<HTMLInputElement>('f-category').value.trim().toUpperCase());
  if ($<HTMLInputElement>('f-overdue').checked) q.set('overdue', 'true');
  if ($<HTMLInputElement>('f-mine').checked) q.set('queue', 'mine');
  const res = await fetch(api(`api/cases?${q}`), { headers: auth() });
  const body = (await res.json()) as { cases?: CaseRow[]; message?: string };
  const tbody = $('list').querySelector('tbody')!;
  tbody.replaceChildren();
  for (const c of body.cases ?? []) {
    const tr = document.createElement('tr');
    tr.tabIndex = 0;
    tr.dataset.code = c.code;
    tr.className = c.overdue ? 'overdue' : c.warning ? 'warning' : '';
    cell(tr, c.code);
    cell(tr, c.category_name);
    cell(tr, c.district_code);
    cell(tr, c.state_name);
    cell(tr, c.due_at ? `${new Date(c.due_at).toLocaleString('zh-CN')}${c.overdue ? ' 超期' : c.warning ? ' 临期' : ''}` : '');
    const open = () => void showSheet(c.code);
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => e.key === 'Enter' && open());
    tbody.append(tr);
  }
}

async function showSheet(code: string) {
  current = code;
  const res = await fetch(api(`api/cases/${code}`), { headers: auth() });
  if (!res.ok) return;
  const c = (await res.json()) as CaseRow & Record<string, unknown> & { timeline: Array<Record<string, string>>; photos: Array<{ thumb: string; phase: string }> };
  $('sheet').hidden = false;
  $('sheet-title').textContent = `${c.code} · ${c.category_name} · ${c.state_name}`;
  const facts: Array<[string, unknown]> = [['地址', c.address], ['区县/街道', `${c.district_code} / ${c.street_code}`], ['单元网格', c.grid_code], ['派遣部门', c.department_id ?? c.routed_department], ['描述', c.description], ['时限', c.due_at ?? '—'], ['返工', c.rework_count]];
  $('facts').replaceChildren(...facts.flatMap(([k, v]) => [Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: String(v ?? '') })]));
  $('actions').replaceChildren(
    ...transitions.filter((t) => t.from.includes(c.state)).map((t) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = t.name_zh;
      b.dataset.action = t.action;
      b.addEventListener('click', () => void act(t, c.version));
      return b;
    }),
  );
  $('photos').replaceChildren(...c.photos.map((p) => Object.assign(document.createElement('img'), { src: api(p.thumb.slice(1)), alt: p.phase })));
  $('timeline').replaceChildren(...c.timeline.map((e) => Object.assign(document.createElement('li'), { textContent: `${new Date(e.at!).toLocaleString('zh-CN')} ${e.action} ${e.from_state ?? ''}→${e.to_state ?? ''} ${e.actor} ${e.reason ?? ''} ${e.note ?? ''}` })));
}

async function act(t: Transition, version: number) {
  if (!current) return;
  const reason = $<HTMLInputElement>('reason').value.trim();
  const res = await fetch(api(`api/cases/${current}/transitions`), {
    method: 'POST',
    headers: { ...auth(), 'Content-Type': 'application/json' },
    body: JSON.stringify({ action: t.action, version, ...(reason ? { reason } : {}) }),
  });
  const body = (await res.json()) as { state?: string; message?: string };
  $<HTMLInputElement>('reason').value = '';
  // The sheet (and its buttons for the new state) first, then the word: a click after the word acts on the new state.
  await Promise.all([showSheet(current), loadList()]);
  $('action-status').textContent = res.ok ? `${t.name_zh}: ${body.state}` : `${res.status}: ${body.message}`;
}

async function init() {
  $<HTMLInputElement>('key').value = key;
  $('save-key').addEventListener('click', () => {
    key = $<HTMLInputElement>('key').value.trim();
    localStorage.setItem(KEY, key);
    void loadList();
  });
  const wf = (await (await fetch(api('api/cases/workflow'))).json()) as { states: Array<{ code: string; name_zh: string }>; transitions: Transition[] };
  transitions = wf.transitions;
  $('f-state').append(...wf.states.map((s) => new Option(s.name_zh, s.code)));
  $<HTMLFormElement>('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    void loadList();
  });
  $('csv').addEventListener('click', async (e) => {
    e.preventDefault();
    const res = await fetch(api('api/cases/evaluation?format=csv&by=department'), { headers: auth() });
    const url = URL.createObjectURL(await res.blob());
    Object.assign(document.createElement('a'), { href: url, download: 'evaluation.csv' }).click();
  });
  await loadList();
  // New cases appear without a reload: the list is re-read every 15 s (a pushed channel is still to come).
  setInterval(() => void loadList(), 15_000);
}
void init();
