import type { Context, Next } from 'koa';
import type { LayerMeta } from '../sources/source.ts';
import { HttpError, badRequest } from '../errors.ts';
import { TokenBuckets } from '../protection/rate-limit.ts';
import type { Principal } from './access.ts';

/**
 * Embed keys: what a department's web site may show in a CityBase map widget. An embed key is a public-by-design
 * identifier (it travels in the iframe's URL, like a Mapbox public token), so what protects it is what it is bound
 * to: the origins that may use it, the layers it may show, a rate per client address, and read-only rights.
 *
 * This file is the one place where requests carrying an embed key are checked (`embedGuard`, mounted right after
 * the principal is resolved): the origin (Origin, else Referer), the rate, and the CORS answer for the host page.
 * Which layers such a request sees is decided by `canSee` (access.ts), which asks `embedMayShow` below.
 */
export interface EmbedGrant {
  /** Allowed origins: exact (`https://sthjj.huaian.gov.cn`) or patterns (`https://*.huaian.gov.cn`). */
  readonly origins: readonly string[];
  /** The layers the key may show (base-map layers that are public come with every key). */
  readonly layers: readonly string[];
  /** Requests per minute per client address. */
  readonly ratePerMinute: number;
  /**
   * The origin this request was checked against: one of the key's origins or the platform's own (the widget
   * page's requests); null when the request named none (then only public layers are shown).
   */
  readonly origin: string | null;
}

export const DEFAULT_EMBED_RATE = 600;

/**
 * Normalise an allowed origin as given by a person: `https://host[:port]`, or a pattern `https://*.host`; a bare
 * `*.example.gov.cn` means https. Paths, credentials, queries and a lone `*` are refused.
 */
