/**
 * The one table of roles and rights. A right names an action; a role is a named set of rights. Users hold
 * roles, API keys hold rights directly (machines have no roles). Every access decision asks `hasRight` or
 * `canSee` in access.ts, which read this table and nothing else.
 */
export const rights = [
  'layer:read', // see internal layers (public ones need no right)
  'layer:import', // import into and edit its department's layers
  'layer:export', // download layers and selections
  'case:report', // 上报 (inspectors, Open311 clients, the hotline)
  'case:hotline', // 12345 热线: register a caller's report (source 12345热线) with the caller's contact
  'case:verify', // 核实 and 核查 tasks
  'case:accept', // 立案 / 不予立案
  'case:dispatch', // 派遣, 回退 handling, merge duplicates
  'case:handle', // a department's 处置
  'case:supervise', // 督办, 延期 approval, 挂账, 作废
  'case:evaluate', // 综合评价
  'case:read', // the case desk (read)
  'vehicle:watch', // live vehicles, playback, reports, acknowledge alarms
  'vehicle:manage', // vehicles, terminals, fences
  'embed:manage', // embed keys and saved widgets of its department
  'user:manage', // users, roles, departments, API keys
  'session:manage', // list and revoke sessions, unlock accounts
  'system:read', // health details and metrics
  'audit:read', // the audit trail (and nothing else for the auditor)
] as const;
export type Right = (typeof rights)[number];

export const roles = {
  admin: ['layer:read', 'layer:import', 'layer:export', 'user:manage', 'session:manage', 'embed:manage', 'system:read', 'case:read'],
  security_admin: ['layer:read', 'session:manage', 'system:read'],
  auditor: ['audit:read'],
  viewer: ['layer:read'],
  editor: ['layer:read', 'layer:import', 'layer:export', 'embed:manage'],
  inspector: ['layer:read', 'case:report', 'case:verify'],
  acceptor: ['layer:read', 'case:read', 'case:report', 'case:accept'],
  dispatcher: ['layer:read', 'case:read', 'case:report', 'case:dispatch'],
  supervisor: ['layer:read', 'case:read', 'case:report', 'case:accept', 'case:dispatch', 'case:supervise', 'case:evaluate'],
  handler: ['layer:read', 'case:read', 'case:handle'],
  evaluator: ['layer:read', 'case:read', 'case:evaluate'],
  hotline_operator: ['layer:read', 'case:read', 'case:report', 'case:hotline'],
  vehicle_operator: ['layer:read', 'vehicle:watch'],
  vehicle_admin: ['layer:read', 'vehicle:watch', 'vehicle:manage'],
} as const satisfies Record<string, readonly Right[]>;
export type Role = keyof typeof roles;
export const roleNames = Object.keys(roles) as Role[];

/** 等保 三员分立: the system administrator, the security administrator and the auditor are three people. */
export const separatedRoles: readonly Role[] = ['admin', 'security_admin', 'auditor'];

/** Roles whose holders must use a second factor when TOTP is enforced (AUTH_TOTP_REQUIRED). */
export const privilegedRoles: readonly Role[] = ['admin', 'security_admin', 'auditor'];

/** Rights an API key may hold: a machine never administers users or reads the audit trail. */
export const keyRights: readonly Right[] = rights.filter((r) => !['user:manage', 'session:manage', 'audit:read'].includes(r));

/** Rights an embed key has: read-only by construction. */
export const embedRights: readonly Right[] = ['layer:read'];

/** Rights of keys made before rights had names (`read`, `import`). */
const legacy: Record<string, Right> = { read: 'layer:read', import: 'layer:import' };

export function isRole(s: string): s is Role {
  return Object.hasOwn(roles, s);
}
export function isRight(s: string): s is Right {
  return (rights as readonly string[]).includes(s);
}

/** The rights of a set of roles, deduplicated and in the table's order. */
export function rightsOfRoles(held: readonly string[]): Right[] {
  const set = new Set<string>();
  for (const r of held) if (isRole(r)) for (const right of roles[r]) set.add(right);
  return rights.filter((r) => set.has(r));
}

/** Normalise rights as stored on a key (legacy names mapped, unknown ones dropped). */
export function normaliseRights(stored: readonly string[]): Right[] {
  const set = new Set<string>(stored.map((r) => legacy[r] ?? r));
  return rights.filter((r) => set.has(r));
}

/** Why a combination of roles is not allowed, or null. */
export function roleConflict(held: readonly string[]): string | null {
  const unknown = held.filter((r) => !isRole(r));
  if (unknown.length) return `unknown role ${unknown.map((r) => `"${r}"`).join(', ')} (roles: ${roleNames.join(', ')})`;
  const separated = held.filter((r) => separatedRoles.includes(r as Role));
  if (separated.length > 1) return `${separated.join(' and ')} must be held by different people (三员分立)`;
  return null;
}
