// /v2/keys (etcd's v2http keysHandler): the request parsed as etcd parses it into a v2 Request,
// writes and quorum reads through raft, plain reads and watches from the local store, answers
// with etcd's JSON and headers (X-Etcd-Index, X-Raft-Index, X-Raft-Term, X-Etcd-Cluster-Id).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { idToHex } from '@tsetcd/common';
import type { V2Request } from '../v2store/apply.js';
import { V2Code, V2Error, v2Error } from '../v2store/errors.js';
import { Action, eventJson, isCreated, type V2Event } from '../v2store/event.js';
import { joinPath } from '../v2store/go-path.js';
import { keysPrefix as storeKeysPrefix } from '../v2store/cluster-keys.js';
import type { V2Watcher } from '../v2store/watcher-hub.js';
import { FormError, formBool, formUint64, formValue, parseForm, type Form } from './form.js';
import type { V2Member } from './v2-member.js';
import { allowMethod } from './http-util.js';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

export const keysPrefix = '/v2/keys';
/** bytes a watch response may have queued unsent before the watch is dropped (a reader that stopped reading) */
const watchBacklogBytes = 4 << 20;

export interface ParsedKeyRequest {
  req: Partial<V2Request> & { Method: string; Path: string };
  noValueOnSuccess: boolean;
}

function invalid(code: number, cause: string): V2Error {
  return v2Error(code, cause, 0);
}

function bool(f: Form, key: string, cause = `invalid value for "${key}"`): boolean {
  try {
    return formBool(f, key) ?? false;
  } catch {
    throw invalid(V2Code.InvalidField, cause);
  }
}

function uint(f: Form, key: string, code: number, cause: string): bigint {
  try {
    return formUint64(f, key) ?? 0n;
  } catch {
    throw invalid(code, cause);
  }
}

/** etcd's parseKeyRequest: the form into a v2 Request, or the v2 error etcd answers with. */
export function parseKeyRequest(method: string, urlPath: string, form: Form, nowNs: bigint): ParsedKeyRequest {
  if (!urlPath.startsWith(keysPrefix)) throw invalid(V2Code.InvalidForm, 'incorrect key prefix');
  const p = joinPath(storeKeysPrefix, urlPath.slice(keysPrefix.length));
  const prevIndex = uint(form, 'prevIndex', V2Code.IndexNaN, 'invalid value for "prevIndex"');
  const waitIndex = uint(form, 'waitIndex', V2Code.IndexNaN, 'invalid value for "waitIndex"');
  const recursive = bool(form, 'recursive');
  const sorted = bool(form, 'sorted');
  const wait = bool(form, 'wait');
  const dir = bool(form, 'dir');
  const quorum = bool(form, 'quorum');
  const stream = bool(form, 'stream');
  if (wait && method !== 'GET') throw invalid(V2Code.InvalidField, '"wait" can only be used with GET requests');
  const prevValue = formValue(form, 'prevValue');
  if (form.has('prevValue') && prevValue === '') throw invalid(V2Code.PrevValueRequired, '"prevValue" cannot be empty');
  const noValueOnSuccess = bool(form, 'noValueOnSuccess');
  let ttl: bigint | undefined;
  if (formValue(form, 'ttl').length > 0) ttl = uint(form, 'ttl', V2Code.TTLNaN, 'invalid value for "ttl"');
  let prevExist: boolean | undefined;
  if (form.has('prevExist')) prevExist = bool(form, 'prevExist', 'invalid value for prevExist');
  let refresh: boolean | undefined;
  if (form.has('refresh')) {
    refresh = bool(form, 'refresh', 'invalid value for refresh');
    if (refresh) {
      if (form.has('value') && formValue(form, 'value') !== '') throw invalid(V2Code.RefreshValue, 'A value was provided on a refresh');
      if (ttl === undefined) throw invalid(V2Code.RefreshTTLRequired, 'No TTL value set');
    }
  }
  const req: ParsedKeyRequest['req'] = {
    Method: method,
    Path: p,
    Val: formValue(form, 'value'),
    Dir: dir,
    PrevValue: prevValue,
    PrevIndex: prevIndex,
    PrevExist: prevExist,
    Wait: wait,
    Since: waitIndex,
    Recursive: recursive,
    Sorted: sorted,
    Quorum: quorum,
    Stream: stream,
    Refresh: refresh,
  };
  // Go: now + time.Duration(ttl)*time.Second, in int64 arithmetic (it wraps as Go's does)
  if (ttl !== undefined) req.Expiration = BigInt.asIntN(64, nowNs + BigInt.asIntN(64, ttl * 1_000_000_000n));
  return { req, noValueOnSuccess };
}

export function writeV2Error(res: Res, e: V2Error): void {
  res.setHeader('X-Etcd-Index', String(e.index));
  res.setHeader('Content-Type', 'application/json');
  res.statusCode = e.status;
  res.end(e.toJson());
}

