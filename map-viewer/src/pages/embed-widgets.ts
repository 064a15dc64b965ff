import { h, fill } from '../ui/dom.ts';
import { call } from '../session.ts';

/**
 * The department's saved widgets in the 地图嵌入 tab: each is served at `/embed/{id}`, so editing one changes what
 * every site embedding it shows. Listed with their key's state (a widget of a revoked or expired key shows an
 * error until it is given another key), to edit in the builder or to delete.
 */
export interface SavedWidget {
  id: string;
  department: string;
  keyId: number;
  label: string;
  layers: string[];
  center: [number, number] | null;
  zoom: number | null;
  controls: string[];
  lang: 'zh' | 'en';
  width: number;
  height: number;
  keyRevoked: boolean;
  keyExpiresAt: string | null;
  updatedAt: string;
}

const en = document.documentElement.lang === 'en';
export const widgetWords = en
  ? {
      saved: 'Saved widgets', none: 'No saved widgets yet.', edit: 'Edit', remove: 'Delete', confirm: 'Delete this widget? Every site that embeds it will show an error.',
      label: 'Label', address: 'Address', key: 'Key', layers: 'Layers', updated: 'Saved', revoked: 'revoked', expired: 'expired', all: 'all the key’s',
    }
  : {
      saved: '已保存的地图组件', none: '尚无保存的地图组件。', edit: '编辑', remove: '删除', confirm: '删除此组件？嵌入它的网站将显示错误。',
      label: '名称', address: '地址', key: '密钥', layers: '图层', updated: '保存于', revoked: '已吊销', expired: '已过期', all: '密钥的全部图层',
    };

const problem = (r: { message?: string; error?: string }) => h('p', { class: 'error', role: 'alert' }, r.message ?? r.error ?? '');

/** The list, redrawn by `refresh()` after a save or a deletion; `onEdit` loads a widget into the builder. */
export function savedWidgets(onEdit: (w: SavedWidget) => void, onDeleted: (id: string) => void) {
  const t = widgetWords;
  const element = h('div', { id: 'embed-widgets' });
  const root = new URL('./', location.href);
  const keyState = (w: SavedWidget) =>
    w.keyRevoked ? ` (${t.revoked})` : w.keyExpiresAt && new Date(w.keyExpiresAt).getTime() <= Date.now() ? ` (${t.expired})` : '';
  const refresh = async () => {
    const r = await call<SavedWidget[]>('GET', 'api/admin/embed-widgets');
    if (r.status !== 200) return fill(element, problem(r));
    if (!r.body.length) return fill(element, h('p', {}, t.none));
    const head = [t.label, t.address, t.key, t.layers, t.updated, '', ''];
    const rows = r.body.map((w) => {
      const url = new URL(`embed/${w.id}`, root).href;
      const remove = async () => {
        if (!confirm(t.confirm)) return;
        const done = await call('DELETE', `api/admin/embed-widgets/${w.id}`);
        if (done.status !== 204) return fill(element, problem(done));
        onDeleted(w.id);
        await refresh();
      };
      return h(
        'tr',
        { 'data-widget': w.id },
        h('td', {}, w.label),
        h('td', {}, h('a', { href: url, target: '_blank', rel: 'noopener' }, url)),
        h('td', {}, `#${w.keyId}${keyState(w)}`),
        h('td', {}, w.layers.join(', ') || t.all),
        h('td', {}, new Date(w.updatedAt).toLocaleString(document.documentElement.lang)),
        h('td', {}, h('button', { type: 'button', class: 'secondary', onclick: () => onEdit(w) }, t.edit)),
        h('td', {}, h('button', { type: 'button', class: 'danger', onclick: remove }, t.remove)),
      );
    });
    fill(
      element,
      h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, ...rows))),
    );
  };
  return { element, refresh };
}
