import { hasRight, type Principal } from '../../access/access.ts';
import type { LiveVehicle } from './fleet-state.ts';

/**
 * Who sees which live vehicle: the `vehicle:watch` right, and then the vehicles of the principal's own
 * department. The decision itself is access.ts's hasRight; this only narrows the fleet to a department.
 */
export function canWatch(principal: Principal): boolean {
  return principal.department !== null && hasRight(principal, 'vehicle:watch');
}

export function visibleTo(principal: Principal): (v: LiveVehicle) => boolean {
  const department = principal.department;
  return (v) => v.department === department;
}
