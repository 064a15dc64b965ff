import './maplibre-widget.css';
import './widget.css';
import './page.css';
import { maplibre, setWorkerUrl } from './maplibre-lite.ts';
import { createWidget, originAllowed, parseOptions, runCommand, type WidgetEvent } from './widget.ts';

/**
 * The iframe page, `/embed/?key=…&layers=…&center=lon,lat&zoom=…&controls=…&lang=zh|en&scroll=1` or a saved
 * widget's `/embed/{id}`: the widget over the whole frame, and the host page API through postMessage. The
 * server writes the key's allowed origins into `<meta name="citybase-embed">`: commands from any other origin
 * are ignored, and events go only to a host on the key.
 */
const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';
const root = new URL('../', location.href);
const named = meta('maplibre-worker');
setWorkerUrl(new URL(named.startsWith('%') ? '/src/map/worker.ts' : named, root).href);

const config = (() => {
  try {
    return JSON.parse(meta('citybase-embed')) as { origins: string[]; widget?: { query: string } };
  } catch {
    return { origins: [] };
  }
})();
// A saved widget (/embed/{id}): the server writes its options, in the URL's form with the widget id as the key.
const params = new URLSearchParams(config.widget?.query ?? location.search);
const inFrame = window.parent !== window;
const options = parseOptions((n) => params.get(n), root, inFrame);
if (options.lang === 'en') document.documentElement.lang = 'en';

/** The host page's origin, when it is one the key allows (events are posted to it and nowhere else). */
function hostOrigin(): string | null {
  if (!inFrame) return null;
  const named = location.ancestorOrigins?.[0] ?? (document.referrer ? new URL(document.referrer).origin : null);
  return named && (named === location.origin || originAllowed(named, config.origins)) ? named : null;
}
const host = hostOrigin();
const emit = (e: WidgetEvent) => {
  if (host) window.parent.postMessage({ source: 'citybase', event: e.type, ...e }, host);
};

const widget = await createWidget(maplibre, document.getElementById('widget')!, { ...options, key: params.get('key') ?? '', fullscreenUrl: location.href }, emit);
(window as unknown as { citybase: unknown }).citybase = { map: widget.map, widget };
// The first time everything is drawn, as the viewer marks it: what `npm run bench:embed` times.
widget.map.once('idle', () => performance.mark('citybase:first-idle'));

window.addEventListener('message', (e: MessageEvent) => {
  if (!originAllowed(e.origin, config.origins)) return; // not a site on the key: ignored
  const data = e.data as Record<string, unknown> | null;
  if (typeof data !== 'object' || data === null || data.type !== 'citybase') return;
  runCommand(widget, data);
});
