// Authentication and RBAC management.
import { authpb, type etcdserverpb } from '@tsetcd/proto';
import { rangeEndFor, toBuffer, type Bytes } from './bytes.js';
import { header, type ResponseHeader } from './kv.js';
import type { RawClient } from './raw.js';
import type { CallOptions } from './transport.js';

export type PermissionType = 'read' | 'write' | 'readwrite';
export interface Permission {
  type: PermissionType;
  key: Buffer;
  rangeEnd: Buffer;
}

const permTypes: Record<PermissionType, authpb.Permission_Type> = {
  read: authpb.Permission_Type.READ,
  write: authpb.Permission_Type.WRITE,
  readwrite: authpb.Permission_Type.READWRITE,
};
const permNames: Record<number, PermissionType> = {
  [authpb.Permission_Type.READ]: 'read',
  [authpb.Permission_Type.WRITE]: 'write',
  [authpb.Permission_Type.READWRITE]: 'readwrite',
};

type HeaderOnly = { header: ResponseHeader };
const h = (r: { header: etcdserverpb.ResponseHeader | undefined }): HeaderOnly => ({ header: header(r.header) });

export class Auth {
  constructor(private readonly raw: RawClient) {}

  async enable(opts?: CallOptions): Promise<HeaderOnly> {
    return h(await this.raw.auth.authEnable({}, opts));
  }
  async disable(opts?: CallOptions): Promise<HeaderOnly> {
    return h(await this.raw.auth.authDisable({}, opts));
  }
  /** Returns a token for name/password (the Client does this itself when given credentials). */
  async authenticate(name: string, password: string, opts?: CallOptions): Promise<{ header: ResponseHeader; token: string }> {
    const r = await this.raw.auth.authenticate({ name, password }, opts);
    return { header: header(r.header), token: r.token };
  }
  async userAdd(name: string, password: string, opts?: { noPassword?: boolean } & CallOptions): Promise<HeaderOnly> {
    return h(await this.raw.auth.userAdd({ name, password, options: { noPassword: opts?.noPassword === true } }, opts));
  }
  async userGet(name: string, opts?: CallOptions): Promise<{ header: ResponseHeader; roles: string[] }> {
    const r = await this.raw.auth.userGet({ name }, opts);
    return { header: header(r.header), roles: r.roles };
  }
  async userList(opts?: CallOptions): Promise<{ header: ResponseHeader; users: string[] }> {
    const r = await this.raw.auth.userList({}, opts);
    return { header: header(r.header), users: r.users };
  }
  async userDelete(name: string, opts?: CallOptions): Promise<HeaderOnly> {
    return h(await this.raw.auth.userDelete({ name }, opts));
  }
  async userChangePassword(name: string, password: string, opts?: CallOptions): Promise<HeaderOnly> {
    return h(await this.raw.auth.userChangePassword({ name, password }, opts));
  }
  async userGrantRole(user: string, role: string, opts?: CallOptions): Promise<HeaderOnly> {
    return h(await this.raw.auth.userGrantRole({ user, role }, opts));
  }
  async userRevokeRole(name: string, role: string, opts?: CallOptions): Promise<HeaderOnly> {
    return h(await this.raw.auth.userRevokeRole({ name, role }, opts));
  }
  async roleAdd(name: string, opts?: CallOptions): Promise<HeaderOnly> {
    return h(await this.raw.auth.roleAdd({ name }, opts));
  }
  async roleGet(role: string, opts?: CallOptions): Promise<{ header: ResponseHeader; permissions: Permission[] }> {
    const r = await this.raw.auth.roleGet({ role }, opts);
    return {
      header: header(r.header),
      permissions: r.perm.map((p) => ({ type: permNames[p.permType] ?? 'read', key: p.key, rangeEnd: p.rangeEnd })),
    };
  }
  async roleList(opts?: CallOptions): Promise<{ header: ResponseHeader; roles: string[] }> {
    const r = await this.raw.auth.roleList({}, opts);
    return { header: header(r.header), roles: r.roles };
  }
  async roleDelete(role: string, opts?: CallOptions): Promise<HeaderOnly> {
    return h(await this.raw.auth.roleDelete({ role }, opts));
  }
  /** Grants `type` on key, [key, rangeEnd), a prefix, or keys >= key (fromKey). */
  async roleGrantPermission(
    role: string,
    type: PermissionType,
    key: Bytes,
    opts?: { prefix?: boolean; rangeEnd?: Bytes; fromKey?: boolean } & CallOptions,
  ): Promise<HeaderOnly> {
    const perm = { permType: permTypes[type], key: toBuffer(key), rangeEnd: rangeEndFor(key, opts ?? {}) };
    return h(await this.raw.auth.roleGrantPermission({ name: role, perm }, opts));
  }
  async roleRevokePermission(
    role: string,
    key: Bytes,
    opts?: { prefix?: boolean; rangeEnd?: Bytes; fromKey?: boolean } & CallOptions,
  ): Promise<HeaderOnly> {
    return h(await this.raw.auth.roleRevokePermission({ role, key: toBuffer(key), rangeEnd: rangeEndFor(key, opts ?? {}) }, opts));
  }
}
