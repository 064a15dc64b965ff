/**
 * A department's API key given to the page as `?key=…` must not stay in the address bar: whoever gets a link
 * copied from there (or a bookmark, or a share) would get the key and the restricted layers with it. On load
 * the key is moved to sessionStorage (this tab, until it closes) and the address bar is rewritten without it.
 * Sign-in (sessions) replaces keys for people; a key stays the way for a kiosk or an embedded map.
 */
const STORAGE_KEY = 'citybase.key';

function takeKeyFromAddress(): string | null {
  const url = new URL(location.href);
  const key = url.searchParams.get('key');
  if (key === null) return null;
  url.searchParams.delete('key');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  return key;
}

let key: string | null | undefined;

/** Take the key out of the address now (main.ts calls this first thing); idempotent. */
export function takeSessionKey(): string | null {
  if (key !== undefined) return key;
  const fromAddress = takeKeyFromAddress();
  try {
    if (fromAddress) sessionStorage.setItem(STORAGE_KEY, fromAddress);
    key = sessionStorage.getItem(STORAGE_KEY);
  } catch {
    key = fromAddress; // storage disabled by policy: the key lives as long as the page
  }
  return key;
}

/** The key this tab was opened with, if any. */
export const sessionKey = (): string | null => takeSessionKey();

/** A link to the current view without any secret: what share links and bookmarks use. */
export function shareableUrl(): string {
  const url = new URL(location.href);
  url.searchParams.delete('key');
  return url.href;
}
