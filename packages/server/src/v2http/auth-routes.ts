// /v2/auth (etcd's v2http client_auth.go): users, roles and enabling auth, each route root-only
// once auth is enabled; and who may touch which keys of /v2/keys (basic auth, or a verified
// client certificate's common names with --client-cert-auth; the guest role otherwise).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { PeerCertificate, DetailedPeerCertificate } from 'node:tls';
import { goJsonString, idToHex } from '@tsetcd/common';
import { cleanPath } from '../v2store/go-path.js';
import { V2Error } from '../v2store/errors.js';
import { allowMethod, writeJson } from './http-util.js';
import { readBody } from './form.js';
import { V2AuthError, type V2AuthStore } from './auth-store.js';
import { guestRoleName, isEmptyPermissions, JsonShapeError, roleFrom, roleHasAccess, roleJson, rootRoleName, userFrom, userJson, type V2Role, type V2User } from './auth-types.js';
import type { V2Member } from './v2-member.js';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

const authPrefix = '/v2/auth';
/** a user or role JSON body at most (etcd reads any size) */
const maxAuthBodyBytes = 1 << 20;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** etcd's writeError for v2 handlers: auth and HTTP errors as {"message"}, v2 errors as theirs, else 500. */
function writeError(res: Res, e: unknown, m: V2Member): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (e instanceof V2AuthError || e instanceof HttpError) {
    writeJson(res, e.status, `{"message":${goJsonString(e.message)}}`);
    return;
  }
  if (e instanceof V2Error) {
    res.setHeader('X-Etcd-Index', String(e.index));
    writeJson(res, e.status, e.toJson());
    return;
  }
  m.log.warn('unexpected v2 response error', { 'internal-server-error': String((e as Error)?.message ?? e) });
  writeJson(res, 500, '{"message":"Internal Server Error"}');
}

function writeNoAuth(res: Res): void {
  writeJson(res, 401, '{"message":"Insufficient credentials"}');
}

/** Go's r.BasicAuth() */
function basicAuth(req: Req): { user: string; password: string } | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string' || h.length < 6 || h.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const b64 = h.slice(6);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  return { user: text.slice(0, i), password: text.slice(i + 1) };
}

/** the common names of the verified client certificate chain (leaf first) */
function chainCommonNames(req: Req): string[] {
  const sock = req.socket as TLSSocket;
  if (sock?.encrypted !== true || sock.authorized !== true) return [];
  const out: string[] = [];
  let cert: DetailedPeerCertificate | PeerCertificate | undefined = sock.getPeerCertificate(true);
  const seen = new Set<unknown>();
  while (cert !== undefined && cert !== null && Object.keys(cert).length > 0 && !seen.has(cert) && out.length < 16) {
    seen.add(cert);
    const cn = cert.subject?.CN;
    if (typeof cn === 'string') out.push(cn);
    else if (Array.isArray(cn)) out.push(...(cn as string[]));
    const next: DetailedPeerCertificate | undefined = (cert as DetailedPeerCertificate).issuerCertificate;
    if (next === cert) break;
    cert = next;
  }
  return out;
}

export class AuthHandler {
  constructor(
    private readonly m: V2Member,
    private readonly sec: V2AuthStore,
    private readonly clientCertAuth: boolean,
  ) {}

  private async userFromBasicAuth(req: Req): Promise<V2User | undefined> {
    const creds = basicAuth(req);
    if (creds === undefined) return undefined;
    let user: V2User;
    try {
      user = await this.sec.getUser(creds.user);
    } catch {
      return undefined;
    }
    return (await this.sec.checkPassword(user, creds.password)) ? user : undefined;
  }

  private async userFromClientCertificate(req: Req): Promise<V2User | undefined> {
    for (const cn of chainCommonNames(req)) {
      try {
        return await this.sec.getUser(cn);
      } catch {
        // the next name of the chain
      }
    }
    return undefined;
  }

