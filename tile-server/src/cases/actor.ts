import type { Principal } from '../access/access.ts';

/** Who acts, as the timeline and the case's reporter/assignee record it: a user, else the API key. */
export function actorOf(principal: Principal): string {
  if (principal.userId !== null) return `user:${principal.userId}`;
  if (principal.keyId !== null) return `key:${principal.keyId}`;
  return 'anonymous';
}

/** The roles the actor acted with (a key has rights, not roles: its department then). */
export function actorRole(principal: Principal): string {
  if (principal.roles.length) return principal.roles.join(',');
  return principal.kind === 'key' ? `key of ${principal.department}` : principal.kind;
}

/**
 * The scope condition on a case row aliased `c`: a principal limited to 行政区划 codes sees the cases whose
 * most detailed division (社区, else 街道, else 区县) starts with one of them. `$n` is the scopes array (NULL =
 * city-wide). Applied in SQL, so lists, sheets, counts and transitions agree; the rule itself is the database's
 * (cases.in_scope, migration 0034), which the case layers' tiles use too.
 */
export function scopeCondition(param: number, alias = 'c'): string {
  return `cases.in_scope(cases.scope_code(${alias}.community_code, ${alias}.street_code, ${alias}.district_code), $${param}::text[])`;
}

/**
 * The case a reference names, on a case row aliased `c`: its id (digits) or its code. Written so that both
 * halves are index lookups (a BitmapOr of the primary key and the code's unique index); `c.id::text = $n` was a
 * scan of every case, under the row lock of a transition.
 */
export function caseRefCondition(param: number, alias = 'c'): string {
  return `(${alias}.id = CASE WHEN $${param}::text ~ '^[0-9]{1,15}$' THEN $${param}::text::int8 END OR ${alias}.code = $${param}::text)`;
}
