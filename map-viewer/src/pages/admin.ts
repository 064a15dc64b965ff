import './pages.css';
import { h, fill } from '../ui/dom.ts';
import { call, currentSession, signOut, type Session } from '../session.ts';
import { toggleLang, w } from './words.ts';
import { embedTab, embedTabLabel } from './embed-builder.ts';

/**
 * The admin page (/admin): users, sessions, API keys and departments for the administrator (user:manage) and the
 * security administrator (session:manage); the audit trail for the auditor (audit:read) alone. The server checks
 * every call; this page only leaves out what the person cannot use.
 */
document.documentElement.lang = localStorage.getItem('citybase.lang') === 'en' ? 'en' : 'zh-CN';
const main = document.getElementById('admin')!;
const tabs = document.getElementById('tabs')!;
const who = document.getElementById('who')!;
document.getElementById('admin-title')!.textContent = w.admin;

interface User {
  id: number;
  login: string;
  displayName: string;
  department: string;
  roles: string[];
  scopes: string[];
  state: string;
  lastLogin: string | null;
}

const time = (v: string | null | undefined) => (v ? new Date(v).toLocaleString(document.documentElement.lang) : '');
const list = (v: string) => v.split(/[,，\s]+/).map((s) => s.trim()).filter(Boolean);
const problem = (r: { message?: string; error?: string }) => h('p', { class: 'error', role: 'alert' }, r.message ?? r.error ?? '');

function table(head: string[], rows: Array<Array<Node | string>>): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h('table', {}, h('thead', {}, h('tr', {}, ...head.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c)))))),
  );
}

async function usersTab(session: Session): Promise<void> {
  const [users, roles] = await Promise.all([call<User[]>('GET', 'api/admin/users'), call<{ roles: Record<string, string[]> }>('GET', 'api/admin/roles')]);
  if (users.status !== 200) return fill(main, problem(users));
  const status = h('div', { 'aria-live': 'polite' });
  const canManage = session.rights.includes('user:manage');
  const act = async (u: User, action: string) => {
    const r = await call<{ password?: string }>('POST', `api/admin/users/${u.id}/${action}`);
    if (r.status !== 200) return fill(status, problem(r));
    await usersTab(session);
    if (r.body.password) fill(status, h('p', {}, `${u.login} · ${w.oneTime}`), h('p', { class: 'secret' }, r.body.password));
  };
  const rows = users.body.map((u) => {
    const rolesIn = h('input', { value: u.roles.join(','), 'aria-label': `${w.roles} ${u.login}`, disabled: !canManage });
    const scopesIn = h('input', { value: u.scopes.join(','), 'aria-label': `${w.scopes} ${u.login}`, disabled: !canManage });
    const save = async () => {
      const r = await call('PATCH', `api/admin/users/${u.id}`, { roles: list(rolesIn.value), scopes: list(scopesIn.value) });
      fill(status, r.status === 200 ? h('p', { class: 'ok' }, `${u.login}: ${w.saved}`) : problem(r));
    };
    const actions = h(
      'div',
      { class: 'actions' },
      canManage && h('button', { type: 'button', onclick: save }, w.edit),
      h('button', { type: 'button', class: 'secondary', onclick: () => act(u, 'reset') }, w.reset),
      u.state === 'locked'
        ? h('button', { type: 'button', class: 'secondary', onclick: () => act(u, 'unlock') }, w.unlock)
        : h('button', { type: 'button', class: 'secondary', onclick: () => act(u, 'lock') }, w.lock),
      canManage &&
        (u.state === 'disabled'
          ? h('button', { type: 'button', class: 'secondary', onclick: () => act(u, 'enable') }, w.enable)
          : h('button', { type: 'button', class: 'danger', onclick: () => act(u, 'disable') }, w.disable)),
    );
    return [u.login, u.displayName, u.department, rolesIn, scopesIn, (w as Record<string, string>)[u.state] ?? u.state, time(u.lastLogin), actions];
  });
  const form = canManage ? createUserForm(session, Object.keys(roles.body?.roles ?? {})) : null;
  fill(main, form ?? '', status, table([w.login, w.displayName, w.department, w.roles, w.scopes, w.state, w.lastLogin, w.actions], rows));
}

