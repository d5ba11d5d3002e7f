// auth (enable/disable), user and role.

import { authpb } from '@tsetcd/proto';
import type { CommandDef, RunContext } from '../command.js';
import type { DeepPartial, RawUnary } from '@tsetcd/client';
import type { Connection } from '../connection.js';
import { grpcErrorText } from '../connection.js';
import { CtlExit, ExitCode } from '../errors.js';
import { EtcdError, prefixEnd } from '@tsetcd/common';

const bad = (msg: string): never => {
  throw new CtlExit(ExitCode.BadArgs, msg);
};

/** Reads a password the way etcdctl does without a terminal: lines (or a token) from stdin. */
async function readPassword(ctx: RunContext, name: string, interactive: boolean): Promise<string> {
  const text = await ctx.session.readStdin();
  if (!interactive) return text.trim().split(/\s+/)[0] ?? '';
  const lines = text.split('\n');
  // speakeasy: prompt on stdout, echo off/on through stty (which complains without a terminal),
  // then a newline.
  const ask = (prompt: string, line: string | undefined) => {
    ctx.out.stdout(prompt);
    if (!ctx.io.stdinIsTty) ctx.out.stderr("stty: 'standard input': Inappropriate ioctl for device\n".repeat(2));
    ctx.out.stdout('\n');
    return line ?? '';
  };
  const p1 = ask(`Password of ${name}: `, lines[0]);
  if (p1.length === 0) bad('empty password');
  const p2 = ask(`Type password of ${name} again for confirmation: `, lines[1]);
  if (p1 !== p2) bad('given passwords are different');
  return p1;
}

/** Auth calls have no deadline in etcdctl (context.TODO()). */
function call<Req, Res>(c: Connection, method: RawUnary<Req, Res>, req: DeepPartial<Req>): Promise<Res> {
  return c.must(method, req, ExitCode.Error, undefined, 0);
}

async function userAdd(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('user add command requires user name as its argument');
  const f = ctx.flags;
  let user = ctx.args[0];
  let password = '';
  const noPassword = f.getBool('no-password');
  if (!noPassword) {
    if (f.getString('new-user-password') !== '') password = f.getString('new-user-password');
    else {
      const i = user.indexOf(':');
      if (i < 0) password = await readPassword(ctx, user, f.getBool('interactive'));
      else {
        password = user.slice(i + 1);
        user = user.slice(0, i);
        if (user.length === 0) bad('empty user name is not allowed');
      }
    }
  }
  const c = await ctx.session.client();
  const resp = await call(c, c.raw.auth.userAdd, { name: user, password, options: { noPassword } });
  ctx.session.display.userAdd(user, resp);
}

async function userDelete(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('user delete command requires user name as its argument');
  const c = await ctx.session.client();
  ctx.session.display.userDelete(ctx.args[0], await call(c, c.raw.auth.userDelete, { name: ctx.args[0] }));
}

async function userGet(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('user get command requires user name as its argument');
  const name = ctx.args[0];
  const c = await ctx.session.client();
  const resp = await call(c, c.raw.auth.userGet, { name });
  if (ctx.flags.getBool('detail')) {
    ctx.out.stdout(`User: ${name}\n`);
    for (const role of resp.roles) {
      ctx.out.stdout('\n');
      ctx.session.display.roleGet(role, await call(c, c.raw.auth.roleGet, { role }));
    }
  } else ctx.session.display.userGet(name, resp);
}

async function userList(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 0) bad('user list command requires no arguments');
  const c = await ctx.session.client();
  ctx.session.display.userList(await call(c, c.raw.auth.userList, {}));
}

async function userPasswd(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('user passwd command requires user name as its argument');
  const password = await readPassword(ctx, ctx.args[0], ctx.flags.getBool('interactive'));
  const c = await ctx.session.client();
  ctx.session.display.userChangePassword(await call(c, c.raw.auth.userChangePassword, { name: ctx.args[0], password }));
}

async function userGrantRole(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 2) bad('user grant command requires user name and role name as its argument');
  const c = await ctx.session.client();
  ctx.session.display.userGrantRole(ctx.args[0], ctx.args[1], await call(c, c.raw.auth.userGrantRole, { user: ctx.args[0], role: ctx.args[1] }));
}

