import { t } from '../i18n.ts';
import { h } from './dom.ts';

/**
 * Bookmarks: named views (the URL hash: centre, zoom, layers and opacities) kept in this browser's
 * localStorage. A key is never part of them (the hash holds none; session-key.ts).
 */
interface Bookmark {
  name: string;
  hash: string;
}

const STORAGE_KEY = 'citybase.bookmarks';

function load(): Bookmark[] {
  try {
    const list = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]') as unknown;
    return Array.isArray(list) ? list.filter((b): b is Bookmark => typeof b?.name === 'string' && typeof b?.hash === 'string') : [];
  } catch {
    return [];
  }
}

function save(list: Bookmark[]): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(list));
  } catch {
    /* storage disabled by policy: the bookmark lasts as long as the page */
  }
}

/** The name being typed: the section is drawn again with the layer panel (which redraws by itself), and keeps it. */
let draft = '';

export function bookmarksSection(rerender: () => void): HTMLElement {
  const words = t();
  const list = load();
  const name = h('input', {
    type: 'text',
    'aria-label': words.bookmarkName,
    placeholder: words.bookmarkName,
    'data-bookmark-name': '',
    oninput: (e: Event) => void (draft = (e.target as HTMLInputElement).value),
  });
  name.value = draft;
  return h(
    'section',
    { class: 'bookmarks', 'aria-label': words.bookmarks },
    h('h2', { class: 'panel-title' }, words.bookmarks),
    h(
      'form',
      {
        class: 'bookmark-add',
        onsubmit: (e: Event) => {
          e.preventDefault();
          const label = name.value.trim() || new Date().toLocaleString();
          save([...load().filter((b) => b.name !== label), { name: label, hash: location.hash }]);
          draft = '';
          rerender();
        },
      },
      name,
      h('button', { type: 'submit', 'data-action': 'add-bookmark' }, words.bookmarkAdd),
    ),
    list.length === 0
      ? h('p', { class: 'hint' }, words.bookmarkNone)
      : h(
          'ul',
          { class: 'bookmark-list' },
          ...list.map((b) =>
            h(
              'li',
              {},
              h('button', { type: 'button', class: 'bookmark', 'data-bookmark': b.name, onclick: () => (location.hash = b.hash) }, b.name),
              h(
                'button',
                {
                  type: 'button',
                  class: 'close',
                  'aria-label': `${words.bookmarkDelete}: ${b.name}`,
                  onclick: () => {
                    save(load().filter((x) => x.name !== b.name));
                    rerender();
                  },
                },
                '×',
              ),
            ),
          ),
        ),
  );
}
