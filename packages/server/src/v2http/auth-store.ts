// v2 auth's store (etcd's v2auth store): users, roles and the enabled flag kept as JSON in the
// v2 store under /2 (/2/users/<name>, /2/roles/<name>, /2/enabled), written through raft as v2
// requests like any key, so every member has them. Errors are etcd's v2auth errors (an HTTP
// status and "auth: ..." text). Passwords are hashed with tsetcd's password hash (scrypt;
// etcd uses bcrypt).

import { V2Code, V2Error } from '../v2store/errors.js';
import type { V2Request } from '../v2store/apply.js';
import type { V2Event } from '../v2store/event.js';
import { joinPath, splitPath } from '../v2store/go-path.js';
import { hashPassword, verifyPassword } from '../auth/password-hash.js';
import type { V2Member } from './v2-member.js';
import { guestRole, guestRoleName, isEmptyPermissions, rootRole, rootRoleName, roleFrom, roleJson, userFrom, userJson, withRootRole, type Permissions, type RwPermission, type V2Role, type V2User } from './auth-types.js';

export const permsPrefix = '/2';

/** etcd's v2auth.Error */
export class V2AuthError extends Error {
  constructor(
    readonly status: number,
    text: string,
  ) {
    super(`auth: ${text}`);
  }
}

function isCode(e: unknown, code: number): boolean {
  return e instanceof V2Error && e.errorCode === code;
}

function sortedSet(list: Iterable<string>): string[] {
  return [...new Set(list)].sort();
}

/**
 * Whether a user or role name can name a key of its own under /2/users or /2/roles. etcd joins
 * the name into the path as it is, so a name like "../../1/k" (a basic-auth user name, a client
 * certificate's CN, a role granted by name) would read another key as a user or role; no name
 * with a "/" can be created (the URL path splits it), so such names are simply not found.
 */
function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/');
}

export class V2AuthStore {
  private ensured = false;

  constructor(private readonly m: V2Member) {}

  /** etcd's server.Do for the auth keys: GET from the local store, anything else through raft */
  private async do(r: Partial<V2Request> & { Method: string; Path: string }): Promise<V2Event> {
    if (r.Method === 'GET') return this.m.store.get(r.Path, false, false);
    const res = await this.m.propose(r);
    if (res.err !== undefined) throw res.err;
    const ev = (res.resp as { event?: V2Event } | undefined)?.event;
    if (ev === undefined) throw new Error('received response with no Event/Watcher');
    return ev;
  }

  private async ensureAuthDirectories(): Promise<void> {
    if (this.ensured) return;
    for (const res of [permsPrefix, permsPrefix + '/users/', permsPrefix + '/roles/']) {
      try {
        await this.do({ Method: 'PUT', Path: res, Dir: true, PrevExist: false });
      } catch (e) {
        if (!isCode(e, V2Code.NodeExist)) throw e;
      }
    }
    try {
      await this.do({ Method: 'PUT', Path: permsPrefix + '/enabled', Val: 'false', PrevExist: false });
    } catch (e) {
      if (!isCode(e, V2Code.NodeExist)) throw e;
    }
    this.ensured = true;
  }

  private request(res: string, quorum: boolean): Promise<V2Event> {
    return this.do({ Method: quorum ? 'QGET' : 'GET', Path: joinPath(permsPrefix, res) });
  }

  private async setResource(res: string, value: string, prevExist: boolean): Promise<V2Event> {
    await this.ensureAuthDirectories();
    return this.do({ Method: 'PUT', Path: joinPath(permsPrefix, res), Val: value, PrevExist: prevExist });
  }

  private async deleteResource(res: string): Promise<void> {
    await this.ensureAuthDirectories();
    await this.do({ Method: 'DELETE', Path: joinPath(permsPrefix, res), PrevExist: true });
  }

  private async names(res: string): Promise<string[] | undefined> {
    try {
      const ev = await this.request(res, false);
      return (ev.node.nodes ?? []).map((n) => splitPath(n.key)[1]);
    } catch (e) {
      if (isCode(e, V2Code.KeyNotFound)) return undefined;
      throw e;
    }
  }

  async allUsers(): Promise<string[]> {
    return ((await this.names('/users/')) ?? []).sort();
  }

  async allRoles(): Promise<string[]> {
    return [rootRoleName, ...((await this.names('/roles/')) ?? [])].sort();
  }

