/**
 * How the desk talks to the server: an API key (from `?key=`, taken out of the address bar, or saved) as a
 * Bearer header, else the session cookie with its CSRF token on writes. Errors come back as `{ error, message }`.
 */
const KEY = 'citybase.key';
const params = new URLSearchParams(location.search);
let key = params.get('key') ?? localStorage.getItem(KEY) ?? '';
if (params.has('key')) {
  // The key must not stay in a URL someone could copy or that lands in the history.
  params.delete('key');
  history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}${location.hash}`);
}
let csrf: string | undefined;

export const api = (p: string) => new URL(`../${p}`, location.href).toString();
export const currentKey = () => key;
export function saveKey(k: string): void {
  key = k;
  localStorage.setItem(KEY, k);
}
export const auth = (): Record<string, string> => (key ? { Authorization: `Bearer ${key}` } : {});

export interface Me {
  kind: string;
  login?: string;
  department: string | null;
  rights: string[];
  scopes: string[];
}

export async function whoAmI(): Promise<Me> {
  const res = await fetch(api('api/session'), { headers: auth(), credentials: 'same-origin' });
  const body = (await res.json().catch(() => ({}))) as Me & { csrfToken?: string };
  csrf = body.csrfToken;
  return { kind: body.kind ?? 'anonymous', login: body.login, department: body.department ?? null, rights: body.rights ?? [], scopes: body.scopes ?? [] };
}

export async function getJson<T>(p: string): Promise<{ status: number; body: T }> {
  const res = await fetch(api(p), { headers: auth(), credentials: 'same-origin' });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as T };
}

export async function postJson<T>(p: string, payload: unknown): Promise<{ ok: boolean; status: number; body: T & { error?: string; message?: string } }> {
  const res = await fetch(api(p), {
    method: 'POST',
    credentials: 'same-origin',
    headers: { ...auth(), 'Content-Type': 'application/json', ...(csrf ? { 'X-CSRF-Token': csrf } : {}) },
    body: JSON.stringify(payload),
  });
  return { ok: res.ok, status: res.status, body: (await res.json().catch(() => ({}))) as T & { error?: string; message?: string } };
}

/** The same as postJson, as multipart/form-data with photos (each a `photo` part). */
export async function postForm<T>(p: string, fields: Record<string, string | number>, photos: File[]): Promise<{ ok: boolean; status: number; body: T & { error?: string; message?: string } }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, String(v));
  for (const f of photos) form.append('photo', f, f.name);
  const res = await fetch(api(p), { method: 'POST', credentials: 'same-origin', headers: { ...auth(), ...(csrf ? { 'X-CSRF-Token': csrf } : {}) }, body: form });
  return { ok: res.ok, status: res.status, body: (await res.json().catch(() => ({}))) as T & { error?: string; message?: string } };
}
