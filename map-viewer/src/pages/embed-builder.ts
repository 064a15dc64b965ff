import { h, fill } from '../ui/dom.ts';
import { call } from '../session.ts';
import { savedWidgets, widgetWords, type SavedWidget } from './embed-widgets.ts';

/**
 * The admin page's 地图嵌入 tab (embed:manage): the department's embed keys (create, list, revoke) and the widget
 * builder: pick the layers, the view, the controls, the language and the size, see the widget live, copy the
 * iframe or the <citybase-map> snippet. The preview is the real widget page, framed by this page (the platform's
 * own origin, which every key allows).
 */
const en = document.documentElement.lang === 'en';
const t = en
  ? {
      keys: 'Embed keys', create: 'Create an embed key', origins: 'Allowed sites (origins, one per line: https://host or https://*.domain)', layers: 'Layers',
      label: 'Label', rate: 'Requests a minute per address', expires: 'Expires', revoke: 'Revoke', keyOnce: 'The embed key (shown only now; it is a public identifier bound to the sites above):',
      builder: 'Widget builder', key: 'Embed key', center: 'Centre (lon,lat)', zoom: 'Zoom', controls: 'Controls', lang: 'Language', width: 'Width', height: 'Height',
      useView: 'Use the preview’s view', iframe: 'iframe snippet', element: 'Web component snippet', copy: 'Copy', copied: 'Copied', preview: 'Preview', none: 'No embed keys yet.',
      keyText: 'The key itself (for the live preview and the ?key= snippets; a saved widget needs only the key chosen above)', widgetLabel: 'Widget name',
      save: 'Save widget', fresh: 'New widget', savedAs: 'Saved: every site embedding this address shows it', editing: 'Editing', noKey: 'Choose an embed key', unsaved: 'not saved yet',
    }
  : {
      keys: '嵌入密钥', create: '创建嵌入密钥', origins: '允许的网站（每行一个: https://域名 或 https://*.域名）', layers: '图层',
      label: '备注', rate: '每地址每分钟请求数', expires: '到期', revoke: '吊销', keyOnce: '嵌入密钥（仅此一次显示；它是绑定上述网站的公开标识）:',
      builder: '嵌入地图生成器', key: '嵌入密钥', center: '中心 (经度,纬度)', zoom: '缩放级别', controls: '控件', lang: '语言', width: '宽', height: '高',
      useView: '采用预览的视图', iframe: 'iframe 代码', element: 'Web 组件代码', copy: '复制', copied: '已复制', preview: '预览', none: '尚无嵌入密钥。',
      keyText: '密钥本身（用于实时预览和 ?key= 代码；保存的组件只需上面选定的密钥）', widgetLabel: '组件名称',
      save: '保存组件', fresh: '新组件', savedAs: '已保存：嵌入此地址的网站都显示它', editing: '正在编辑', noKey: '请选择嵌入密钥', unsaved: '尚未保存',
    };
const CONTROLS = ['zoom', 'scale', 'legend', 'layers', 'identify', 'fullscreen'];

interface EmbedKey {
  id: number;
  department: string;
  label: string;
  origins: string[];
  layers: string[];
  ratePerMinute: number;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}
interface Layer {
  id: string;
  title: { zh: string; en: string };
  theme: string;
}

const problem = (r: { message?: string; error?: string }) => h('p', { class: 'error', role: 'alert' }, r.message ?? r.error ?? '');
const lines = (v: string) => v.split(/[\s,，]+/).map((s) => s.trim()).filter(Boolean);

/** The tab's name in the admin page. */
export const embedTabLabel = en ? 'Embedding' : '地图嵌入';