export function parseAllowedOrigin(raw: string): string {
  const s = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : s.startsWith('*.') ? `https://${s}` : s;
  const m = /^(https?):\/\/(\*\.)?([^/?#@*]+?)\/?$/i.exec(withScheme);
  if (!m) throw badRequest('invalid_origin', `"${raw.slice(0, 100)}" is not an origin: give https://host[:port] or https://*.domain (no path)`);
  let url: URL;
  try {
    url = new URL(`${m[1]}://${m[3]}`);
  } catch {
    throw badRequest('invalid_origin', `"${raw.slice(0, 100)}" is not an origin: give https://host[:port] or https://*.domain (no path)`);
  }
  if (m[2] && !url.hostname.includes('.'))
    throw badRequest('invalid_origin', `"${raw.slice(0, 100)}": a pattern needs a domain of at least two labels (https://*.example.gov.cn)`);
  return m[2] ? `${url.protocol}//*.${url.host}` : url.origin;
}

/** Does an origin (scheme://host[:port], as a browser sends it) match an allowed origin or pattern? */
export function originMatches(origin: string, allowed: string): boolean {
  if (!allowed.includes('://*.')) return origin === allowed;
  let o: URL;
  let a: URL;
  try {
    o = new URL(origin);
    a = new URL(allowed.replace('://*.', '://'));
  } catch {
    return false;
  }
  return o.protocol === a.protocol && o.port === a.port && o.hostname.endsWith(`.${a.hostname}`) && o.origin === origin;
}

/** The origin a request comes from: its Origin header, else its Referer's origin; null when it names none. */
export function requestOrigin(ctx: Pick<Context, 'get'>): string | null {
  const origin = ctx.get('Origin');
  if (origin && origin !== 'null') return origin;
  const referer = ctx.get('Referer');
  if (!referer) return origin === 'null' ? 'null' : null;
  try {
    return new URL(referer).origin;
  } catch {
    return 'null';
  }
}

/** May an embed key show this layer at all (before the access level is checked)? */
export function embedMayShow(grant: EmbedGrant, layer: Pick<LayerMeta, 'access'> & Partial<Pick<LayerMeta, 'id' | 'theme'>>): boolean {
  const listed = (layer.id !== undefined && grant.layers.includes(layer.id)) || (layer.access === 'public' && layer.theme === 'basemap');
  // Without an origin nothing binds the request to a site: only what anybody may see.
  return listed && (layer.access === 'public' || grant.origin !== null);
}

/**
 * The layers an embed key of a department may list: each must exist and be visible to the department (a
 * restricted layer only to its owner and the departments it allows). Returns the ids, deduplicated.
 */
export function checkEmbedLayers(department: string, ids: readonly string[], layers: ReadonlyMap<string, Pick<LayerMeta, 'access' | 'owner' | 'allow'>>): string[] {
  const wanted = [...new Set(ids.map((s) => s.trim()).filter(Boolean))];
  if (wanted.length === 0) throw badRequest('invalid_layers', 'name at least one layer the widget may show');
  for (const id of wanted) {
    const l = layers.get(id);
    const visible = l && (l.access !== 'restricted' || l.owner === department || l.allow.includes(department));
    if (!visible) throw badRequest('invalid_layers', `no layer "${id.slice(0, 64)}" that department ${department} may show`);
  }
  return wanted;
}

/** The CSP `frame-ancestors` of the widget page for a key: the platform itself and the key's origins. */
export function frameAncestors(grant: Pick<EmbedGrant, 'origins'>): string {
  return `frame-ancestors 'self' ${grant.origins.join(' ')}`;
}

/**
 * Every request carrying an embed key passes here (tiles, TileJSON, styles, catalog, items, identify, the widget
 * page): from an origin not on the key → 403 naming it; over the key's rate for this client address → 429 with
 * Retry-After; otherwise the principal goes on with the checked origin, and a cross-origin caller (the web
 * component on the host page) gets a CORS answer for its own origin. The platform's own origin counts as allowed:
 * it is where the widget page lives, and which sites may frame that page is what its frame-ancestors says.
 */
export function embedGuard(opts: { ownOrigin: (ctx: Context) => string }) {
  const buckets = new TokenBuckets();
  return async function embedGuardMiddleware(ctx: Context, next: Next) {
    const p = ctx.state.principal as Principal;
    if (p.kind !== 'embed' || !p.embed) return next();
    const origin = requestOrigin(ctx);
    if (origin !== null && ctx.get('Origin')) {
      // Let the host page read the answer, refusals included (they name the problem and when to come back).
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Expose-Headers', 'Retry-After, ETag, Content-Crs, Content-Disposition');
      ctx.vary('Origin');
    }
    // Whatever the answer (the widget page, a refusal), only the key's sites may frame it: browsers enforce it.
    ctx.set('Content-Security-Policy', `${frameAncestors(p.embed)}`);
    const allowed = origin !== null && (origin === opts.ownOrigin(ctx) || p.embed.origins.some((a) => originMatches(origin, a)));
    if (origin !== null && !allowed)
      throw new HttpError(403, 'origin_not_allowed', `this embed key may not be used from ${origin.slice(0, 200)}`, { origin: origin.slice(0, 200) });
    const limit = { rate: p.embed.ratePerMinute / 60, burst: p.embed.ratePerMinute };
    const wait = buckets.take(`${p.keyId} ${ctx.ip || ctx.req.socket.remoteAddress}`, limit);
    if (wait) throw Object.assign(new HttpError(429, 'too_many_requests', `this embed key allows ${p.embed.ratePerMinute} requests a minute per address: try again in ${wait} s`), { retryAfterS: wait });
    ctx.state.principal = Object.freeze({ ...p, embed: Object.freeze({ ...p.embed, origin }) });
    await next();
    // The answer depends on the origin: a shared cache must not hand it to a request from another site.
    ctx.vary('Origin');
    const cc = ctx.response.get('Cache-Control');
    if (/\bpublic\b/.test(cc)) ctx.set('Cache-Control', cc.replace(/\bpublic\b/, 'private'));
  };
}
