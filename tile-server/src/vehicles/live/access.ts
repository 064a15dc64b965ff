import { hasRight, withinScopes, type Principal } from '../../access/access.ts';
import type { LiveVehicle } from './fleet-state.ts';

/**
 * Who sees which vehicle: the `vehicle:watch` right, then the vehicles of the principal's own department, and
 * of those, when the principal is limited to districts (scopes), only the vehicles registered in them, and when
 * limited to vehicle groups (an operator of 一车队), only the vehicles of those groups. The
 * decisions themselves are access.ts's hasRight and withinScopes; this only applies them to the fleet. The live
 * channel, the tiles, the fleet list, playback and reports all use these two functions.
 */
export function canWatch(principal: Principal): boolean {
  return principal.department !== null && hasRight(principal, 'vehicle:watch');
}

export function visibleTo(principal: Principal): (v: Pick<LiveVehicle, 'department' | 'district' | 'group'>) => boolean {
  const department = principal.department;
  const groups = principal.vehicleGroups ?? null;
  return (v) => v.department === department && withinScopes(principal, v.district) && (groups === null || (v.group !== null && groups.includes(v.group)));
}
