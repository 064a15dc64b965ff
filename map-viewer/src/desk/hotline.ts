import type { DeskMap } from './map.ts';
import { getJson, postJson } from './net.ts';

/**
 * 12345 来电登记: the operator types the address the caller gives, the platform's geocoder (GET /api/geocode) lists
 * the places it matches with the match shown (exact, prefix, contained, fuzzy) and where they lie; choosing one
 * puts a marker on the map, which the operator drags (or clicks the map) to the exact spot the caller means.
 * The registration carries the caller's phone for the call-back; the server keeps it out of every public answer.
 */
interface Place {
  kind: string;
  kindLabel: { zh: string; en: string };
  name: string;
  match: { property: string; text: string; quality: 'exact' | 'prefix' | 'contains' | 'fuzzy' };
  context: Partial<Record<'community' | 'street' | 'district', { code: string; name: string }>>;
  point: [number, number];
}
const QUALITY = { exact: '完全匹配', prefix: '前缀匹配', contains: '包含', fuzzy: '模糊匹配' } as const;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export function setUpHotline(map: DeskMap, categories: Array<{ code: string; kind: string; major_name: string; name: string }>, registered: (code: string) => void): void {
  let point: [number, number] | null = null;
  const setPoint = (p: [number, number], how: string) => {
    point = p;
    $('point').textContent = `位置: ${p[0].toFixed(6)}, ${p[1].toFixed(6)} (${how})`;
    $('point').dataset.lon = String(p[0]);
    $('point').dataset.lat = String(p[1]);
  };
  const mark = (p: [number, number], how: string) => {
    setPoint(p, how);
    void map.placeMarker(p, (moved) => setPoint(moved, '已拖动标记确认'));
  };

  const select = $<HTMLSelectElement>('h-category');
  const render = (q: string) =>
    select.replaceChildren(
      ...categories
        .filter((c) => !q || c.name.includes(q) || c.major_name.includes(q) || c.code.includes(q.toUpperCase()))
        .map((c) => new Option(`${c.kind} · ${c.major_name} · ${c.name}`, c.code)),
    );
  render('');
  $<HTMLInputElement>('h-category-search').addEventListener('input', (e) => render((e.target as HTMLInputElement).value.trim()));

  $('open-hotline').addEventListener('click', () => {
    $('hotline').hidden = !$('hotline').hidden;
    map.onEmptyClick = $('hotline').hidden ? null : (p) => mark(p, '地图点选');
    if ($('hotline').hidden) map.clearMarker();
  });

  $('find-address').addEventListener('click', async () => {
    const q = $<HTMLInputElement>('address').value.trim();
    if (!q) return;
    const r = await getJson<{ results?: Place[]; message?: string }>(`api/geocode?${new URLSearchParams({ q, limit: '8' })}`);
    const list = $('places');
    list.replaceChildren();
    if (r.status !== 200) {
      list.append(Object.assign(document.createElement('li'), { textContent: `${r.status}: ${r.body.message ?? ''}` }));
      return;
    }
    if (!r.body.results?.length) list.append(Object.assign(document.createElement('li'), { textContent: '未找到: 请在地图上点选位置' }));
    for (const p of r.body.results ?? []) {
      const where = [p.context.district?.name, p.context.street?.name, p.context.community?.name].filter(Boolean).join(' ');
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = `${p.name} · ${p.kindLabel.zh} · ${where} · ${QUALITY[p.match.quality]}`;
      b.dataset.quality = p.match.quality;
      b.addEventListener('click', () => mark(p.point, `${p.name}, ${QUALITY[p.match.quality]}; 可拖动标记`));
      const li = document.createElement('li');
      li.append(b);
      list.append(li);
    }
  });

  $<HTMLFormElement>('hotline-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const status = $('hotline-status');
    if (!point) {
      status.textContent = '请先确认位置 (查找地址或在地图上点选)';
      return;
    }
    const name = $<HTMLInputElement>('caller-name').value.trim();
    const r = await postJson<{ code: string }>('api/cases', {
      category: select.value,
      lon: point[0],
      lat: point[1],
      source: '12345热线',
      address: $<HTMLInputElement>('address').value.trim(),
      description: $<HTMLTextAreaElement>('h-description').value.trim(),
      urgency: $<HTMLSelectElement>('h-urgency').value,
      contact: { phone: $<HTMLInputElement>('caller-phone').value.trim(), ...(name ? { name } : {}) },
    });
    if (!r.ok) {
      status.textContent = `${r.status}: ${r.body.message ?? r.body.error ?? ''}`;
      return;
    }
    status.textContent = `已登记 ${r.body.code}`;
    status.dataset.code = r.body.code;
    $<HTMLFormElement>('hotline-form').reset();
    $('places').replaceChildren();
    point = null;
    $('point').textContent = '位置: 未确认';
    map.clearMarker();
    registered(r.body.code);
  });
}
