// /v2/members with --enable-v2 (etcd's v2http membersHandler): the member list and the leader,
// and adding, removing and updating members (the v3 Cluster API's checks, etcd's v2 answers:
// 201 with the new member, 204, 409 "membership: ...", 404 "No such member", 410 for a removed
// ID, 415 for a body that is not JSON).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { goJsonString, idToHex, parseUrls, UrlsError } from '@tsetcd/common';
import type { MemberInfo } from '../membership/raft-cluster.js';
import { allowMethod, httpError, writeJson } from './http-util.js';
import { readBody } from './form.js';
import type { V2Member } from './v2-member.js';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

const membersPrefix = '/v2/members';
const maxMemberBodyBytes = 64 << 10;

/** What membership changes need (the cluster layer's ClusterOps). */
export interface MemberChanges {
  memberAdd(peerUrls: string[], isLearner: boolean): Promise<MemberInfo>;
  memberRemove(id: bigint): Promise<void>;
  memberUpdate(id: bigint, peerUrls: string[]): Promise<void>;
  isRemoved(id: bigint): boolean;
}

function memberJson(m: MemberInfo): string {
  const list = (l: string[]) => `[${l.map(goJsonString).join(',')}]`;
  return `{"id":${goJsonString(idToHex(m.id))},"name":${goJsonString(m.name)},"peerURLs":${list(m.peerUrls)},"clientURLs":${list(m.clientUrls)}}`;
}

function message(res: Res, status: number, text: string): void {
  writeJson(res, status, `{"message":${goJsonString(text)}}`);
}

function errorName(e: unknown): string | undefined {
  return (e as { code?: string } | undefined)?.code;
}

/** etcd's types.IDFromString: hex, at most 64 bits */
function parseId(s: string): bigint | undefined {
  return /^[0-9a-fA-F]{1,16}$/.test(s) ? BigInt('0x' + s) : undefined;
}

export class MembersHandler {
  constructor(
    private readonly m: V2Member,
    private readonly changes: MemberChanges | undefined,
    private readonly hasWriteRootAccess: (req: Req) => Promise<boolean>,
  ) {}

  async serve(req: Req, res: Res, p: string): Promise<void> {
    if (!allowMethod(req, res, ['GET', 'POST', 'DELETE', 'PUT'])) return;
    if (!(await this.hasWriteRootAccess(req))) {
      message(res, 401, 'Insufficient credentials');
      return;
    }
    res.setHeader('X-Etcd-Cluster-Id', idToHex(this.m.clusterId()));
    const sub = p.slice(membersPrefix.length).replace(/^\//, '');
    switch (req.method) {
      case 'GET':
        if (sub === '') {
          writeJson(res, 200, `{"members":[${this.m.members().map(memberJson).join(',')}]}\n`);
        } else if (sub === 'leader') {
          const lead = this.m.members().find((x) => x.id === this.m.leader());
          if (this.m.leader() === 0n || lead === undefined) message(res, 503, 'During election');
          else writeJson(res, 200, memberJson(lead) + '\n');
        } else {
          message(res, 404, 'Not found');
        }
        return;
      case 'POST': {
        const urls = await this.peerUrls(req, res);
        if (urls === undefined || this.changes === undefined) return this.unavailable(res, urls);
        try {
          const added = await this.changes.memberAdd(urls, false);
          writeJson(res, 201, memberJson(added) + '\n');
        } catch (e) {
          this.changeError(res, e, '');
        }
        return;
      }
      case 'DELETE': {
        const id = this.id(res, sub);
        if (id === undefined || this.changes === undefined) return this.unavailable(res, id);
        if (this.changes.isRemoved(id)) return message(res, 410, `Member permanently removed: ${idToHex(id)}`);
        try {
          await this.changes.memberRemove(id);
          res.statusCode = 204;
          res.end();
        } catch (e) {
          this.changeError(res, e, idToHex(id));
        }
        return;
      }
      case 'PUT': {
        const id = this.id(res, sub);
        if (id === undefined) return;
        const urls = await this.peerUrls(req, res);
        if (urls === undefined || this.changes === undefined) return this.unavailable(res, urls);
        try {
          await this.changes.memberUpdate(id, urls);
          res.statusCode = 204;
          res.end();
        } catch (e) {
          this.changeError(res, e, idToHex(id));
        }
        return;
      }
    }
  }

  /** a member without a cluster layer (no peers) cannot change membership */
  private unavailable(res: Res, had: unknown): void {
    if (had !== undefined && !res.headersSent) message(res, 500, 'Internal Server Error');
  }

  private id(res: Res, sub: string): bigint | undefined {
    if (sub === '') {
      httpError(res, 405, 'Method Not Allowed');
      return undefined;
    }
    const id = parseId(sub);
    if (id === undefined) message(res, 404, `No such member: ${sub}`);
    return id;
  }

  /** etcd's unmarshalRequest of a MemberCreateRequest / MemberUpdateRequest */
  private async peerUrls(req: Req, res: Res): Promise<string[] | undefined> {
    let ctype = String(req.headers['content-type'] ?? '');
    const semi = ctype.indexOf(';');
    if (semi !== -1) ctype = ctype.slice(0, semi).trim().toLowerCase();
    if (ctype !== 'application/json') {
      message(res, 415, `Bad Content-Type ${ctype}, accept application/json`);
      return undefined;
    }
    const body = await readBody(req, maxMemberBodyBytes);
    if (body === undefined) {
      message(res, 400, 'http: request body too large');
      return undefined;
    }
    const text = body.toString('utf8');
    if (text.trim() === '') {
      message(res, 400, 'unexpected end of JSON input');
      return undefined;
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      const raw = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).peerURLs : undefined;
      const list = raw === undefined || raw === null ? [] : raw;
      if (!Array.isArray(list) || !list.every((u) => typeof u === 'string')) throw new Error('json: cannot unmarshal into Go struct field .peerURLs of type []string');
      return parseUrls(list);
    } catch (e) {
      message(res, 400, e instanceof UrlsError || e instanceof Error ? e.message : String(e));
      return undefined;
    }
  }

  private changeError(res: Res, e: unknown, id: string): void {
    switch (errorName(e)) {
      case 'ERR_MEMBER_EXIST':
        return message(res, 409, 'membership: ID exists');
      case 'ERR_PEER_URL_EXIST':
        return message(res, 409, 'membership: peerURL exists');
      case 'ERR_MEMBER_NOT_FOUND':
        return message(res, 404, `No such member: ${id}`);
    }
    this.m.log.warn('v2 members request failed', { error: String((e as Error)?.message ?? e) });
    message(res, 500, 'Internal Server Error');
  }
}