async function userRevokeRole(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 2) bad('user revoke-role requires user name and role name as its argument');
  const c = await ctx.session.client();
  ctx.session.display.userRevokeRole(ctx.args[0], ctx.args[1], await call(c, c.raw.auth.userRevokeRole, { name: ctx.args[0], role: ctx.args[1] }));
}

async function roleAdd(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('role add command requires role name as its argument');
  const c = await ctx.session.client();
  ctx.session.display.roleAdd(ctx.args[0], await call(c, c.raw.auth.roleAdd, { name: ctx.args[0] }));
}

async function roleDelete(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('role delete command requires role name as its argument');
  const c = await ctx.session.client();
  ctx.session.display.roleDelete(ctx.args[0], await call(c, c.raw.auth.roleDelete, { role: ctx.args[0] }));
}

async function roleGet(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 1) bad('role get command requires role name as its argument');
  const c = await ctx.session.client();
  ctx.session.display.roleGet(ctx.args[0], await call(c, c.raw.auth.roleGet, { role: ctx.args[0] }));
}

async function roleList(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 0) bad('role list command requires no arguments');
  const c = await ctx.session.client();
  ctx.session.display.roleList(await call(c, c.raw.auth.roleList, {}));
}

/** etcdctl's permRange: the key and range end of a role permission. */
function permRange(ctx: RunContext, args: string[]): { key: string; rangeEnd: string } {
  const prefix = ctx.flags.getBool('prefix');
  const fromKey = ctx.flags.getBool('from-key');
  const key = args[0];
  if (key.length === 0) {
    if (prefix && fromKey) bad('--from-key and --prefix flags are mutually exclusive');
    return { key: '\x00', rangeEnd: prefix || fromKey ? '\x00' : '' };
  }
  if (args.length === 1) {
    if (prefix) {
      if (fromKey) bad('--from-key and --prefix flags are mutually exclusive');
      return { key, rangeEnd: prefixEnd(Buffer.from(key, 'utf8')).toString('latin1') };
    }
    return { key, rangeEnd: fromKey ? '\x00' : '' };
  }
  if (prefix) bad('unexpected endkey argument with --prefix flag');
  if (fromKey) bad('unexpected endkey argument with --from-key flag');
  return { key, rangeEnd: args[1] };
}

const rangeEndBytes = (s: string) => (/[^\x00-\x7f]/.test(s) && !/[\u0100-\uffff]/.test(s) ? Buffer.from(s, 'latin1') : Buffer.from(s, 'utf8'));

async function roleGrantPermission(ctx: RunContext): Promise<void> {
  const args = ctx.args;
  if (args.length < 3) bad('role grant command requires role name, permission type, and key [endkey] as its argument');
  const types: Record<string, authpb.Permission_Type> = { READ: authpb.Permission_Type.READ, WRITE: authpb.Permission_Type.WRITE, READWRITE: authpb.Permission_Type.READWRITE };
  const permType = types[args[1].toUpperCase()];
  if (permType === undefined) bad(`invalid permission type: ${args[1]}`);
  const { key, rangeEnd } = permRange(ctx, args.slice(2));
  const c = await ctx.session.client();
  const resp = await call(c, c.raw.auth.roleGrantPermission, { name: args[0], perm: { permType, key: Buffer.from(key, 'utf8'), rangeEnd: rangeEndBytes(rangeEnd) } });
  ctx.session.display.roleGrantPermission(args[0], resp);
}

async function roleRevokePermission(ctx: RunContext): Promise<void> {
  const args = ctx.args;
  if (args.length < 2) bad('role revoke-permission command requires role name and key [endkey] as its argument');
  const { key, rangeEnd } = permRange(ctx, args.slice(1));
  const c = await ctx.session.client();
  const resp = await call(c, c.raw.auth.roleRevokePermission, { role: args[0], key: Buffer.from(key, 'utf8'), rangeEnd: rangeEndBytes(rangeEnd) });
  ctx.session.display.roleRevokePermission(args[0], args[1], rangeEnd, resp);
}