export async function embedTab(main: HTMLElement): Promise<ReturnType<typeof widgetBuilder> | undefined> {
  const [keys, catalog] = await Promise.all([call<EmbedKey[]>('GET', 'api/admin/embed-keys'), call<{ layers: Layer[] }>('GET', 'layers')]);
  if (keys.status !== 200) {
    fill(main, problem(keys));
    return undefined;
  }
  const layers = (catalog.body?.layers ?? []).filter((l) => l.theme !== 'basemap');
  const title = (l: Layer) => `${en ? l.title.en : l.title.zh} (${l.id})`;

  // Keys: create and list.
  const origins = h('textarea', { id: 'embed-origins', rows: 2 });
  const label = h('input', { id: 'embed-label' });
  const rate = h('input', { id: 'embed-rate', type: 'number', min: 1, value: 600 });
  const expires = h('input', { id: 'embed-expires', type: 'date' });
  const pick = h('div', { class: 'checks', id: 'embed-layers' }, ...layers.map((l) => h('label', {}, h('input', { type: 'checkbox', value: l.id }), ` ${title(l)}`)));
  const out = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const chosen = [...pick.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value);
        const made = await call<EmbedKey & { key: string }>('POST', 'api/admin/embed-keys', {
          origins: lines(origins.value),
          layers: chosen,
          label: label.value,
          ratePerMinute: Number(rate.value) || 600,
          ...(expires.value ? { expiresAt: new Date(`${expires.value}T23:59:59`).toISOString() } : {}),
        });
        if (made.status !== 201) return fill(out, problem(made));
        const next = await embedTab(main);
        fill(main.querySelector<HTMLElement>('#embed-created')!, h('p', {}, t.keyOnce), h('p', { class: 'secret', id: 'embed-new-key' }, made.body.key));
        next?.setKey(made.body.key, made.body.layers, made.body.id);
      },
    },
    h(
      'fieldset',
      {},
      h('legend', {}, t.create),
      h('div', {}, h('label', { for: 'embed-origins' }, t.origins), origins),
      h('div', {}, h('span', {}, t.layers), pick),
      h(
        'div',
        { class: 'grid' },
        h('div', {}, h('label', { for: 'embed-label' }, t.label), label),
        h('div', {}, h('label', { for: 'embed-rate' }, t.rate), rate),
        h('div', {}, h('label', { for: 'embed-expires' }, t.expires), expires),
      ),
      h('p', {}, h('button', { type: 'submit', id: 'embed-create' }, t.create)),
      out,
    ),
  );
  const rows = keys.body.map((k) =>
    h(
      'tr',
      {},
      h('td', {}, String(k.id)),
      h('td', {}, k.department),
      h('td', {}, k.label),
      h('td', {}, k.origins.join(' ')),
      h('td', {}, k.layers.join(', ')),
      h('td', {}, String(k.ratePerMinute)),
      h('td', {}, k.revokedAt ? `${t.revoke} ${new Date(k.revokedAt).toLocaleDateString()}` : k.expiresAt ? new Date(k.expiresAt).toLocaleDateString() : ''),
      h('td', {}, k.revokedAt ? '' : h('button', { type: 'button', class: 'danger', onclick: async () => (await call('DELETE', `api/admin/embed-keys/${k.id}`), void embedTab(main)) }, t.revoke)),
    ),
  );
  const list = keys.body.length
    ? h('div', { class: 'table-wrap' }, h('table', { id: 'embed-keys' }, h('tbody', {}, ...rows)))
    : h('p', {}, t.none);

  const open = keys.body.filter((k) => !k.revokedAt && !(k.expiresAt && new Date(k.expiresAt).getTime() <= Date.now()));
  const builder = widgetBuilder(layers, title, open);
  fill(main, h('h2', {}, t.keys), form, h('div', { id: 'embed-created' }), list, h('h2', {}, t.builder), builder.element, h('h2', {}, widgetWords.saved), builder.saved.element);
  await builder.saved.refresh();
  return builder;
}

/**
 * Pick the key, layers, view, controls, language and size; the preview and the two snippets follow every change.
 * "Save widget" stores the options under an id (`/embed/{id}`, a new one or the one being edited): the snippets
 * then name the widget, which carries its key, so the page that embeds it holds no key at all.
 */
