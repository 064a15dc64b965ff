import type { Principal } from '../access/access.ts';
import type { KeyStore } from '../access/keys.ts';
import type { QueryRunner } from '../db/query.ts';
import type { SignInSettings } from './sign-in.ts';
import type { SessionPrincipal, SessionStore } from './sessions.ts';
import type { UserStore } from './users.ts';

/** Everything the identity routes need, made once by platform.ts. */
export interface Identity {
  run: QueryRunner;
  users: UserStore;
  sessions: SessionStore;
  keys: KeyStore;
  signIn: SignInSettings;
  publicUrl: string | undefined;
  sessionLifetimeMs: number;
  idleMs: number;
  totpRequired: boolean;
}

/** GET /api/session: who is asking, with what roles, rights and scope. */
export function describePrincipal(p: Principal, idleMs: number) {
  const base = {
    kind: p.kind,
    department: p.department,
    roles: p.roles,
    rights: p.rights,
    scopes: p.scopes ?? ['320800'],
  };
  if (p.kind !== 'user') return { ...base, authenticated: p.kind !== 'anonymous', keyId: p.keyId };
  const s = p as SessionPrincipal;
  return {
    ...base,
    authenticated: true,
    userId: s.userId,
    login: s.login,
    pending: s.pending,
    csrfToken: s.csrfToken,
    expiresAt: s.expiresAt.toISOString(),
    idleTimeoutMin: Math.round(idleMs / 60_000),
  };
}
