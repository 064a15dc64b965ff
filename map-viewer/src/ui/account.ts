import { currentSession, signOut } from '../session.ts';
import { lang, onLang } from '../i18n.ts';
import { h, fill } from './dom.ts';

/**
 * The person in the top bar: "登录" for the public, or the login with links to the admin page (for those who
 * may use it) and sign-out. The map itself works the same for everyone; the session only widens what it shows.
 */
export async function showAccount(bar: HTMLElement): Promise<void> {
  const box = h('div', { class: 'account', id: 'account' });
  bar.append(box);
  const session = await currentSession();
  const words = () =>
    lang() === 'en'
      ? { signIn: 'Sign in', signOut: 'Sign out', admin: 'Admin' }
      : { signIn: '登录', signOut: '退出', admin: '管理' };
  const render = () => {
    const w = words();
    if (session.kind !== 'user') {
      const next = encodeURIComponent(`./${location.hash}`);
      fill(box, h('a', { href: `login?next=${next}`, id: 'sign-in-link' }, w.signIn));
      return;
    }
    const mayAdmin = ['user:manage', 'session:manage', 'audit:read'].some((r) => session.rights.includes(r));
    fill(
      box,
      h('span', { class: 'account-name', title: session.roles.join(', ') }, session.login ?? ''),
      mayAdmin && h('a', { href: 'admin', id: 'admin-link' }, w.admin),
      h(
        'button',
        {
          type: 'button',
          id: 'sign-out',
          onclick: async () => {
            await signOut();
            location.reload();
          },
        },
        w.signOut,
      ),
    );
  };
  render();
  onLang(render);
}
