import type { LayerMeta } from '../sources/source.ts';
import { HttpError } from '../errors.ts';
import type { Right } from './rights.ts';
import { embedMayShow, type EmbedGrant } from './embed.ts';

/**
 * Who is asking: nobody (anonymous), a machine through an API key, a person through a session, or a web site
 * through an embed key. Every kind carries the same fields, so the checks below are the only place that
 * decides what a request may see and do.
 */
export interface Principal {
  readonly kind: 'anonymous' | 'key' | 'user' | 'embed';
  /** The department acting (a key's, a user's); null for anonymous. */
  readonly department: string | null;
  readonly keyId: number | null;
  readonly userId: number | null;
  readonly login: string | null;
  readonly roles: readonly string[];
  readonly rights: readonly Right[];
  /**
   * 行政区划 codes the principal is limited to (prefix match on codes, intersection with boundaries);
   * null = not limited (anonymous and city-wide principals). ['320800'] is normalised to null.
   */
  readonly scopes: readonly string[] | null;
  /** Vehicle desk operators limited to vehicle groups (fleet_group); null or absent: every group. */
  readonly vehicleGroups?: readonly string[] | null;
  /** The session (users only), for revocation and CSRF. */
  readonly sessionId: string | null;
  /** Embed keys only: the origins, layers and rate they are bound to (access/embed.ts). */
  readonly embed?: EmbedGrant;
}

export const anonymous: Principal = Object.freeze({
  kind: 'anonymous',
  department: null,
  keyId: null,
  userId: null,
  login: null,
  roles: [],
  rights: [],
  scopes: null,
  sessionId: null,
});

/** The city's own code: a scope of the whole city is no limit at all. */
export const CITY_CODE = '320800';

/** Normalise stored scopes: empty or containing the city → null (unlimited); sorted and deduplicated otherwise. */
export function normaliseScopes(scopes: readonly string[] | null | undefined): readonly string[] | null {
  if (!scopes || scopes.length === 0 || scopes.includes(CITY_CODE)) return null;
  return [...new Set(scopes)].sort();
}

export function hasRight(principal: Principal, right: Right): boolean {
  return principal.rights.includes(right);
}

/**
 * Is a thing registered in this 行政区划 (code, or null for city-level things) within the principal's scopes?
 * Unlimited principals see all; a limited one sees codes under one of its scopes (prefix) and nothing city-level.
 */
export function withinScopes(principal: Principal, code: string | null): boolean {
  if (principal.scopes === null) return true;
  return code !== null && principal.scopes.some((s) => code.startsWith(s));
}

/** Throw 401 (nobody signed in) or 403 (signed in, not allowed) unless the principal holds the right. */
export function requireRight(principal: Principal, right: Right): void {
  if (hasRight(principal, right)) return;
  if (principal.kind === 'anonymous') throw new HttpError(401, 'unauthenticated', `sign in or give an API key: this needs the right ${right}`);
  throw new HttpError(403, 'forbidden', `${principal.login ?? 'this key'} lacks the right ${right}`);
}

/**
 * The one layer check, used by tiles, TileJSON, the catalog, the features API and analyses. public: everyone;
 * internal: any department (a key, a user or an embed key of one); restricted: the owner and the departments
 * it allows; an embed key besides only the layers it lists. A layer the caller may not see is answered like an unknown one, so its existence does not leak.
 */
export function canSee(principal: Principal, layer: Pick<LayerMeta, 'access' | 'owner' | 'allow'> & Partial<Pick<LayerMeta, 'id' | 'theme'>>): boolean {
  // An embed key shows only its own layers (and the public base map), from an origin it is bound to.
  if (principal.kind === 'embed' && (!principal.embed || !embedMayShow(principal.embed, layer))) return false;
  switch (layer.access) {
    case 'public':
      return true;
    case 'internal':
      return principal.department !== null && hasRight(principal, 'layer:read');
    case 'restricted':
      return (
        principal.department !== null &&
        hasRight(principal, 'layer:read') &&
        (principal.department === layer.owner || layer.allow.includes(principal.department))
      );
  }
}

/**
 * May the principal take a layer away whole (GET /collections/{layer}/download)? Public layers are open data:
 * whoever may see them may download them. Internal and restricted ones need the right layer:export besides
 * seeing them (a viewer reads the map, an editor takes the data), and never through an embed key: that key is
 * written in other sites' pages, and an Origin header is forged easily outside a browser.
 */
export function canExport(principal: Principal, layer: Pick<LayerMeta, 'access' | 'owner' | 'allow'> & Partial<Pick<LayerMeta, 'id' | 'theme'>>): boolean {
  if (!canSee(principal, layer)) return false;
  if (layer.access === 'public') return true;
  return principal.kind !== 'embed' && hasRight(principal, 'layer:export');
}

/** May the principal import into (and so own or replace) a layer of this department? */
export function canImportFor(principal: Principal, owner: string, allow: readonly string[] = []): boolean {
  return hasRight(principal, 'layer:import') && principal.department !== null && (principal.department === owner || allow.includes(principal.department));
}