function createUserForm(session: Session, roleNames: string[]): HTMLElement {
  const login = h('input', { id: 'new-login', required: true, autocapitalize: 'none' });
  const name = h('input', { id: 'new-name' });
  const dept = h('input', { id: 'new-dept', required: true, value: session.department ?? '' });
  const roles = h('input', { id: 'new-roles', required: true, value: 'viewer', list: 'role-names' });
  const scopes = h('input', { id: 'new-scopes', value: '320800' });
  const out = h('div', { 'aria-live': 'polite' });
  return h(
    'form',
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const r = await call<{ user: User; password: string }>('POST', 'api/admin/users', {
          login: login.value.trim(),
          displayName: name.value.trim(),
          department: dept.value.trim(),
          roles: list(roles.value),
          scopes: list(scopes.value),
        });
        if (r.status !== 201) return fill(out, problem(r));
        await usersTab(session);
        main.prepend(h('div', {}, h('p', {}, `${r.body.user.login} · ${w.oneTime}`), h('p', { class: 'secret', id: 'one-time' }, r.body.password)));
      },
    },
    h(
      'fieldset',
      {},
      h('legend', {}, w.createUser),
      h('datalist', { id: 'role-names' }, ...roleNames.map((r) => h('option', { value: r }))),
      h(
        'div',
        { class: 'grid' },
        h('div', {}, h('label', { for: 'new-login' }, w.login), login),
        h('div', {}, h('label', { for: 'new-name' }, w.displayName), name),
        h('div', {}, h('label', { for: 'new-dept' }, w.department), dept),
        h('div', {}, h('label', { for: 'new-roles' }, w.roles), roles),
        h('div', {}, h('label', { for: 'new-scopes' }, w.scopes), scopes),
      ),
      h('p', {}, h('button', { type: 'submit' }, w.create)),
      out,
    ),
  );
}

async function sessionsTab(): Promise<void> {
  const r = await call<Array<Record<string, string>>>('GET', 'api/admin/sessions');
  if (r.status !== 200) return fill(main, problem(r));
  fill(
    main,
    table(
      [w.login, w.department, w.source, w.since, w.lastSeen, w.actions],
      r.body.map((s) => [
        s.login!,
        s.department!,
        s.source_addr ?? '',
        time(s.created_at),
        time(s.last_seen_at),
        h('button', { type: 'button', class: 'danger', onclick: async () => (await call('DELETE', `api/admin/sessions/${s.handle}`), sessionsTab()) }, w.revoke),
      ]),
    ),
  );
}

async function keysTab(): Promise<void> {
  const r = await call<Array<Record<string, unknown>>>('GET', 'api/admin/keys');
  if (r.status !== 200) return fill(main, problem(r));
  const dept = h('input', { id: 'key-dept', required: true });
  const label = h('input', { id: 'key-label' });
  const rights = h('input', { id: 'key-rights', value: 'layer:read' });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const made = await call<{ id: number; key: string }>('POST', 'api/admin/keys', { department: dept.value.trim(), label: label.value, rights: list(rights.value) });
        if (made.status !== 201) return fill(out, problem(made));
        await keysTab();
        main.prepend(h('div', {}, h('p', {}, w.keyOnce), h('p', { class: 'secret' }, made.body.key)));
      },
    },
    h(
      'fieldset',
      {},
      h('legend', {}, `${w.create} · ${w.keys}`),
      h(
        'div',
        { class: 'grid' },
        h('div', {}, h('label', { for: 'key-dept' }, w.department), dept),
        h('div', {}, h('label', { for: 'key-label' }, w.label), label),
        h('div', {}, h('label', { for: 'key-rights' }, w.rights), rights),
      ),
      h('p', {}, h('button', { type: 'submit' }, w.create)),
      out,
    ),
  );
  fill(
    main,
    form,
    table(
      ['id', w.department, w.label, w.rights, w.scopes, w.created, w.expires, w.actions],
      r.body.map((k) => [
        String(k.id),
        String(k.department),
        String(k.label),
        (k.rights as string[]).join(', '),
        (k.scopes as string[]).join(', '),
        time(k.created_at as string),
        k.revoked_at ? `${w.revoke} ${time(k.revoked_at as string)}` : time(k.expires_at as string),
        k.revoked_at ? '' : h('button', { type: 'button', class: 'danger', onclick: async () => (await call('DELETE', `api/admin/keys/${k.id}`), keysTab()) }, w.revoke),
      ]),
    ),
  );
}

async function departmentsTab(): Promise<void> {
  const r = await call<Array<Record<string, string>>>('GET', 'api/admin/departments');
  if (r.status !== 200) return fill(main, problem(r));
  fill(main, table(['id', '名称', 'Name'], r.body.map((d) => [d.id!, d.name_zh!, d.name_en!])));
}

