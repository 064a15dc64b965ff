import './desk.css';
import { setUpEvaluation } from './evaluation.ts';
import { setUpHotline } from './hotline.ts';
import { DeskMap, type QueueCase } from './map.ts';
import { api, auth, currentKey, getJson, postForm, postJson, saveKey, whoAmI, type Me } from './net.ts';

/**
 * The centre's desk (/cases/): the queue with filters and the 超期/临期 clock beside a map of the same cases, the
 * case sheet with its photos and timeline and the actions the workflow table allows from the case's state (the
 * server decides who may), bulk dispatch of the checked cases, and the 12345 intake form for the hotline.
 *
 * The queue refreshes itself by polling with If-None-Match every POLL_MS: the server's ETag is a fingerprint
 * of the cases in the asker's scope that includes the 临期/超期 counts, so a poll also sees a deadline pass
 * (which no write, and so no change notification, would report), costs one aggregate query and a 304 when
 * nothing changed, and needs no long-lived connection per desk through the proxies of the 政务外网.
 */
const POLL_MS = 5_000;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface Transition { action: string; name_zh: string; from: string[]; needs_reason: boolean }
interface CaseRow extends QueueCase { id: string; category_name: string; district_code: string; state_name: string; due_at: string | null; version: number }
let transitions: Transition[] = [];
let current: string | null = null;
let rows: CaseRow[] = [];
const checked = new Set<string>();
let etag: string | null = null;
let listQuery = '';
let me: Me;
let deskMap: DeskMap | null = null;

function cell(tr: HTMLElement, s: string) {
  const td = document.createElement('td');
  td.textContent = s;
  tr.append(td);
}

function query(): string {
  const q = new URLSearchParams({ limit: '200' });
  const state = $<HTMLSelectElement>('f-state').value;
  if (state) q.set('state', state);
  const source = $<HTMLSelectElement>('f-source').value;
  if (source) q.set('source', source);
  if ($<HTMLInputElement>('f-district').value) q.set('district', $<HTMLInputElement>('f-district').value.trim());
  if ($<HTMLInputElement>('f-category').value) q.set('category', $<HTMLInputElement>('f-category').value.trim().toUpperCase());
  if ($<HTMLInputElement>('f-overdue').checked) q.set('overdue', 'true');
  if ($<HTMLInputElement>('f-mine').checked) q.set('queue', 'mine');
  return q.toString();
}

/** Read the queue; with `poll`, only if it changed since the last read (304 otherwise). */
/**
 * Tickets of the last list and sheet reads started: an answer that arrives after a newer read began (a poll that
 * left before an action's own refresh) is dropped, never drawn over the newer one.
 */
let listTicket = 0;
let sheetTicket = 0;

async function loadList(poll = false): Promise<void> {
  // A poll reads what the desk last asked for, not filters being typed and not yet applied.
  const q = poll && etag !== null ? listQuery : query();
  const headers: Record<string, string> = { ...auth() };
  if (poll && etag && q === listQuery) headers['If-None-Match'] = etag;
  const ticket = ++listTicket;
  const res = await fetch(api(`api/cases?${q}`), { headers, credentials: 'same-origin', cache: 'no-store' });
  if (ticket !== listTicket) return;
  $('refreshed').textContent = `${new Date().toLocaleTimeString('zh-CN')} ${res.status === 304 ? '无变化' : '已更新'}`;
  if (res.status === 304) return;
  const body = (await res.json()) as { cases?: CaseRow[]; message?: string };
  if (ticket !== listTicket) return;
  if (!res.ok) {
    $('refreshed').textContent = `${res.status}: ${body.message ?? ''}`;
    return;
  }
  etag = res.headers.get('ETag');
  listQuery = q;
  rows = body.cases ?? [];
  for (const code of [...checked]) if (!rows.some((r) => r.code === code)) checked.delete(code);
  renderList();
  // An open sheet follows its case (another desk may have moved it on).
  if (poll && current && rows.some((r) => r.code === current)) await showSheet(current);
}