/** etcd's writeKeyError: v2 errors as they are (cause trimmed of "/1"), anything else as 300. */
export function writeKeyError(res: Res, e: unknown): void {
  if (e instanceof V2Error) {
    if (e.cause.startsWith(storeKeysPrefix)) e.cause = e.cause.slice(storeKeysPrefix.length);
    writeV2Error(res, e);
    return;
  }
  writeV2Error(res, v2Error(V2Code.RaftInternal, e instanceof Error ? e.message : String(e), 0));
}

function raftHeaders(res: Res, m: V2Member, etcdIndex: number): void {
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('X-Etcd-Index', String(etcdIndex));
  res.setHeader('X-Raft-Index', String(m.raftIndex()));
  res.setHeader('X-Raft-Term', String(m.raftTerm()));
}

function writeKeyEvent(res: Res, m: V2Member, ev: V2Event, noValueOnSuccess: boolean): void {
  raftHeaders(res, m, ev.etcdIndex);
  res.statusCode = isCreated(ev) ? 201 : 200;
  const quiet = noValueOnSuccess && (ev.action === Action.Set || ev.action === Action.CompareAndSwap || ev.action === Action.Create || ev.action === Action.Update);
  res.end(eventJson(ev, storeKeysPrefix, quiet));
}

/** Who may touch which keys (v2 auth); the keys handler asks before it serves. */
export interface KeyAccess {
  hasKeyPrefixAccess(req: Req, key: string, recursive: boolean): Promise<boolean>;
}

export class KeysHandler {
  private readonly watches = new Set<() => void>();

  constructor(
    private readonly m: V2Member,
    private readonly access: KeyAccess,
  ) {}

  async serve(req: Req, res: Res, urlPath: string, rawQuery: string): Promise<void> {
    if (!allowMethod(req, res, ['HEAD', 'GET', 'PUT', 'POST', 'DELETE'])) return;
    res.setHeader('X-Etcd-Cluster-Id', idToHex(this.m.clusterId()));
    const method = req.method ?? 'GET';
    const { form, err } = await parseForm(req, rawQuery);
    let parsed: ParsedKeyRequest;
    try {
      if (err !== undefined) throw invalid(V2Code.InvalidForm, err.message);
      parsed = parseKeyRequest(method, urlPath, form, BigInt(Date.now()) * 1_000_000n);
    } catch (e) {
      if (e instanceof FormError) writeKeyError(res, invalid(V2Code.InvalidForm, e.message));
      else writeKeyError(res, e);
      return;
    }
    const r = parsed.req;
    if (!(await this.access.hasKeyPrefixAccess(req, urlPath.slice(keysPrefix.length), r.Recursive === true))) {
      writeV2Error(res, v2Error(V2Code.Unauthorized, 'Insufficient credentials', 0));
      return;
    }
    if (method === 'GET' && r.Quorum) r.Method = 'QGET';
    try {
      switch (r.Method) {
        case 'POST':
        case 'PUT':
        case 'DELETE':
        case 'QGET': {
          const result = await this.m.propose(r);
          if (result.err !== undefined) throw result.err;
          const ev = (result.resp as { event?: V2Event } | undefined)?.event;
          if (ev === undefined) throw new Error('received response with no Event/Watcher');
          writeKeyEvent(res, this.m, ev, parsed.noValueOnSuccess);
          return;
        }
        case 'GET':
          if (r.Wait) {
            this.watch(req, res, this.m.store.watch(r.Path, r.Recursive === true, r.Stream === true, Number(r.Since ?? 0n)), r.Stream === true);
            return;
          }
          writeKeyEvent(res, this.m, this.m.store.get(r.Path, r.Recursive === true, r.Sorted === true), false);
          return;
        case 'HEAD':
          writeKeyEvent(res, this.m, this.m.store.get(r.Path, r.Recursive === true, r.Sorted === true), false);
          return;
      }
    } catch (e) {
      writeKeyError(res, e);
    }
  }

  /** etcd's handleKeyWatch: headers at once, then one event (or every event of a stream). */
  private watch(req: Req, res: Res, w: V2Watcher, stream: boolean): void {
    raftHeaders(res, this.m, w.startIndex);
    res.statusCode = 200;
    const h1 = res as ServerResponse;
    if (typeof h1.flushHeaders === 'function') h1.flushHeaders();
    else (res as Http2ServerResponse).writeHead(200);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      w.remove();
      this.watches.delete(finish);
      if (!res.writableEnded) res.end();
    };
    this.watches.add(finish);
    res.on('close', finish);
    req.on('close', () => {
      if (!res.writableEnded) finish();
    });
    w.onEvent((ev) => {
      if (done) return;
      (res as ServerResponse).write(eventJson(ev, storeKeysPrefix));
      if (!stream || w.removed || res.writableLength > watchBacklogBytes) finish();
    });
  }

  /** Ends every open watch (the member is stopping). */
  closeWatches(): void {
    for (const f of [...this.watches]) f();
  }
}