async function auditTab(): Promise<void> {
  const actor = h('input', { id: 'f-actor' });
  const action = h('input', { id: 'f-action', placeholder: 'session / user / key …' });
  const from = h('input', { id: 'f-from', type: 'date' });
  const to = h('input', { id: 'f-to', type: 'date' });
  const body = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, w.more);
  const out = h('div');
  let cursor: string | null = null;
  const load = async (reset: boolean) => {
    const q = new URLSearchParams();
    if (actor.value) q.set('actor', actor.value.trim());
    if (action.value) q.set('action', action.value.trim());
    if (from.value) q.set('from', from.value);
    if (to.value) q.set('to', to.value);
    if (!reset && cursor) q.set('cursor', cursor);
    q.set('limit', '100');
    const r = await call<{ records: Array<Record<string, unknown>>; next: string | null }>('GET', `api/audit?${q}`);
    if (r.status !== 200) return fill(out, problem(r));
    fill(out);
    if (reset) body.replaceChildren();
    for (const rec of r.body.records)
      body.append(
        h(
          'tr',
          {},
          h('td', {}, time(rec.at as string)),
          h('td', {}, `${rec.actor} ${rec.role ? `(${rec.role})` : ''}`),
          h('td', {}, String(rec.source_addr)),
          h('td', {}, String(rec.action)),
          h('td', {}, String(rec.target)),
          h('td', { class: rec.outcome === 'success' ? 'ok' : 'error' }, (w as Record<string, string>)[rec.outcome as string] ?? String(rec.outcome)),
          h('td', {}, JSON.stringify(rec.details)),
        ),
      );
    cursor = r.body.next;
    more.hidden = cursor === null;
  };
  more.addEventListener('click', () => void load(false));
  const form = h(
    'form',
    { onsubmit: (e: Event) => (e.preventDefault(), void load(true)) },
    h(
      'fieldset',
      {},
      h('legend', {}, w.filter),
      h(
        'div',
        { class: 'grid' },
        h('div', {}, h('label', { for: 'f-actor' }, w.actor), actor),
        h('div', {}, h('label', { for: 'f-action' }, w.action), action),
        h('div', {}, h('label', { for: 'f-from' }, w.from), from),
        h('div', {}, h('label', { for: 'f-to' }, w.to), to),
      ),
      h('p', {}, h('button', { type: 'submit' }, w.filter)),
    ),
  );
  const head = [w.time, w.actor, w.source, w.action, w.target, w.outcome, w.details];
  fill(main, form, out, h('div', { class: 'table-wrap' }, h('table', { id: 'audit-table' }, h('thead', {}, h('tr', {}, ...head.map((t) => h('th', { scope: 'col' }, t)))), body)), more);
  await load(true);
}

async function start(): Promise<void> {
  const session = await currentSession();
  if (!session.authenticated || session.kind !== 'user') {
    location.assign(`login?next=${encodeURIComponent('admin')}`);
    return;
  }
  fill(
    who,
    `${w.signedInAs}${session.login} `,
    h('a', { href: './', class: 'on-accent' }, w.toMap),
    ' ',
    h('button', { type: 'button', onclick: toggleLang }, w.lang),
    ' ',
    h('button', { type: 'button', id: 'sign-out', onclick: async () => (await signOut(), location.assign('login')) }, w.signOut),
  );
  const available: Array<[string, () => Promise<void>]> = [];
  const admin = session.rights.includes('user:manage') || session.rights.includes('session:manage');
  if (admin) available.push([w.users, () => usersTab(session)], [w.sessions, sessionsTab]);
  if (session.rights.includes('user:manage')) available.push([w.keys, keysTab], [w.departments, departmentsTab]);
  if (session.rights.includes('embed:manage')) available.push([embedTabLabel, async () => void (await embedTab(main))]);
  if (session.rights.includes('audit:read')) available.push([w.audit, auditTab]);
  if (available.length === 0) {
    fill(main, h('p', { class: 'error', id: 'no-right' }, w.noRight));
    return;
  }
  const buttons = available.map(([label, show], i) =>
    h(
      'button',
      {
        type: 'button',
        role: 'tab',
        'aria-selected': i === 0 ? 'true' : 'false',
        onclick: (e: Event) => {
          // The open tab is not redrawn: its first load may still be coming, and would wipe what was typed since.
          if ((e.currentTarget as HTMLElement).getAttribute('aria-selected') === 'true') return;
          for (const b of buttons) b.setAttribute('aria-selected', b === e.currentTarget ? 'true' : 'false');
          void show();
        },
      },
      label,
    ),
  );
  fill(tabs, ...buttons);
  await available[0]![1]();
}

void start();
