// v2 auth's users and roles (etcd's v2auth User, Role, Permissions): their JSON as etcd writes
// it, reading them as Go's encoding/json does (keys matched without regard to case, null as
// absent), and the permission checks (a pattern ending in "*" is a prefix).

import { goJsonString } from '@tsetcd/common';

export const rootRoleName = 'root';
export const guestRoleName = 'guest';

export interface RwPermission {
  read: string[] | null;
  write: string[] | null;
}

export interface Permissions {
  kv: RwPermission;
}

export interface V2User {
  user: string;
  password: string;
  roles: string[] | null;
  grant: string[] | null;
  revoke: string[] | null;
}

export interface V2Role {
  role: string;
  permissions: Permissions;
  grant: Permissions | null;
  revoke: Permissions | null;
}

export const rootRole: V2Role = { role: rootRoleName, permissions: { kv: { read: ['/*'], write: ['/*'] } }, grant: null, revoke: null };
export const guestRole: V2Role = { role: guestRoleName, permissions: { kv: { read: ['/*'], write: ['/*'] } }, grant: null, revoke: null };

export class JsonShapeError extends Error {}

/** Go's json field lookup: the exact key, else one equal without regard to case (the last such). */
function field(o: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(o, name)) return o[name];
  let found: unknown;
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === name) found = v;
  return found;
}

function asObject(v: unknown): Record<string, unknown> | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new JsonShapeError('not an object');
  return v as Record<string, unknown>;
}

function asString(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new JsonShapeError('not a string');
  return v;
}

function asStrings(v: unknown): string[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw new JsonShapeError('not an array');
  return v.map((x) => asString(x));
}

function permissionsFrom(v: unknown): Permissions | null {
  const o = asObject(v);
  if (o === null) return null;
  const kv = asObject(field(o, 'kv'));
  return { kv: { read: kv === null ? null : asStrings(field(kv, 'read')), write: kv === null ? null : asStrings(field(kv, 'write')) } };
}

export function userFrom(v: unknown): V2User {
  const o = asObject(v) ?? {};
  return { user: asString(field(o, 'user')), password: asString(field(o, 'password')), roles: asStrings(field(o, 'roles')), grant: asStrings(field(o, 'grant')), revoke: asStrings(field(o, 'revoke')) };
}

export function roleFrom(v: unknown): V2Role {
  const o = asObject(v) ?? {};
  return { role: asString(field(o, 'role')), permissions: permissionsFrom(field(o, 'permissions')) ?? { kv: { read: null, write: null } }, grant: permissionsFrom(field(o, 'grant')), revoke: permissionsFrom(field(o, 'revoke')) };
}

function strings(list: string[] | null): string {
  return list === null ? 'null' : `[${list.map(goJsonString).join(',')}]`;
}

function permissionsJson(p: Permissions): string {
  return `{"kv":{"read":${strings(p.kv.read)},"write":${strings(p.kv.write)}}}`;
}

export function userJson(u: V2User): string {
  let out = `{"user":${goJsonString(u.user)}`;
  if (u.password !== '') out += `,"password":${goJsonString(u.password)}`;
  out += `,"roles":${strings(u.roles)}`;
  if (u.grant !== null && u.grant.length > 0) out += `,"grant":${strings(u.grant)}`;
  if (u.revoke !== null && u.revoke.length > 0) out += `,"revoke":${strings(u.revoke)}`;
  return out + '}';
}

export function roleJson(r: V2Role): string {
  let out = `{"role":${goJsonString(r.role)},"permissions":${permissionsJson(r.permissions)}`;
  if (r.grant !== null) out += `,"grant":${permissionsJson(r.grant)}`;
  if (r.revoke !== null) out += `,"revoke":${permissionsJson(r.revoke)}`;
  return out + '}';
}

export function isEmptyPermissions(p: Permissions | null): boolean {
  return p === null || ((p.kv.read?.length ?? 0) === 0 && (p.kv.write?.length ?? 0) === 0);
}

function simpleMatch(pattern: string, key: string): boolean {
  if (pattern.endsWith('*')) return key.startsWith(pattern.slice(0, -1));
  return key === pattern;
}

function prefixMatch(pattern: string, key: string): boolean {
  return pattern.endsWith('*') && key.startsWith(pattern.slice(0, -1));
}

/** etcd's Role.HasKeyAccess / HasRecursiveAccess (an empty pattern matches nothing) */
export function roleHasAccess(r: V2Role, key: string, write: boolean, recursive: boolean): boolean {
  if (r.role === rootRoleName) return true;
  const list = (write ? r.permissions.kv.write : r.permissions.kv.read) ?? [];
  return list.some((p) => p !== '' && (recursive ? prefixMatch(p, key) : simpleMatch(p, key)));
}

export function withRootRole(u: V2User): V2User {
  if (u.roles?.includes(rootRoleName)) return u;
  return { ...u, roles: [...(u.roles ?? []), rootRoleName] };
}
