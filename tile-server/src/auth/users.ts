import type { QueryRunner } from '../db/query.ts';
import { HttpError, badRequest } from '../errors.ts';
import { CITY_CODE } from '../access/access.ts';
import { roleConflict } from '../access/rights.ts';
import { generatePassword, hashPassword, policyProblem, verifyPassword } from './password.ts';

/** A person as the platform keeps them. The password hash and TOTP secret never leave this module's callers. */
export interface UserRow {
  id: number;
  login: string;
  display_name: string;
  department_id: string;
  phone: string | null;
  roles: string[];
  scopes: string[];
  vehicle_groups: string[] | null;
  state: 'active' | 'locked' | 'disabled';
  locked_until: Date | null;
  password_hash: string;
  password_history: string[];
  must_change_password: boolean;
  totp_secret: string | null;
  totp_enabled: boolean;
  last_login_at: Date | null;
  created_at: Date;
}

/** What the API and the CLI show of a user. */
export function publicUser(u: UserRow) {
  return {
    id: u.id,
    login: u.login,
    displayName: u.display_name,
    department: u.department_id,
    phone: u.phone,
    roles: u.roles,
    scopes: u.scopes,
    vehicleGroups: u.vehicle_groups,
    state: u.state === 'locked' && u.locked_until !== null && u.locked_until.getTime() <= Date.now() ? 'active' : u.state,
    lockedUntil: u.locked_until,
    mustChangePassword: u.must_change_password,
    totp: u.totp_enabled,
    lastLogin: u.last_login_at,
    created: u.created_at,
  };
}

export const LOGIN_PATTERN = /^[a-z][a-z0-9_.-]{1,63}$/;
const PASSWORD_MEMORY = 5;

export interface UserChanges {
  displayName?: string | undefined;
  department?: string | undefined;
  phone?: string | null | undefined;
  roles?: string[] | undefined;
  scopes?: string[] | undefined;
  /** null: every vehicle group; undefined: unchanged. */
  vehicleGroups?: string[] | null | undefined;
}

/** Users: every statement about them is here. */
export class UserStore {
  constructor(private readonly run: QueryRunner) {}

  async byLogin(login: string): Promise<UserRow | undefined> {
    return (await this.run.query<UserRow & Record<string, unknown>>(`SELECT * FROM citybase.users WHERE login = $1`, [login.toLowerCase()]))[0];
  }

  async byId(id: number): Promise<UserRow | undefined> {
    return (await this.run.query<UserRow & Record<string, unknown>>(`SELECT * FROM citybase.users WHERE id = $1`, [id]))[0];
  }

  async list(): Promise<UserRow[]> {
    return this.run.query<UserRow & Record<string, unknown>>(`SELECT * FROM citybase.users ORDER BY login`);
  }

  /** Check roles, scopes and department; throws 400 naming the problem. */
  async validate(c: UserChanges): Promise<void> {
    if (c.roles) {
      const problem = roleConflict(c.roles);
      if (problem) throw badRequest('invalid_roles', problem);
    }
    if (c.scopes) await this.checkScopes(c.scopes);
    if (c.department !== undefined) {
      const rows = await this.run.query(`SELECT 1 FROM citybase.departments WHERE id = $1`, [c.department]);
      if (!rows.length) throw badRequest('unknown_department', `no department "${String(c.department).slice(0, 40)}"`);
    }
    if (c.vehicleGroups != null) {
      const g = c.vehicleGroups;
      if (!Array.isArray(g) || g.length === 0 || g.length > 100 || g.some((x) => typeof x !== 'string' || x.trim() === '' || x.length > 64))
        throw badRequest('invalid_vehicle_groups', 'vehicleGroups: 1 to 100 group names (1 to 64 characters), or null for every group');
    }
    if (c.phone != null && !/^\+?[0-9 -]{5,20}$/.test(c.phone)) throw badRequest('invalid_phone', 'phone: digits, spaces and -, 5 to 20');
  }

  /** Scopes must be codes of the platform's own boundaries (or the city's). */
  async checkScopes(scopes: string[]): Promise<void> {
    if (!Array.isArray(scopes) || scopes.length === 0) throw badRequest('invalid_scope', 'give at least one scope (320800 for the whole city)');
    const bad = scopes.filter((s) => typeof s !== 'string' || !/^\d{6}(\d{3})?$/.test(s));
    if (bad.length) throw badRequest('invalid_scope', `a scope is a 6-digit 区县 or 9-digit 乡镇/街道 code: ${bad.map(String).join(', ').slice(0, 80)}`);
    const rows = await this.run.query<{ code: string }>(`SELECT code FROM citybase.admin_areas WHERE code = ANY ($1)`, [scopes]);
    const known = new Set([CITY_CODE, ...rows.map((r) => r.code)]);
    const unknown = scopes.filter((s) => !known.has(s));
    if (unknown.length) throw badRequest('unknown_scope', `no boundary with the code ${unknown.join(', ')}`);
  }