  private async hasRootAccess(req: Req): Promise<boolean> {
    if (!this.sec.authEnabled()) return true;
    const user = req.headers.authorization === undefined && this.clientCertAuth ? await this.userFromClientCertificate(req) : await this.userFromBasicAuth(req);
    return user?.roles?.includes(rootRoleName) ?? false;
  }

  async hasWriteRootAccess(req: Req): Promise<boolean> {
    if (req.method === 'GET' || req.method === 'HEAD') return true;
    return this.hasRootAccess(req);
  }

  private async roleOrUndefined(name: string): Promise<V2Role | undefined> {
    try {
      return await this.sec.getRole(name);
    } catch {
      return undefined;
    }
  }

  /** etcd's hasKeyPrefixAccess for /v2/keys */
  async hasKeyPrefixAccess(req: Req, key: string, recursive: boolean): Promise<boolean> {
    if (!this.sec.authEnabled()) return true;
    const write = req.method !== 'GET' && req.method !== 'HEAD';
    let user: V2User | undefined;
    if (req.headers.authorization === undefined) {
      if (this.clientCertAuth) user = await this.userFromClientCertificate(req);
      if (user === undefined) {
        const guest = await this.roleOrUndefined(guestRoleName);
        return guest !== undefined && roleHasAccess(guest, key, write, false);
      }
    } else {
      user = await this.userFromBasicAuth(req);
      if (user === undefined) return false;
    }
    for (const name of user.roles ?? []) {
      const role = await this.roleOrUndefined(name);
      if (role !== undefined && roleHasAccess(role, key, write, recursive)) return true;
    }
    return false;
  }

  async serve(req: Req, res: Res, p: string): Promise<void> {
    try {
      if (p === authPrefix + '/roles') return await this.baseRoles(req, res);
      if (p === authPrefix + '/users') return await this.baseUsers(req, res);
      if (p === authPrefix + '/enable') return await this.enableDisable(req, res);
      for (const kind of ['roles', 'users'] as const) {
        if (!p.startsWith(`${authPrefix}/${kind}/`)) continue;
        const pieces = cleanPath(p.slice(authPrefix.length)).split('/');
        if (pieces.length === 2) return kind === 'roles' ? await this.baseRoles(req, res) : await this.baseUsers(req, res);
        if (pieces.length !== 3) throw new HttpError(400, 'Invalid path');
        return kind === 'roles' ? await this.forRole(req, res, pieces[2]) : await this.forUser(req, res, pieces[2]);
      }
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.end('404 page not found\n');
    } catch (e) {
      writeError(res, e, this.m);
    }
  }

  private headers(res: Res): void {
    res.setHeader('X-Etcd-Cluster-Id', idToHex(this.m.clusterId()));
    res.setHeader('Content-Type', 'application/json');
  }

  private async baseRoles(req: Req, res: Res): Promise<void> {
    if (!allowMethod(req, res, ['GET'])) return;
    if (!(await this.hasRootAccess(req))) return writeNoAuth(res);
    this.headers(res);
    const roles: V2Role[] = [];
    for (const name of await this.sec.allRoles()) roles.push(await this.sec.getRole(name));
    res.end(`{"roles":${roles.length === 0 ? 'null' : `[${roles.map(roleJson).join(',')}]`}}\n`);
  }

  private async userWithRoles(u: V2User, skipMissing: boolean): Promise<string> {
    const roles: string[] = [];
    for (const name of u.roles ?? []) {
      try {
        roles.push(roleJson(await this.sec.getRole(name)));
      } catch (e) {
        if (!skipMissing) throw e;
      }
    }
    return `{"user":${goJsonString(u.user)}${roles.length === 0 ? '' : `,"roles":[${roles.join(',')}]`}}`;
  }