  async getUser(name: string, quorum = false): Promise<V2User> {
    const u = userFrom(await this.record('User', '/users/', name, quorum));
    return u.user === rootRoleName ? withRootRole(u) : u;
  }

  async getRole(name: string, quorum = false): Promise<V2Role> {
    if (name === rootRoleName) return rootRole;
    return roleFrom(await this.record('Role', '/roles/', name, quorum));
  }

  /** The stored JSON of user or role `name` under `dir`; etcd's 404 when there is none. */
  private async record(kind: 'User' | 'Role', dir: string, name: string, quorum: boolean): Promise<unknown> {
    if (!isPlainName(name)) throw new V2AuthError(404, `${kind} ${name} does not exist.`);
    let ev: V2Event;
    try {
      ev = await this.request(dir + name, quorum);
    } catch (e) {
      if (isCode(e, V2Code.KeyNotFound)) throw new V2AuthError(404, `${kind} ${name} does not exist.`);
      throw e;
    }
    return JSON.parse(ev.node.value ?? '');
  }

  async createOrUpdateUser(user: V2User): Promise<{ out: V2User; created: boolean }> {
    let exists = true;
    try {
      await this.getUser(user.user, true);
    } catch {
      exists = false;
    }
    if (exists) return { out: await this.updateUser(user), created: false };
    return { out: await this.createUser(user), created: true };
  }

  async createUser(user: V2User): Promise<V2User> {
    if (user.user === rootRoleName) user = withRootRole(user);
    if (user.password === '') throw new V2AuthError(400, `Cannot create user ${user.user} with an empty password`);
    const stored: V2User = { user: user.user, password: await hashPassword(user.password), roles: user.roles, grant: null, revoke: null };
    try {
      await this.setResource('/users/' + user.user, userJson({ ...stored, grant: user.grant, revoke: user.revoke }), false);
    } catch (e) {
      if (isCode(e, V2Code.NodeExist)) throw new V2AuthError(409, `User ${user.user} already exists.`);
      throw e;
    }
    this.m.log.info('added a user', { 'user-name': user.user });
    return { ...user, password: stored.password };
  }

  async deleteUser(name: string): Promise<void> {
    if (this.authEnabled() && name === rootRoleName) throw new V2AuthError(403, 'Cannot delete root user while auth is enabled.');
    try {
      await this.deleteResource('/users/' + name);
    } catch (e) {
      if (isCode(e, V2Code.KeyNotFound)) throw new V2AuthError(404, `User ${name} does not exist`);
      throw e;
    }
    this.m.log.info('deleted a user', { 'user-name': name });
  }

  async updateUser(user: V2User): Promise<V2User> {
    let old: V2User;
    try {
      old = await this.getUser(user.user, true);
    } catch (e) {
      if (e instanceof V2AuthError && e.status === 404) throw new V2AuthError(404, `User ${user.user} doesn't exist.`);
      throw e;
    }
    const merged = await mergeUser(old, user);
    if (sameUser(old, merged)) throw new V2AuthError(400, 'User not updated. Use grant/revoke/password to update the user.');
    await this.setResource('/users/' + user.user, userJson(merged), true);
    this.m.log.info('updated a user', { 'user-name': user.user });
    return merged;
  }

  async createRole(role: V2Role): Promise<void> {
    if (role.role === rootRoleName) throw new V2AuthError(403, `Cannot modify role ${role.role}: is root role.`);
    try {
      await this.setResource('/roles/' + role.role, roleJson(role), false);
    } catch (e) {
      if (isCode(e, V2Code.NodeExist)) throw new V2AuthError(409, `Role ${role.role} already exists.`);
      throw e;
    }
    this.m.log.info('created a new role', { 'role-name': role.role });
  }

  async deleteRole(name: string): Promise<void> {
    if (name === rootRoleName) throw new V2AuthError(403, `Cannot modify role ${name}: is root role.`);
    try {
      await this.deleteResource('/roles/' + name);
    } catch (e) {
      if (isCode(e, V2Code.KeyNotFound)) throw new V2AuthError(404, `Role ${name} doesn't exist.`);
      throw e;
    }
    this.m.log.info('deleted a role', { 'role-name': name });
  }