function widgetBuilder(layers: Layer[], title: (l: Layer) => string, keys: EmbedKey[]) {
  const keyId = h(
    'select',
    { id: 'b-key-id' },
    h('option', { value: '' }, t.noKey),
    ...keys.map((k) => h('option', { value: k.id }, `#${k.id} ${k.label} — ${k.origins.join(' ')}`)),
  );
  const key = h('input', { id: 'b-key', placeholder: 'cb_…', autocomplete: 'off' });
  const label = h('input', { id: 'b-label', maxlength: 200 });
  const pick = h('div', { class: 'checks', id: 'b-layers' }, ...layers.map((l) => h('label', {}, h('input', { type: 'checkbox', value: l.id }), ` ${title(l)}`)));
  const center = h('input', { id: 'b-center', value: '119.02,33.55' });
  const zoom = h('input', { id: 'b-zoom', type: 'number', min: 0, max: 20, step: 0.5, value: 10 });
  const controls = h('div', { class: 'checks', id: 'b-controls' }, ...CONTROLS.map((c) => h('label', {}, h('input', { type: 'checkbox', value: c, checked: ['zoom', 'scale', 'legend', 'identify'].includes(c) }), ` ${c}`)));
  const lang = h('select', { id: 'b-lang' }, h('option', { value: 'zh' }, '中文'), h('option', { value: 'en' }, 'English'));
  const width = h('input', { id: 'b-width', type: 'number', min: 200, value: 640 });
  const height = h('input', { id: 'b-height', type: 'number', min: 150, value: 420 });
  const iframeCode = h('textarea', { id: 'b-iframe', rows: 3, readonly: true });
  const elementCode = h('textarea', { id: 'b-element', rows: 4, readonly: true });
  const preview = h('iframe', { id: 'b-preview', title: t.preview });
  const status = h('div', { id: 'b-status', 'aria-live': 'polite' });
  const checked = (box: HTMLElement) => [...box.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value);
  const root = new URL('./', location.href);
  /** The saved widget being edited (its id), or null for a new one. */
  let current: string | null = null;

  /** Only the chosen key's layers can be saved with it. */
  const limitLayers = () => {
    const k = keys.find((x) => String(x.id) === keyId.value);
    for (const box of pick.querySelectorAll<HTMLInputElement>('input')) {
      box.disabled = k !== undefined && !k.layers.includes(box.value);
      if (box.disabled) box.checked = false;
    }
  };
  const update = () => {
    const q = new URLSearchParams({ key: key.value.trim(), layers: checked(pick).join(','), center: center.value.trim(), zoom: zoom.value, controls: checked(controls).join(','), lang: lang.value });
    const draft = new URL(`embed/?${q}`, root).href;
    const saved = current ? new URL(`embed/${current}`, root).href : null;
    const size = { w: Math.max(200, Number(width.value) || 640), h: Math.max(150, Number(height.value) || 420) };
    // A saved widget's snippets name it (its id stands for its key); a draft's carry the key and the options.
    iframeCode.value = `<iframe src="${(saved ?? draft).replace(/&/g, '&amp;')}" width="${size.w}" height="${size.h}" style="border:0" loading="lazy" title="${(label.value || 'CityBase').replace(/[&"<>]/g, '')}"></iframe>`;
    elementCode.value =
      `<script src="${new URL('embed/citybase-map.js', root).href}"></script>\n` +
      `<citybase-map embed="${current ?? q.get('key')}" layers="${q.get('layers')}" center="${q.get('center')}" zoom="${q.get('zoom')}" controls="${q.get('controls')}" lang="${q.get('lang')}" style="display:block;width:${size.w}px;height:${size.h}px"></citybase-map>`;
    preview.width = String(size.w);
    preview.height = String(size.h);
    // The live preview needs the key itself; without it, a saved widget previews as saved.
    const show = key.value.trim() ? draft : saved;
    if (show && preview.src !== show) preview.src = show;
  };
  const options = () => {
    const c = center.value.split(/[,，\s]+/).filter(Boolean).map(Number);
    return {
      keyId: Number(keyId.value) || 0,
      label: label.value.trim(),
      layers: checked(pick),
      center: c.length === 2 ? c : null,
      zoom: zoom.value.trim() === '' ? null : Number(zoom.value),
      controls: checked(controls),
      lang: lang.value,
      width: Math.round(Number(width.value) || 640),
      height: Math.round(Number(height.value) || 420),
    };
  };
  const savedLine = () => {
    if (!current) return fill(status, h('p', {}, t.unsaved));
    const url = new URL(`embed/${current}`, root).href;
    fill(status, h('p', {}, `${t.savedAs}: `, h('a', { id: 'b-widget-url', href: url, target: '_blank', rel: 'noopener' }, url)));
  };
  const save = async () => {
    const r = await call<SavedWidget>(current ? 'PUT' : 'POST', current ? `api/admin/embed-widgets/${current}` : 'api/admin/embed-widgets', options());
    if (r.status !== 200 && r.status !== 201) return fill(status, h('p', { class: 'error', role: 'alert' }, r.message ?? r.error ?? ''));
    const shown = preview.src;
    current = r.body.id;
    savedLine();
    update();
    // The same address after an edit: load it again to show what the sites now show.
    if (preview.src === shown && !key.value.trim()) preview.contentWindow?.location.reload();
    await saved.refresh();
  };
  const load = (w: SavedWidget) => {
    current = w.id;
    keyId.value = String(w.keyId);
    key.value = ''; // the key in the field may be another one: preview the widget as saved
    label.value = w.label;
    limitLayers();
    for (const box of pick.querySelectorAll<HTMLInputElement>('input')) box.checked = w.layers.includes(box.value);
    center.value = w.center ? w.center.join(',') : '';
    zoom.value = w.zoom === null ? '' : String(w.zoom);
    for (const box of controls.querySelectorAll<HTMLInputElement>('input')) box.checked = w.controls.includes(box.value);
    lang.value = w.lang;
    width.value = String(w.width);
    height.value = String(w.height);
    savedLine();
    update();
    element.scrollIntoView();
  };
  const saved = savedWidgets(load, (id) => {
    if (id !== current) return;
    current = null;
    savedLine();
    update();
  });
  const useView = h(
    'button',
    {
      type: 'button',
      id: 'b-use-view',
      onclick: () => {
        const map = (preview.contentWindow as unknown as { citybase?: { map: { getCenter(): { lng: number; lat: number }; getZoom(): number } } } | null)?.citybase?.map;
        if (!map) return;
        const c = map.getCenter();
        center.value = `${c.lng.toFixed(5)},${c.lat.toFixed(5)}`;
        zoom.value = map.getZoom().toFixed(1);
        update();
      },
    },
    t.useView,
  );
  const copy = (area: HTMLTextAreaElement) =>
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: async (e: Event) => {
          area.select();
          await navigator.clipboard?.writeText(area.value).catch(() => document.execCommand('copy'));
          (e.currentTarget as HTMLElement).textContent = t.copied;
        },
      },
      t.copy,
    );
  keyId.addEventListener('change', limitLayers);
  const element = h(
    'form',
    { id: 'embed-builder', oninput: update, onchange: update, onsubmit: (e: Event) => e.preventDefault() },
    h(
      'fieldset',
      {},
      h('legend', {}, t.builder),
      h('div', { class: 'grid' }, h('div', {}, h('label', { for: 'b-key-id' }, t.key), keyId), h('div', {}, h('label', { for: 'b-label' }, t.widgetLabel), label)),
      h('div', {}, h('label', { for: 'b-key' }, t.keyText), key),
      h('div', {}, h('span', {}, t.layers), pick),
      h(
        'div',
        { class: 'grid' },
        h('div', {}, h('label', { for: 'b-center' }, t.center), center),
        h('div', {}, h('label', { for: 'b-zoom' }, t.zoom), zoom),
        h('div', {}, h('label', { for: 'b-lang' }, t.lang), lang),
        h('div', {}, h('label', { for: 'b-width' }, t.width), width),
        h('div', {}, h('label', { for: 'b-height' }, t.height), height),
      ),
      h('div', {}, h('span', {}, t.controls), controls),
      h('p', {}, useView),
      h(
        'p',
        {},
        h('button', { type: 'button', id: 'b-save', onclick: save }, t.save),
        ' ',
        h('button', { type: 'button', id: 'b-new', class: 'secondary', onclick: () => ((current = null), savedLine(), update()) }, t.fresh),
      ),
      status,
      h('div', {}, h('label', { for: 'b-iframe' }, t.iframe), iframeCode, copy(iframeCode)),
      h('div', {}, h('label', { for: 'b-element' }, t.element), elementCode, copy(elementCode)),
    ),
    h('div', { class: 'preview' }, preview),
  );
  savedLine();
  update();
  return {
    element,
    saved,
    setKey(k: string, keyLayers: string[], id?: number) {
      key.value = k;
      if (id !== undefined) keyId.value = String(id);
      limitLayers();
      for (const box of pick.querySelectorAll<HTMLInputElement>('input')) box.checked = keyLayers.includes(box.value);
      update();
    },
  };
}