  /** A new user with a one-time password (returned once; it must be changed at first sign-in). */
  async create(login: string, c: UserChanges & { department: string; roles: string[] }): Promise<{ user: UserRow; password: string }> {
    login = login.toLowerCase();
    if (!LOGIN_PATTERN.test(login)) throw badRequest('invalid_login', 'login: lower-case letters, digits and _ . -, starting with a letter, 2 to 64');
    await this.validate(c);
    if (await this.byLogin(login)) throw new HttpError(409, 'login_taken', `the login "${login}" is taken`);
    const password = generatePassword();
    const rows = await this.run.query<UserRow & Record<string, unknown>>(
      `INSERT INTO citybase.users (login, display_name, department_id, phone, roles, scopes, vehicle_groups, password_hash, must_change_password)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true) RETURNING *`,
      [login, c.displayName ?? '', c.department, c.phone ?? null, c.roles, c.scopes ?? [CITY_CODE], c.vehicleGroups ?? null, await hashPassword(password)],
    );
    return { user: rows[0]!, password };
  }

  async update(id: number, c: UserChanges): Promise<UserRow> {
    await this.validate(c);
    const rows = await this.run.query<UserRow & Record<string, unknown>>(
      `UPDATE citybase.users SET
         display_name = coalesce($2, display_name), department_id = coalesce($3, department_id),
         phone = CASE WHEN $4::boolean THEN $5 ELSE phone END,
         roles = coalesce($6, roles), scopes = coalesce($7, scopes),
         vehicle_groups = CASE WHEN $8::boolean THEN $9 ELSE vehicle_groups END, updated_at = now()
       WHERE id = $1 RETURNING *`,
      [id, c.displayName ?? null, c.department ?? null, c.phone !== undefined, c.phone ?? null, c.roles ?? null, c.scopes ?? null, c.vehicleGroups !== undefined, c.vehicleGroups ?? null],
    );
    if (!rows[0]) throw new HttpError(404, 'unknown_user', `no user ${id}`);
    return rows[0];
  }

  /** A new one-time password (must be changed at next sign-in); the account is unlocked. */
  async reset(id: number): Promise<string> {
    const password = generatePassword();
    const rows = await this.run.query(
      `UPDATE citybase.users SET password_hash = $2, must_change_password = true, state = CASE WHEN state = 'locked' THEN 'active' ELSE state END,
         locked_until = NULL, updated_at = now() WHERE id = $1 RETURNING id`,
      [id, await hashPassword(password)],
    );
    if (!rows.length) throw new HttpError(404, 'unknown_user', `no user ${id}`);
    return password;
  }

  async setState(id: number, state: 'active' | 'locked' | 'disabled', lockedUntil: Date | null = null): Promise<UserRow> {
    const rows = await this.run.query<UserRow & Record<string, unknown>>(
      `UPDATE citybase.users SET state = $2, locked_until = $3, updated_at = now() WHERE id = $1 RETURNING *`,
      [id, state, lockedUntil],
    );
    if (!rows[0]) throw new HttpError(404, 'unknown_user', `no user ${id}`);
    if (state === 'active') await this.run.query(`DELETE FROM citybase.sign_in_failures WHERE login = $1`, [rows[0].login]);
    return rows[0];
  }

  /**
   * Change a password after checking the current one and the policy (not the login, not one of the last 5).
   * Returns the problem as an HttpError (400/401) instead of changing anything.
   */
  async changePassword(user: UserRow, current: unknown, next: unknown): Promise<void> {
    if (typeof current !== 'string' || typeof next !== 'string') throw badRequest('invalid_request', 'give "password" and "newPassword" as strings');
    if (!(await verifyPassword(current, user.password_hash))) throw new HttpError(401, 'invalid_credentials', 'the current password is wrong');
    const problem = policyProblem(next, user.login);
    if (problem) throw badRequest('weak_password', problem);
    for (const old of [user.password_hash, ...user.password_history.slice(0, PASSWORD_MEMORY - 1)])
      if (await verifyPassword(next, old)) throw badRequest('password_reused', `the new password must differ from the last ${PASSWORD_MEMORY}`);
    await this.run.query(
      `UPDATE citybase.users SET password_hash = $2, password_history = (ARRAY[password_hash] || password_history)[1:$3],
         must_change_password = false, password_changed_at = now(), updated_at = now() WHERE id = $1`,
      [user.id, await hashPassword(next), PASSWORD_MEMORY - 1],
    );
  }
}