  async updateRole(role: V2Role): Promise<V2Role> {
    if (role.role === rootRoleName) throw new V2AuthError(403, `Cannot modify role ${role.role}: is root role.`);
    let old: V2Role;
    try {
      old = await this.getRole(role.role, true);
    } catch (e) {
      if (e instanceof V2AuthError && e.status === 404) throw new V2AuthError(404, `Role ${role.role} doesn't exist.`);
      throw e;
    }
    const merged = mergeRole(old, role);
    if (roleJson(old) === roleJson(merged)) throw new V2AuthError(400, 'Role not updated. Use grant/revoke to update the role.');
    await this.setResource('/roles/' + role.role, roleJson(merged), true);
    this.m.log.info('updated a role', { 'role-name': role.role });
    return merged;
  }

  /** etcd's detectAuth: /2/enabled read from the local store */
  authEnabled(): boolean {
    try {
      return JSON.parse(this.m.store.get(joinPath(permsPrefix, '/enabled'), false, false).node.value ?? '') === true;
    } catch {
      return false;
    }
  }

  async enableAuth(): Promise<void> {
    if (this.authEnabled()) throw new V2AuthError(409, 'already enabled');
    try {
      await this.getUser(rootRoleName, true);
    } catch {
      throw new V2AuthError(409, 'No root user available, please create one');
    }
    try {
      await this.getRole(guestRoleName, true);
    } catch {
      this.m.log.info('no guest role access found; creating default', { 'role-name': guestRoleName });
      await this.createRole(guestRole);
    }
    await this.setResource('/enabled', 'true', true);
    this.m.log.info('enabled auth', {});
  }

  async disableAuth(): Promise<void> {
    if (!this.authEnabled()) throw new V2AuthError(409, 'already disabled');
    await this.setResource('/enabled', 'false', true);
    this.m.log.info('disabled auth', {});
  }

  checkPassword(u: V2User, password: string): Promise<boolean> {
    return verifyPassword(password, u.password).catch(() => false);
  }
}

function sameUser(a: V2User, b: V2User): boolean {
  return a.user === b.user && a.password === b.password && JSON.stringify(a.roles ?? null) === JSON.stringify(b.roles ?? null);
}

async function mergeUser(ou: V2User, nu: V2User): Promise<V2User> {
  if (ou.user !== nu.user) throw new V2AuthError(409, `Merging user data with conflicting usernames: ${ou.user} ${nu.user}`);
  const password = nu.password !== '' ? await hashPassword(nu.password) : ou.password;
  const roles = new Set(ou.roles ?? []);
  for (const g of nu.grant ?? []) {
    if (roles.has(g)) throw new V2AuthError(409, `Granting duplicate role ${g} for user ${nu.user}`);
    roles.add(g);
  }
  for (const r of nu.revoke ?? []) {
    if (!roles.has(r)) throw new V2AuthError(409, `Revoking ungranted role ${r} for user ${nu.user}`);
    roles.delete(r);
  }
  return { user: ou.user, password, roles: sortedSet(roles), grant: null, revoke: null };
}

function grantRw(rw: RwPermission, n: RwPermission): RwPermission {
  const read = new Set(rw.read ?? []);
  for (const r of n.read ?? []) {
    if (read.has(r)) throw new V2AuthError(409, `Granting duplicate read permission ${r}`);
    read.add(r);
  }
  const write = new Set(rw.write ?? []);
  for (const w of n.write ?? []) {
    if (write.has(w)) throw new V2AuthError(409, `Granting duplicate write permission ${w}`);
    write.add(w);
  }
  return { read: sortedSet(read), write: sortedSet(write) };
}

function revokeRw(rw: RwPermission, n: RwPermission): RwPermission {
  const read = new Set(rw.read ?? []);
  for (const r of n.read ?? []) read.delete(r);
  const write = new Set(rw.write ?? []);
  for (const w of n.write ?? []) write.delete(w);
  return { read: sortedSet(read), write: sortedSet(write) };
}

function mergeRole(r: V2Role, n: V2Role): V2Role {
  if (r.role !== n.role) throw new V2AuthError(409, `Merging role with conflicting names: ${r.role} ${n.role}`);
  let p: Permissions = r.permissions;
  if (n.grant !== null) p = { kv: grantRw(p.kv, n.grant.kv) };
  if (n.revoke !== null) p = { kv: revokeRw(p.kv, n.revoke.kv) };
  return { role: r.role, permissions: p, grant: null, revoke: null };
}

export { isEmptyPermissions };
