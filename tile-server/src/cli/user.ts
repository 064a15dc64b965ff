import { parseArgs } from 'node:util';
import { roleNames } from '../access/rights.ts';
import { audit, systemActor } from '../auth/audit.ts';
import { publicUser, UserStore } from '../auth/users.ts';
import { HttpError } from '../errors.ts';
import { openCliDatabase, runCli } from './database.ts';

const usage = `usage:
  npm run user -- create --login <name> --role <role>[,<role>…] [--department <id>] [--scope <code>[,<code>…]]
                         [--name <display name>] [--phone <number>]
  npm run user -- list
  npm run user -- reset|lock|unlock|disable|enable <login>
roles: ${roleNames.join(', ')}
A new or reset account gets a one-time password, printed on the last line; it must be changed at first sign-in.`;

const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean);

/** People from the command line: the first administrator, and the rescue of a locked-out one. */
async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      login: { type: 'string' },
      role: { type: 'string' },
      department: { type: 'string' },
      scope: { type: 'string' },
      name: { type: 'string' },
      phone: { type: 'string' },
    },
  });
  const [command, arg] = positionals;
  if (!command || !['create', 'list', 'reset', 'lock', 'unlock', 'disable', 'enable'].includes(command)) {
    console.error(usage);
    return 2;
  }
  const db = await openCliDatabase();
  const users = new UserStore(db.run);
  const actor = systemActor(`cli:${process.env.SUDO_USER ?? process.env.USER ?? 'root'}`);
  try {
    if (command === 'create') {
      if (!values.login || !values.role) throw new Error(`--login and --role are required\n${usage}`);
      const { user, password } = await users.create(values.login, {
        department: values.department ?? 'dsj',
        roles: list(values.role)!,
        scopes: list(values.scope),
        displayName: values.name,
        phone: values.phone,
      });
      await audit(db.run, actor, { action: 'user.create', outcome: 'success', target: user.login, details: { roles: user.roles, scopes: user.scopes, department: user.department_id } });
      console.log(`user ${user.login} (${user.roles.join(',')}; ${user.department_id}; scope ${user.scopes.join(',')}) created; one-time password (change it at first sign-in):`);
      console.log(password);
      return 0;
    }
    if (command === 'list') {
      console.table((await users.list()).map((u) => {
        const p = publicUser(u);
        return { login: p.login, name: p.displayName, department: p.department, roles: p.roles.join(','), scopes: p.scopes.join(','), state: p.state, lastLogin: p.lastLogin };
      }));
      return 0;
    }
    if (!arg) throw new Error(`give the login\n${usage}`);
    const user = await users.byLogin(arg);
    if (!user) throw new Error(`no user "${arg}"`);
    let password: string | undefined;
    if (command === 'reset') password = await users.reset(user.id);
    else await users.setState(user.id, command === 'lock' ? 'locked' : command === 'disable' ? 'disabled' : 'active', null);
    if (['reset', 'lock', 'disable'].includes(command))
      await db.run.query(`UPDATE citybase.sessions SET revoked_at = now(), ended_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL`, [user.id, command]);
    await audit(db.run, actor, { action: `user.${command}`, outcome: 'success', target: user.login });
    if (password) {
      console.log(`user ${user.login}: password reset and account unlocked; one-time password (change it at first sign-in):`);
      console.log(password);
    } else console.log(`user ${user.login}: ${command === 'unlock' || command === 'enable' ? 'active' : command === 'lock' ? 'locked' : 'disabled'}`);
    return 0;
  } catch (err) {
    if (err instanceof HttpError) throw new Error(err.message);
    throw err;
  } finally {
    await db.close();
  }
}

runCli('user', main);
