import { sessionKey } from './session-key.ts';

/** Told when a request fails because the service is down (main.ts shows the banner: ui/service-state.ts). */
export const serviceDown = { failed: (): void => {} };

/**
 * The viewer talks only to the server it was loaded from, with relative URLs (it may sit behind a proxy under
 * a path prefix). An API key given to the page (`?key=…`, taken out of the address bar on load and kept for
 * the tab's session: session-key.ts) is carried on every request, as the server does in its own TileJSON and
 * catalog URLs.
 */
import { writeHeaders } from './session.ts';

const pageKey = sessionKey;

export interface ApiResult<T> {
  status: number;
  body: T | null;
  /** The server's `{ error, message }`, as one line. */
  error?: string;
}

/** A URL on this server, relative to the page, with the page's API key. */
export function apiUrl(path: string, params: Record<string, string | number> = {}): string {
  const url = new URL(path, document.baseURI);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
  const key = pageKey();
  if (key) url.searchParams.set('key', key);
  return url.href;
}

async function send<T>(url: string, init: RequestInit): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { Accept: 'application/json', ...init.headers } });
  } catch (err) {
    if ((err as Error).name !== 'AbortError') serviceDown.failed();
    throw err;
  }
  // 502–504: the server (or its database, or the proxy before it) is down for now; the banner says so.
  if (res.status >= 502 && res.status <= 504) serviceDown.failed();
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (res.ok) return { status: res.status, body: body as T };
  const e = body as { error?: string; message?: string } | null;
  return { status: res.status, body: null, error: e?.message ?? e?.error ?? res.statusText };
}

export const getJson = <T>(path: string, params: Record<string, string | number> = {}, signal?: AbortSignal) =>
  send<T>(apiUrl(path, params), { signal: signal ?? null });

export const postJson = <T>(path: string, payload: unknown, signal?: AbortSignal) =>
  send<T>(apiUrl(path), { method: 'POST', body: JSON.stringify(payload), headers: writeHeaders(), signal: signal ?? null });

/**
 * APIs that other parts of the platform add over time (features API, themes) answer 404 until they exist:
 * callers then fall back to what the map itself knows.
 */
export const notThereYet = (res: ApiResult<unknown>) => res.status === 404;
