// Go's net/http request parsing as etcd's v2 handlers meet it: the request path unescaped
// (url.PathUnescape), ServeMux's cleaned-path redirect, and r.ParseForm (the query and an
// urlencoded POST/PUT/PATCH body, body values first, at most 10 MB, Go's error texts).

import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { goQuote, readUpTo } from '@tsetcd/common';
import { cleanPath } from '../v2store/go-path.js';

type Req = IncomingMessage | Http2ServerRequest;

/** Go's maxFormSize: the body ParseForm reads at most */
export const maxFormBytes = 10 << 20;

export class FormError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Go's url unescape: %XX escapes (and, for a query, "+" as a space); throws Go's EscapeError text. */
export function goUnescape(s: string, query: boolean): string {
  if (!s.includes('%') && !(query && s.includes('+'))) return s;
  const src = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === 0x25) {
      const hi = i + 2 < src.length ? hexVal(src[i + 1]) : -1;
      const lo = i + 2 < src.length ? hexVal(src[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        let bad = s.slice(Buffer.from(src.subarray(0, i)).toString('utf8').length);
        if (bad.length > 3) bad = bad.slice(0, 3);
        throw new FormError(`invalid URL escape ${goQuote(bad)}`);
      }
      out[n++] = hi * 16 + lo;
      i += 2;
    } else if (c === 0x2b && query) {
      out[n++] = 0x20;
    } else {
      out[n++] = c;
    }
  }
  return utf8.decode(out.subarray(0, n));
}

/** Form values: key → values, in order. */
export type Form = Map<string, string[]>;

/** Go's url.ParseQuery into `into`: every good pair kept, the first error returned. */
export function parseQuery(query: string, into: Form): FormError | undefined {
  let err: FormError | undefined;
  for (const part of query.split('&')) {
    if (part.includes(';')) {
      err ??= new FormError('invalid semicolon separator in query');
      continue;
    }
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = goUnescape(rawKey, true);
      value = goUnescape(rawValue, true);
    } catch (e) {
      err ??= e as FormError;
      continue;
    }
    const list = into.get(key);
    if (list === undefined) into.set(key, [value]);
    else list.push(value);
  }
  return err;
}

export interface ParsedTarget {
  /** the unescaped path (Go's r.URL.Path) */
  path: string;
  rawPath: string;
  rawQuery: string;
}

/** Splits a request target; undefined when its path does not unescape (Go answers 400). */
export function parseTarget(url: string): ParsedTarget | undefined {
  let target = url;
  // absolute-form (a proxy's request line): keep the path and query
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  if (abs !== null) target = target.slice(abs[0].length) || '/';
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawQuery = q < 0 ? '' : target.slice(q + 1);
  try {
    return { path: goUnescape(rawPath, false), rawPath, rawQuery };
  } catch {
    return undefined;
  }
}

/** Go's ServeMux cleanPath: where a request for `p` is redirected (p itself when clean). */
export function muxCleanPath(p: string): string {
  if (p === '') return '/';
  if (!p.startsWith('/')) p = '/' + p;
  let np = cleanPath(p);
  if (p.endsWith('/') && np !== '/') np += '/';
  return np;
}

function mediaType(ct: string | undefined): string {
  if (ct === undefined || ct === '') return 'application/octet-stream';
  return ct.split(';')[0].trim().toLowerCase();
}

/** Go's r.ParseForm: body values (POST, PUT, PATCH with an urlencoded body) before the query's. */
export async function parseForm(req: Req, rawQuery: string): Promise<{ form: Form; err?: FormError }> {
  const form: Form = new Map();
  let err: FormError | undefined;
  const m = req.method ?? 'GET';
  if (m === 'POST' || m === 'PUT' || m === 'PATCH') {
    const body = await readUpTo(req, maxFormBytes, { stopPastLimit: true });
    if (mediaType(req.headers['content-type']) === 'application/x-www-form-urlencoded') {
      if (body.total > maxFormBytes) err = new FormError('http: POST too large');
      else err = parseQuery(utf8.decode(body.bytes), form);
    }
  }
  const qerr = parseQuery(rawQuery, form);
  return { form, err: err ?? qerr };
}

/** Reads the whole body (up to `limit`), for handlers that take JSON. */
export async function readBody(req: Req, limit: number): Promise<Buffer | undefined> {
  const body = await readUpTo(req, limit, { stopPastLimit: true });
  return body.total > limit ? undefined : body.bytes;
}

export function formValue(f: Form, key: string): string {
  return f.get(key)?.[0] ?? '';
}

/** Go's strconv.ParseBool over the first value; undefined when absent; throws when not a bool. */
export function formBool(f: Form, key: string): boolean | undefined {
  const v = f.get(key);
  if (v === undefined) return undefined;
  switch (v[0]) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false;
  }
  throw new FormError(`invalid bool ${key}`);
}

/** Go's strconv.ParseUint(v, 10, 64) over the first value; undefined when absent; throws when not one. */
export function formUint64(f: Form, key: string): bigint | undefined {
  const v = f.get(key);
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,20}$/.test(v[0])) throw new FormError(`invalid uint ${key}`);
  const n = BigInt(v[0]);
  if (n > 0xffff_ffff_ffff_ffffn) throw new FormError(`invalid uint ${key}`);
  return n;
}