  private async baseUsers(req: Req, res: Res): Promise<void> {
    if (!allowMethod(req, res, ['GET'])) return;
    if (!(await this.hasRootAccess(req))) return writeNoAuth(res);
    this.headers(res);
    const users: string[] = [];
    for (const name of await this.sec.allUsers()) users.push(await this.userWithRoles(await this.sec.getUser(name), true));
    res.end(`{"users":${users.length === 0 ? 'null' : `[${users.join(',')}]`}}\n`);
  }

  /** The request body as JSON read into a user or role record; anything else is etcd's 400. */
  private async jsonBody<T>(req: Req, read: (json: unknown) => T): Promise<T> {
    const body = await readBody(req, maxAuthBodyBytes);
    try {
      if (body === undefined) throw new Error('too large');
      return read(JSON.parse(body.toString('utf8')));
    } catch (e) {
      if (e instanceof SyntaxError || e instanceof JsonShapeError || body === undefined) throw new HttpError(400, 'Invalid JSON in request body.');
      throw e;
    }
  }

  private async forRole(req: Req, res: Res, role: string): Promise<void> {
    if (!allowMethod(req, res, ['GET', 'PUT', 'DELETE'])) return;
    if (!(await this.hasRootAccess(req))) return writeNoAuth(res);
    this.headers(res);
    switch (req.method) {
      case 'GET':
        res.end(roleJson(await this.sec.getRole(role)) + '\n');
        return;
      case 'PUT': {
        const input = await this.jsonBody(req, roleFrom);
        if (input.role !== role) throw new HttpError(400, 'Role JSON name does not match the name in the URL');
        if (isEmptyPermissions(input.grant) && isEmptyPermissions(input.revoke)) {
          await this.sec.createRole(input);
          res.statusCode = 201;
          res.end(roleJson(input) + '\n');
          return;
        }
        if (!isEmptyPermissions(input.permissions)) throw new HttpError(400, 'Role JSON contains both permissions and grant/revoke');
        const out = await this.sec.updateRole(input);
        res.statusCode = 200;
        res.end(roleJson(out) + '\n');
        return;
      }
      case 'DELETE':
        await this.sec.deleteRole(role);
        res.end();
        return;
    }
  }

  private async forUser(req: Req, res: Res, user: string): Promise<void> {
    if (!allowMethod(req, res, ['GET', 'PUT', 'DELETE'])) return;
    if (!(await this.hasRootAccess(req))) return writeNoAuth(res);
    this.headers(res);
    switch (req.method) {
      case 'GET':
        res.end((await this.userWithRoles(await this.sec.getUser(user), false)) + '\n');
        return;
      case 'PUT': {
        const u = await this.jsonBody(req, userFrom);
        if (u.user !== user) throw new HttpError(400, 'User JSON name does not match the name in the URL');
        let out: V2User;
        let created = false;
        if ((u.grant?.length ?? 0) === 0 && (u.revoke?.length ?? 0) === 0) {
          if ((u.roles?.length ?? 0) !== 0) out = await this.sec.createUser(u);
          else ({ out, created } = await this.sec.createOrUpdateUser(u));
        } else {
          if ((u.roles?.length ?? 0) !== 0) throw new HttpError(400, 'User JSON contains both roles and grant/revoke');
          out = await this.sec.updateUser(u);
        }
        res.statusCode = created ? 201 : 200;
        res.end(userJson({ ...out, password: '' }) + '\n');
        return;
      }
      case 'DELETE':
        await this.sec.deleteUser(user);
        res.end();
        return;
    }
  }

  private async enableDisable(req: Req, res: Res): Promise<void> {
    if (!allowMethod(req, res, ['GET', 'PUT', 'DELETE'])) return;
    if (!(await this.hasWriteRootAccess(req))) return writeNoAuth(res);
    this.headers(res);
    switch (req.method) {
      case 'GET':
        res.end(`{"enabled":${this.sec.authEnabled()}}\n`);
        return;
      case 'PUT':
        await this.sec.enableAuth();
        res.end();
        return;
      case 'DELETE':
        await this.sec.disableAuth();
        res.end();
        return;
    }
  }
}
