// The inspector's phone page as an installable app that opens without a network (map-viewer/m/).
//
// The page itself (./, its hashed assets and the category table) is kept in the Cache Storage: navigations try the
// network first and fall back to the kept page, hashed assets come from the cache (their names change with their
// bytes), the category table is refreshed whenever the network answers. Nothing else of the API is cached: reports
// made offline wait in the page's IndexedDB outbox (src/mobile/outbox.ts) and are sent, once, when the network
// returns; the page listens for `online` and also flushes at each start.
const CACHE = 'citybase-m-v1';
const SHELL = './';
const CATEGORIES = new URL('../api/cases/categories', self.registration.scope).href;

/** The page and every asset it names (script, style sheets, preloads), read from the page itself. */
async function keepShell() {
  const cache = await caches.open(CACHE);
  const res = await fetch(SHELL, { cache: 'no-cache' });
  if (!res.ok) throw new Error(`the page answered ${res.status}`);
  const html = await res.clone().text();
  await cache.put(SHELL, res);
  const assets = [...html.matchAll(/(?:src|href)="([^"]*assets\/[^"]+)"/g)].map((m) => new URL(m[1], self.registration.scope).href);
  await cache.addAll([...new Set(assets)]);
  await cache.add(CATEGORIES).catch(() => {});
}

self.addEventListener('install', (event) => {
  event.waitUntil(keepShell().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith('citybase-m-') && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return; // reports go to the network (or wait in the outbox)
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.mode === 'navigate' && url.href.startsWith(self.registration.scope)) {
    event.respondWith(
      fetch(req)
        .then(async (res) => {
          if (res.ok) {
            const cache = await caches.open(CACHE);
            await cache.put(SHELL, res.clone());
          }
          return res;
        })
        .catch(async () => (await caches.match(SHELL, { ignoreVary: true })) ?? Response.error()),
    );
    return;
  }
  if (/\/assets\/[^/]+$/.test(url.pathname)) {
    event.respondWith(
      // ignoreVary: the server varies on Origin and Accept-Encoding; a module script's request carries an Origin the
      // install's did not, and the stored bytes are the same file either way (its name is its content's hash).
      caches.match(req, { ignoreVary: true }).then(
        (hit) =>
          hit ??
          fetch(req).then(async (res) => {
            if (res.ok) await (await caches.open(CACHE)).put(req, res.clone());
            return res;
          }),
      ),
    );
    return;
  }
  if (url.href === CATEGORIES) {
    event.respondWith(
      fetch(req)
        .then(async (res) => {
          if (res.ok) await (await caches.open(CACHE)).put(CATEGORIES, res.clone());
          return res;
        })
        .catch(async () => (await caches.match(CATEGORIES, { ignoreVary: true })) ?? Response.error()),
    );
  }
});
