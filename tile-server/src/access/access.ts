import type { LayerMeta } from '../sources/source.ts';

/**
 * Who is asking. Today: anonymous, or a department through an API key. Users, roles and embed keys will be
 * more kinds of principal; the layer check below is the only place that decides, so they slot in here.
 */
export interface Principal {
  readonly kind: 'anonymous' | 'department';
  readonly department: string | null;
  readonly keyId: number | null;
  readonly rights: readonly string[];
}

export const anonymous: Principal = Object.freeze({ kind: 'anonymous', department: null, keyId: null, rights: [] });

/**
 * The one access check, used by tiles, TileJSON and the catalog. public: everyone; internal: any department;
 * restricted: the owner and the departments it allows. A layer the caller may not see is answered like an
 * unknown one, so its existence does not leak.
 */
export function canSee(principal: Principal, layer: Pick<LayerMeta, 'access' | 'owner' | 'allow'>): boolean {
  switch (layer.access) {
    case 'public':
      return true;
    case 'internal':
      return principal.department !== null;
    case 'restricted':
      return principal.department !== null && (principal.department === layer.owner || layer.allow.includes(principal.department));
  }
}