function renderList() {
  const tbody = $('list').querySelector('tbody')!;
  tbody.replaceChildren();
  for (const c of rows) {
    const tr = document.createElement('tr');
    tr.tabIndex = 0;
    tr.dataset.code = c.code;
    tr.dataset.state = c.state;
    tr.className = [c.overdue ? 'overdue' : c.warning ? 'warning' : '', c.code === current ? 'current' : ''].join(' ').trim();
    const box = Object.assign(document.createElement('input'), { type: 'checkbox', checked: checked.has(c.code), value: c.code });
    box.setAttribute('aria-label', `选择 ${c.code}`);
    box.addEventListener('click', (e) => e.stopPropagation());
    box.addEventListener('change', () => {
      if (box.checked) checked.add(c.code);
      else checked.delete(c.code);
      showChecked();
    });
    const td = document.createElement('td');
    td.append(box);
    tr.append(td);
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
  showChecked();
}

function showChecked() {
  $('selected-count').textContent = `已选 ${checked.size} 件`;
  $<HTMLInputElement>('select-all').checked = rows.length > 0 && rows.every((r) => checked.has(r.code));
  void deskMap?.showQueue(rows, checked);
}

async function showSheet(code: string) {
  current = code;
  const ticket = ++sheetTicket;
  for (const tr of $('list').querySelectorAll<HTMLElement>('tbody tr')) tr.classList.toggle('current', tr.dataset.code === code);
  const r = await getJson<CaseRow & Record<string, unknown> & { timeline: Array<Record<string, string>>; photos: Array<{ thumb: string; phase: string }>; contact_masked: { name?: string; phone?: string } | null }>(
    `api/cases/${code}`,
  );
  if (r.status !== 200 || current !== code || ticket !== sheetTicket) return;
  const c = r.body;
  $('sheet').hidden = false;
  $('sheet').dataset.code = c.code;
  $('sheet').dataset.state = c.state;
  $('sheet-title').textContent = `${c.code} · ${c.category_name} · ${c.state_name}`;
  const caller = c.contact_masked ? [c.contact_masked.name, c.contact_masked.phone].filter(Boolean).join(' ') : '';
  const facts: Array<[string, unknown]> = [
    ['来源', c.source], ['地址', c.address], ['区县/街道', `${c.district_code} / ${c.street_code}`], ['单元网格', c.grid_code],
    ['派遣部门', c.department_id ?? c.routed_department], ['描述', c.description], ['时限', c.due_at ?? '—'], ['返工', c.rework_count],
    ...(caller ? [['来电人', caller] as [string, unknown]] : []),
  ];
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
  void deskMap?.select({ code: c.code, lon: c.lon, lat: c.lat });
}

async function act(t: Transition, version: number) {
  if (!current) return;
  const reason = $<HTMLInputElement>('reason').value.trim();
  const note = $<HTMLInputElement>('note').value.trim();
  const files = [...($<HTMLInputElement>('act-photos').files ?? [])];
  const payload = { action: t.action, version, ...(reason ? { reason } : {}), ...(note ? { note } : {}) };
  // With photos (处置完成's after-photos) the same members go as multipart fields beside them.
  const r = files.length ? await postForm<{ state?: string }>(`api/cases/${current}/transitions`, payload, files) : await postJson<{ state?: string }>(`api/cases/${current}/transitions`, payload);
  $<HTMLInputElement>('reason').value = '';
  if (r.ok) {
    $<HTMLInputElement>('note').value = '';
    $<HTMLInputElement>('act-photos').value = '';
  }
  // The sheet (and its buttons for the new state) first, then the word: a click after the word acts on the new state.
  await Promise.all([showSheet(current), loadList()]);
  $('action-status').textContent = r.ok ? `${t.name_zh}: ${r.body.state}` : `${r.status}: ${r.body.message}`;
}

interface BulkResult { case: string; ok: boolean; state?: string; status?: number; error?: string; message?: string }
async function dispatchChecked() {
  const list = $('bulk-results');
  if (!checked.size) {
    list.replaceChildren(Object.assign(document.createElement('li'), { textContent: '请先勾选案件' }));
    return;
  }
  const department = $<HTMLSelectElement>('bulk-department').value;
  const reason = $<HTMLInputElement>('bulk-reason').value.trim();
  const r = await postJson<{ dispatched: number; refused: number; results: BulkResult[] }>('api/cases/dispatch', {
    cases: [...checked],
    ...(department ? { department } : {}),
    ...(reason ? { reason } : {}),
  });
  if (!r.ok) {
    list.replaceChildren(Object.assign(document.createElement('li'), { textContent: `${r.status}: ${r.body.message ?? ''}` }));
    return;
  }
  list.replaceChildren(
    ...r.body.results.map((x) => {
      const li = document.createElement('li');
      li.dataset.code = x.case;
      li.dataset.ok = String(x.ok);
      li.className = x.ok ? 'ok' : 'refused';
      li.textContent = x.ok ? `${x.case}: 已派遣 (${x.state})` : `${x.case}: 未派遣 ${x.status} ${x.message ?? x.error ?? ''}`;
      return li;
    }),
  );
  for (const x of r.body.results) if (x.ok) checked.delete(x.case);
  await loadList();
  if (current) await showSheet(current);
}

async function init() {
  $<HTMLInputElement>('key').value = currentKey();
  $('save-key').addEventListener('click', () => {
    saveKey($<HTMLInputElement>('key').value.trim());
    location.reload();
  });
  me = await whoAmI();
  $('who').textContent = me.kind === 'anonymous' ? '未登录' : `${me.login ?? me.department ?? ''}${me.scopes.length ? ` · ${me.scopes.join(',')}` : ''}`;
  if (me.kind === 'user') $('signin').hidden = true;
  $('sign-in-link').hidden = me.kind !== 'anonymous';
  const [wf, cats, deps] = await Promise.all([
    getJson<{ states: Array<{ code: string; name_zh: string }>; transitions: Transition[] }>('api/cases/workflow'),
    getJson<Array<{ code: string; kind: string; major_name: string; name: string }>>('api/cases/categories'),
    getJson<{ departments?: Array<{ id: string; name_zh: string }> }>('api/cases/departments'),
  ]);
  transitions = wf.body.transitions;
  $('f-state').append(...wf.body.states.map((s) => new Option(s.name_zh, s.code)));
  $('f-source').append(...['监督员上报', '12345热线', '公众/Open311', '视频', '领导交办'].map((s) => new Option(s, s)));
  $('bulk-department').append(...(deps.body.departments ?? []).map((d) => new Option(`${d.name_zh} (${d.id})`, d.id)));
  $('bulk').hidden = !me.rights.includes('case:dispatch');
  $<HTMLFormElement>('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    void loadList();
  });
  $<HTMLFormElement>('bulk').addEventListener('submit', (e) => {
    e.preventDefault();
    void dispatchChecked();
  });
  $<HTMLInputElement>('select-all').addEventListener('change', (e) => {
    const on = (e.target as HTMLInputElement).checked;
    for (const r of rows) on ? checked.add(r.code) : checked.delete(r.code);
    renderList();
  });
  const downloadCsv = async (query: string) => {
    const res = await fetch(api(`api/cases/evaluation?format=csv&${query}`), { headers: auth(), credentials: 'same-origin' });
    const url = URL.createObjectURL(await res.blob());
    Object.assign(document.createElement('a'), { href: url, download: 'evaluation.csv' }).click();
  };
  $('csv').addEventListener('click', (e) => {
    e.preventDefault();
    void downloadCsv('by=department');
  });
  $('ev-csv').addEventListener('click', (e) => {
    e.preventDefault();
    void downloadCsv($('ev-csv').dataset.query ?? 'by=department');
  });
  if (me.rights.includes('case:evaluate')) {
    $('open-evaluation').hidden = false;
    setUpEvaluation();
  }
  deskMap = await DeskMap.create('map', (code) => void showSheet(code));
  Object.assign(window, { citybaseDesk: { map: deskMap.map } });
  if (me.rights.includes('case:hotline')) {
    $('open-hotline').hidden = false;
    setUpHotline(deskMap, cats.body, (code) => void loadList().then(() => showSheet(code)));
  }
  await loadList();
  const poll = async () => {
    await loadList(true).catch(() => {});
    setTimeout(() => void poll(), POLL_MS);
  };
  setTimeout(() => void poll(), POLL_MS);
}
void init();
