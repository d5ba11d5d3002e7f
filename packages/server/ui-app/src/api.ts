// The cluster's JSON gateway (/v3/...), as the page's own origin serves it (a tsetcd member
// with --enable-ui, or `tsetcd ui` passing it on). The auth token lives in this module's
// memory only and goes in the Authorization header; errors carry the server's message.

import { b64, type Bytes } from './bytes.js';

export class ApiError extends Error {
  constructor(message: string, readonly code: number, readonly status: number) {
    super(message);
  }
}

/** etcd's mvccpb.KeyValue as the gateway sends it (64-bit numbers as strings, bytes as base64). */
export interface KeyValue {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

export interface Header {
  cluster_id?: string;
  member_id?: string;
  revision?: string;
  raft_term?: string;
}

let token: string | undefined;
let onUnauthenticated: (message: string) => void = () => undefined;

export const setToken = (t: string | undefined): void => void (token = t);
export const hasToken = (): boolean => token !== undefined;
export function whenUnauthenticated(f: (message: string) => void): void {
  onUnauthenticated = f;
}

function headers(): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) h.authorization = token;
  return h;
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const j = JSON.parse(text) as { message?: string; error?: string | { message?: string; grpc_code?: number }; code?: number };
    if (typeof j.error === 'object' && j.error !== null) return new ApiError(j.error.message ?? text, j.error.grpc_code ?? 2, res.status);
    return new ApiError(j.message || (typeof j.error === 'string' ? j.error : '') || text, j.code ?? 2, res.status);
  } catch {
    return new ApiError(text.trim() || `HTTP ${res.status}`, 2, res.status);
  }
}

/** etcd's answers that mean "log in (again)". */
export const needsLogin = (e: unknown): boolean =>
  e instanceof ApiError && (e.message.includes('user name is empty') || e.message.includes('invalid auth token') || e.code === 16);

/** POSTs a gateway call; the JSON answer, or an ApiError with the server's message. */
export async function call<T = Record<string, unknown>>(path: string, body: object = {}, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { method: 'POST', headers: headers(), body: JSON.stringify(body), signal });
  } catch (e) {
    throw new ApiError(`cannot reach the server: ${(e as Error).message}`, 14, 0);
  }
  if (!res.ok) {
    const err = await errorOf(res);
    if (needsLogin(err) && path !== '/v3/auth/authenticate') onUnauthenticated(err.message);
    throw err;
  }
  return (await res.json()) as T;
}

/** One member's status/health/metrics/move-leader through the page's /ui/endpoint route. */
export async function atMember(url: string, path: string, body?: object): Promise<Response> {
  const q = `endpoint?url=${encodeURIComponent(url)}&path=${encodeURIComponent(path)}`;
  const res = await fetch(q, body === undefined ? { headers: headers() } : { method: 'POST', headers: headers(), body: JSON.stringify(body) });
  if (!res.ok && path !== 'health') throw await errorOf(res);
  return res;
}

export async function memberJson<T>(url: string, path: string, body?: object): Promise<T> {
  return (await (await atMember(url, path, body)).json()) as T;
}

/**
 * A streaming gateway call (/v3/watch, /v3/lease/keepalive): the body is sent whole, each
 * {"result": ...} line of the answer goes to `onResult`. Resolves when the stream ends;
 * rejects with the stream's error.
 */
export async function stream(path: string, body: object, onResult: (r: Record<string, unknown>) => void, signal: AbortSignal): Promise<void> {
  let res: Response;
  try {
    res = await fetch(path, { method: 'POST', headers: headers(), body: JSON.stringify(body), signal });
  } catch (e) {
    throw new ApiError(`cannot reach the server: ${(e as Error).message}`, 14, 0);
  }
  if (!res.ok || res.body === null) {
    const err = await errorOf(res);
    if (needsLogin(err)) onUnauthenticated(err.message);
    throw err;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const handle = (line: string): void => {
    if (line.trim() === '') return;
    const msg = JSON.parse(line) as { result?: Record<string, unknown>; error?: { message?: string; grpc_code?: number } };
    if (msg.error) {
      const err = new ApiError(msg.error.message ?? 'stream error', msg.error.grpc_code ?? 2, res.status);
      if (needsLogin(err)) onUnauthenticated(err.message);
      throw err;
    }
    if (msg.result) onResult(msg.result);
  };
  let buf = '';
  for (;;) {
    let chunk: ReadableStreamReadResult<string>;
    try {
      chunk = await reader.read();
    } catch (e) {
      if (signal.aborted) return;
      throw new ApiError(`stream broke: ${(e as Error).message}`, 14, 0);
    }
    if (chunk.done) break;
    buf += chunk.value;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      handle(line);
    }
  }
  // the error chunk ends the body without a newline
  handle(buf);
}

// ---- the calls the screens make ----

export interface RangeOptions {
  rangeEnd?: Bytes;
  limit?: number;
  keysOnly?: boolean;
  revision?: string;
  countOnly?: boolean;
}

export interface RangeResponse {
  header?: Header;
  kvs?: KeyValue[];
  more?: boolean;
  count?: string;
}

export function range(key: Bytes, o: RangeOptions = {}): Promise<RangeResponse> {
  return call<RangeResponse>('/v3/kv/range', {
    // a range from the empty key starts at "\0", the first key there can be
    key: b64(key === '' && o.rangeEnd !== undefined ? '\0' : key),
    range_end: o.rangeEnd === undefined ? undefined : b64(o.rangeEnd),
    limit: o.limit,
    keys_only: o.keysOnly || undefined,
    count_only: o.countOnly || undefined,
    revision: o.revision,
  });
}

export interface TxnResponse {
  header?: Header;
  succeeded?: boolean;
  responses?: Array<{ response_range?: RangeResponse }>;
}

/**
 * Compare-and-swap: runs `success` only if the key's mod revision is still `modRevision`
 * ("0": the key must not exist); otherwise reads the key as it is now.
 */
export function casTxn(key: Bytes, modRevision: string, success: object[]): Promise<TxnResponse> {
  return call<TxnResponse>('/v3/kv/txn', {
    compare: [{ key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: modRevision }],
    success,
    failure: [{ request_range: { key: b64(key) } }],
  });
}
