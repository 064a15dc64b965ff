/**
 * The signed-in person, shared by every page: who am I (GET /api/session), the CSRF token that mutating requests
 * in a session must carry, and sign-out. The session itself is an HttpOnly cookie the page never sees.
 */
export interface Session {
  kind: 'anonymous' | 'key' | 'user' | 'embed';
  authenticated: boolean;
  login?: string;
  department: string | null;
  roles: string[];
  rights: string[];
  scopes: string[];
  pending?: 'password_change_required' | 'totp_enrolment_required' | null;
  csrfToken?: string;
  expiresAt?: string;
}

let csrf: string | undefined;

export function rememberCsrf(token: string | undefined): void {
  csrf = token;
}

/** Headers a mutating request carries: JSON, and the session's CSRF token once known. */
export function writeHeaders(): Record<string, string> {
  return { 'Content-Type': 'application/json', ...(csrf ? { 'X-CSRF-Token': csrf } : {}) };
}

export interface Answer<T> {
  status: number;
  body: T;
  error?: string;
  message?: string;
}

/** A request to this server (relative URL, the session cookie goes along); errors come back as `{ error, message }`. */
export async function call<T>(method: string, path: string, payload?: unknown): Promise<Answer<T>> {
  const res = await fetch(new URL(path, document.baseURI), {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json', ...(method === 'GET' ? {} : writeHeaders()) },
    ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const e = (body ?? {}) as { error?: string; message?: string };
  return res.ok ? { status: res.status, body: body as T } : { status: res.status, body: body as T, error: e.error ?? String(res.status), message: e.message ?? res.statusText };
}

/** Who is asking; remembers the CSRF token for later writes. */
export async function currentSession(): Promise<Session> {
  const r = await call<Session>('GET', 'api/session');
  if (r.status !== 200) return { kind: 'anonymous', authenticated: false, department: null, roles: [], rights: [], scopes: [] };
  rememberCsrf(r.body.csrfToken);
  return r.body;
}

export async function signOut(): Promise<void> {
  await call('DELETE', 'api/session');
  rememberCsrf(undefined);
}
