import supertest from 'supertest';
import type { TestPlatform } from './platform.ts';

export const GOOD_PASSWORD = 'Huaian-2026-Map';

export interface SignedIn {
  agent: ReturnType<typeof supertest.agent>;
  csrf: string;
  login: string;
  userId: number;
}

/** Create a user as an administrator would (one-time password) and return it with that password. */
export async function createUser(
  tp: TestPlatform,
  login: string,
  opts: { roles?: string[]; scopes?: string[]; department?: string } = {},
): Promise<{ id: number; password: string }> {
  const { user, password } = await tp.platform.identity.users.create(login, {
    department: opts.department ?? 'dsj',
    roles: opts.roles ?? ['viewer'],
    scopes: opts.scopes ?? ['320800'],
  });
  return { id: user.id, password };
}

/**
 * A person signed in through the API as a browser would be: the one-time password changed at first sign-in,
 * the session cookie kept by the agent, the CSRF token from GET /api/session.
 */
export async function signIn(
  tp: TestPlatform,
  login: string,
  opts: { roles?: string[]; scopes?: string[]; department?: string; password?: string } = {},
): Promise<SignedIn> {
  const { id, password } = await createUser(tp, login, opts);
  const agent = supertest.agent(tp.platform.app.callback());
  const first = await agent.post('/api/session').send({ login, password });
  if (first.status !== 403 || first.body.error !== 'password_change_required') throw new Error(`first sign-in: ${first.status} ${JSON.stringify(first.body)}`);
  const csrf1 = first.body.session.csrfToken as string;
  const changed = await agent
    .post('/api/session/password')
    .set('X-CSRF-Token', csrf1)
    .send({ password, newPassword: opts.password ?? GOOD_PASSWORD });
  if (changed.status !== 200) throw new Error(`password change: ${changed.status} ${JSON.stringify(changed.body)}`);
  return { agent, csrf: changed.body.csrfToken as string, login, userId: id };
}
