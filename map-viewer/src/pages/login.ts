import './pages.css';
import { h, fill } from '../ui/dom.ts';
import { call, rememberCsrf, type Session } from '../session.ts';
import { nextPath, toggleLang, w } from './words.ts';

/**
 * The sign-in page (/login): login and password (and the authenticator code when the account has one), then,
 * when the server asks, the first-sign-in password change or the enrolment of a second factor. Afterwards back
 * to where the person came from (`?next=`, a path on this site only).
 */
const root = document.getElementById('login-page')!;
document.documentElement.lang = localStorage.getItem('citybase.lang') === 'en' ? 'en' : 'zh-CN';

type Answer = Session & { error?: string; message?: string; session?: Session };

function field(name: string, label: string, type: string, extra: Record<string, string | boolean> = {}): HTMLInputElement {
  const input = h('input', { id: name, name, type, required: true, ...extra });
  return input;
}

function done(): void {
  location.assign(nextPath());
}

function header(title: string): HTMLElement[] {
  return [
    h('div', { class: 'row' }, h('h1', {}, title), h('button', { type: 'button', class: 'secondary', onclick: toggleLang }, w.lang)),
    h('p', { class: 'muted' }, w.title),
  ];
}

function signInForm(message = ''): void {
  const login = field('login', w.login, 'text', { autocomplete: 'username', autocapitalize: 'none', spellcheck: false });
  const password = field('password', w.password, 'password', { autocomplete: 'current-password' });
  const totp = field('totp', w.totp, 'text', { inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '\\d{6}' });
  totp.required = false;
  const totpBox = h('div', { hidden: true }, h('label', { for: 'totp' }, w.totp), totp);
  const status = h('p', { class: 'error', role: 'alert' }, message);
  const submit = h('button', { type: 'submit' }, w.submit);
  const form = h(
    'form',
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        status.textContent = w.signingIn;
        status.className = 'muted';
        const payload: Record<string, string> = { login: login.value.trim(), password: password.value };
        if (!totpBox.hidden && totp.value) payload.totp = totp.value.trim();
        const r = await call<Answer>('POST', 'api/session', payload);
        submit.disabled = false;
        if (r.status === 200) return done();
        const session = r.body?.session;
        if (r.error === 'password_change_required' && session) {
          rememberCsrf(session.csrfToken);
          return changeForm(password.value);
        }
        if (r.error === 'totp_enrolment_required' && session) {
          rememberCsrf(session.csrfToken);
          return enrolForm();
        }
        if (r.error === 'totp_required' || r.error === 'invalid_totp') {
          totpBox.hidden = false;
          totp.required = true;
          totp.focus();
        }
        status.className = 'error';
        status.textContent = r.message ?? r.error ?? '';
        if (r.error !== 'totp_required') password.select();
      },
    },
    h('label', { for: 'login' }, w.login),
    login,
    h('label', { for: 'password' }, w.password),
    password,
    totpBox,
    submit,
    status,
  );
  fill(root, ...header(w.signIn), form);
  login.focus();
}

function changeForm(current: string): void {
  const cur = field('current', w.current, 'password', { autocomplete: 'current-password' });
  cur.value = current;
  const next = field('new-password', w.newPassword, 'password', { autocomplete: 'new-password', minlength: '8' });
  const again = field('repeat-password', w.repeat, 'password', { autocomplete: 'new-password', minlength: '8' });
  const status = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        if (next.value !== again.value) {
          status.textContent = w.mismatch;
          return;
        }
        const r = await call<Answer>('POST', 'api/session/password', { password: cur.value, newPassword: next.value });
        if (r.status !== 200) {
          status.textContent = r.message ?? r.error ?? '';
          return;
        }
        rememberCsrf(r.body.csrfToken);
        if (r.body.pending === 'totp_enrolment_required') return enrolForm();
        done();
      },
    },
    h('p', { class: 'muted', id: 'policy' }, w.policy),
    h('label', { for: 'current' }, w.current),
    cur,
    h('label', { for: 'new-password' }, w.newPassword),
    next,
    h('label', { for: 'repeat-password' }, w.repeat),
    again,
    h('button', { type: 'submit' }, w.change),
    status,
  );
  fill(root, ...header(w.changeTitle), form);
  next.focus();
}

async function enrolForm(): Promise<void> {
  const started = await call<{ secret: string; uri: string }>('POST', 'api/session/totp');
  const code = field('code', w.totp, 'text', { inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '\\d{6}' });
  const status = h('p', { class: 'error', role: 'alert' }, started.status === 200 ? '' : (started.message ?? ''));
  const form = h(
    'form',
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const r = await call<Answer>('POST', 'api/session/totp/confirm', { code: code.value.trim() });
        if (r.status !== 200) {
          status.textContent = r.message ?? r.error ?? '';
          return;
        }
        done();
      },
    },
    h('p', {}, w.enrolHint),
    h('p', { class: 'secret', id: 'totp-secret' }, started.body?.secret ?? ''),
    h('p', { class: 'muted secret' }, started.body?.uri ?? ''),
    h('label', { for: 'code' }, w.totp),
    code,
    h('button', { type: 'submit' }, w.confirm),
    status,
  );
  fill(root, ...header(w.enrolTitle), form);
  code.focus();
}

const expired = new URLSearchParams(location.search).get('expired');
signInForm(expired ? w.sessionExpired : '');