async function authEnable(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 0) bad('auth enable command does not accept any arguments');
  const c = await ctx.session.client();
  for (;;) {
    try {
      await c.call(c.raw.auth.authEnable, {});
      break;
    } catch (e) {
      const text = grpcErrorText(e);
      if (text !== EtcdError.rootRoleNotExist.message) throw new CtlExit(ExitCode.Error, text);
      try {
        await c.call(c.raw.auth.roleAdd, { name: 'root' });
        await c.call(c.raw.auth.userGrantRole, { user: 'root', role: 'root' });
      } catch (e2) {
        throw new CtlExit(ExitCode.Error, grpcErrorText(e2));
      }
    }
  }
  ctx.out.stdout('Authentication Enabled\n');
}

async function authDisable(ctx: RunContext): Promise<void> {
  if (ctx.args.length !== 0) bad('auth disable command does not accept any arguments');
  const c = await ctx.session.client();
  await c.must(c.raw.auth.authDisable, {}, ExitCode.Error);
  ctx.out.stdout('Authentication Disabled\n');
}

export const authCommands: CommandDef[] = [
  {
    use: 'auth <enable or disable>',
    short: 'Enable or disable authentication',
    children: [
      { use: 'enable', short: 'Enables authentication', run: authEnable },
      { use: 'disable', short: 'Disables authentication', run: authDisable },
    ],
  },
  {
    use: 'user <subcommand>',
    short: 'User related commands',
    children: [
      {
        use: 'add <user name or user:password> [options]',
        short: 'Adds a new user',
        flags: [
          { name: 'interactive', kind: 'bool', def: 'true', usage: 'Read password from stdin instead of interactive terminal' },
          { name: 'new-user-password', kind: 'string', def: '', usage: 'Supply password from the command line flag' },
          { name: 'no-password', kind: 'bool', def: 'false', usage: 'Create a user without password (CN based auth only)' },
        ],
        run: userAdd,
      },
      { use: 'delete <user name>', short: 'Deletes a user', run: userDelete },
      {
        use: 'get <user name> [options]',
        short: 'Gets detailed information of a user',
        flags: [{ name: 'detail', kind: 'bool', def: 'false', usage: 'Show permissions of roles granted to the user' }],
        run: userGet,
      },
      { use: 'list', short: 'Lists all users', run: userList },
      {
        use: 'passwd <user name> [options]',
        short: 'Changes password of user',
        flags: [{ name: 'interactive', kind: 'bool', def: 'true', usage: 'If true, read password from stdin instead of interactive terminal' }],
        run: userPasswd,
      },
      { use: 'grant-role <user name> <role name>', short: 'Grants a role to a user', run: userGrantRole },
      { use: 'revoke-role <user name> <role name>', short: 'Revokes a role from a user', run: userRevokeRole },
    ],
  },
  {
    use: 'role <subcommand>',
    short: 'Role related commands',
    children: [
      { use: 'add <role name>', short: 'Adds a new role', run: roleAdd },
      { use: 'delete <role name>', short: 'Deletes a role', run: roleDelete },
      { use: 'get <role name>', short: 'Gets detailed information of a role', run: roleGet },
      { use: 'list', short: 'Lists all roles', run: roleList },
      {
        use: 'grant-permission [options] <role name> <permission type> <key> [endkey]',
        short: 'Grants a key to a role',
        flags: [
          { name: 'prefix', kind: 'bool', def: 'false', usage: 'grant a prefix permission' },
          { name: 'from-key', kind: 'bool', def: 'false', usage: 'grant a permission of keys that are greater than or equal to the given key using byte compare' },
        ],
        run: roleGrantPermission,
      },
      {
        use: 'revoke-permission <role name> <key> [endkey]',
        short: 'Revokes a key from a role',
        flags: [
          { name: 'prefix', kind: 'bool', def: 'false', usage: 'revoke a prefix permission' },
          { name: 'from-key', kind: 'bool', def: 'false', usage: 'revoke a permission of keys that are greater than or equal to the given key using byte compare' },
        ],
        run: roleRevokePermission,
      },
    ],
  },
];
