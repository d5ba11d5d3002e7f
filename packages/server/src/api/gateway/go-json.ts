// JSON read the way Go's encoding/json reads it (what etcd's grpc-gateway runs on every
// request body), so that tsetcd's gateway accepts exactly what etcd accepts and words its
// refusals the same: the scanner's syntax errors ("invalid character 'x' after object key"),
// json.Decoder's stream semantics (one value at a time, "unexpected EOF" when a value is cut
// short), json.Unmarshal's whole-text checks, Go's string unquoting (invalid UTF-8 and lone
// surrogates become U+FFFD) and base64.StdEncoding's strict decoding with its error offsets.
//
// Text is handled as bytes: callers pass a latin1 string (one char per byte), so positions and
// the non-ASCII bytes in error messages are Go's.

import { decodeUtf8Rune, goEscapeRune } from '@tsetcd/common';

/** A refusal worded as Go words it (the message is all a client sees). */
export class GoJsonError extends Error {}

export type JsonNode =
  | { t: 'obj'; raw: string; entries: Array<[string, JsonNode]> }
  | { t: 'arr'; raw: string; items: JsonNode[] }
  | { t: 'str' | 'num' | 'true' | 'false' | 'null'; raw: string };

/** encoding/json's maxNestingDepth */
const maxNestingDepth = 10000;

const enum St {
  BeginValue, BeginValueOrEmpty, BeginStringOrEmpty, BeginString, EndValue, InString, InStringEsc, InStringEscU,
  Neg, One, Zero, Dot, Dot0, E, ESign, E0, Literal,
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** The scanner's quoteChar: the offending byte as a Go rune literal. */
export function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  return `'${goEscapeRune(c)}'`;
}

function syntaxError(c: number, context: string): GoJsonError {
  return new GoJsonError(`invalid character ${quoteChar(c)} ${context}`);
}

const literals = ['true', 'false', 'null'];
const literalErrors: Record<string, string> = { true: 'in literal true', false: 'in literal false', null: 'in literal null' };

export interface Frame {
  node: JsonNode & { t: 'obj' | 'arr' };
  start: number;
  /** an object's current key (raw), and whether its ':' was seen */
  key: string | undefined;
  afterColon: boolean;
}

/** A scan that ran out of input, to go on with when more has arrived (same text, grown). */
export interface ScanState {
  stack: Frame[];
  st: St;
  start: number;
  lit: string;
  litPos: number;
  escU: number;
  started: boolean;
  i: number;
}

/** Where a scan stopped: a value, the input ending inside one, or before any. */
type ScanResult =
  | { kind: 'value'; node: JsonNode; end: number; state?: ScanState }
  | { kind: 'eof'; started: boolean; eofError: string | undefined; state: ScanState };

/**
 * Scans one JSON value of `s` from `pos`, as Go's scanner steps through it. Throws GoJsonError
 * on a syntax error. When the input ends first, says whether a value had started and what
 * stepping one more space would have said (Go's eof handling needs both).
 */
function scanValue(s: string, pos: number, resume?: ScanState): ScanResult {
  const stack: Frame[] = resume?.stack ?? [];
  let st = resume?.st ?? (St.BeginValue as St);
  let start = resume?.start ?? -1;
  let lit = resume?.lit ?? '';
  let litPos = resume?.litPos ?? 0;
  let escU = resume?.escU ?? 0;
  let started = resume?.started ?? false;
  let i = resume?.i ?? pos;
  let done: JsonNode | undefined;

  const complete = (node: JsonNode): void => {
    const top = stack[stack.length - 1];
    if (top === undefined) {
      done = node;
      return;
    }
    if (top.node.t === 'obj') {
      if (top.key === undefined) top.key = node.raw;
      else {
        top.node.entries.push([top.key, node]);
        top.key = undefined;
      }
    } else {
      top.node.items.push(node);
    }
    st = St.EndValue;
  };
  const push = (c: number, node: JsonNode & { t: 'obj' | 'arr' }): void => {
    stack.push({ node, start: i, key: undefined, afterColon: false });
    if (stack.length > maxNestingDepth) throw syntaxError(c, 'exceeded max depth');
  };
  const beginValue = (c: number): void => {
    started = true;
    switch (c) {
      case 0x7b: // {
        push(c, { t: 'obj', raw: '', entries: [] });
        st = St.BeginStringOrEmpty;
        return;
      case 0x5b: // [
        push(c, { t: 'arr', raw: '', items: [] });
        st = St.BeginValueOrEmpty;
        return;
      case 0x22:
        start = i;
        st = St.InString;
        return;
      case 0x2d:
        start = i;
        st = St.Neg;
        return;
      case 0x30:
        start = i;
        st = St.Zero;
        return;
      case 0x74:
      case 0x66:
      case 0x6e:
        start = i;
        lit = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
        litPos = 1;
        st = St.Literal;
        return;
    }
    if (c >= 0x31 && c <= 0x39) {
      start = i;
      st = St.One;
      return;
    }
    throw syntaxError(c, 'looking for beginning of value');
  };
  /** a number ended before byte i: finish it, then let stateEndValue see byte c */
  const endNumber = (): void => complete({ t: 'num', raw: s.slice(start, i) });
  const endValue = (c: number): void => {
    const top = stack[stack.length - 1];
    if (top === undefined) return; // top level: the caller stops at `done`
    if (isSpace(c)) return;
    if (top.node.t === 'obj') {
      if (top.key !== undefined && !top.afterColon) {
        if (c === 0x3a) {
          top.afterColon = true;
          st = St.BeginValue;
          return;
        }
        throw syntaxError(c, 'after object key');
      }
      if (c === 0x2c) {
        top.afterColon = false;
        st = St.BeginString;
        return;
      }
      if (c === 0x7d) {
        closeContainer();
        return;
      }
      throw syntaxError(c, 'after object key:value pair');
    }
    if (c === 0x2c) {
      st = St.BeginValue;
      return;
    }
    if (c === 0x5d) {
      closeContainer();
      return;
    }
    throw syntaxError(c, 'after array element');
  };
  const closeContainer = (): void => {
    const f = stack.pop()!;
    f.node.raw = s.slice(f.start, i + 1);
    complete(f.node);
  };

  for (; i < s.length && done === undefined; i++) {
    const c = s.charCodeAt(i);
    switch (st) {
      case St.BeginValue:
        if (!isSpace(c)) beginValue(c);
        break;
      case St.BeginValueOrEmpty:
        if (isSpace(c)) break;
        if (c === 0x5d) closeContainer();
        else beginValue(c);
        break;
      case St.BeginStringOrEmpty:
        if (isSpace(c)) break;
        if (c === 0x7d) {
          closeContainer();
          break;
        }
        if (c !== 0x22) throw syntaxError(c, 'looking for beginning of object key string');
        start = i;
        st = St.InString;
        break;
      case St.BeginString:
        if (isSpace(c)) break;
        if (c !== 0x22) throw syntaxError(c, 'looking for beginning of object key string');
        start = i;
        st = St.InString;
        break;
      case St.EndValue:
        endValue(c);
        break;
      case St.InString: {
        // fast path over plain bytes
        let j = i;
        while (j < s.length) {
          const d = s.charCodeAt(j);
          if (d === 0x22 || d === 0x5c || d < 0x20) break;
          j++;
        }
        i = j;
        if (i >= s.length) break;
        const d = s.charCodeAt(i);
        if (d === 0x22) complete({ t: 'str', raw: s.slice(start, i + 1) });
        else if (d === 0x5c) st = St.InStringEsc;
        else throw syntaxError(d, 'in string literal');
        break;
      }
      case St.InStringEsc:
        if (c === 0x75) {
          st = St.InStringEscU;
          escU = 0;
        } else if ('bfnrt\\/"'.includes(String.fromCharCode(c))) st = St.InString;
        else throw syntaxError(c, 'in string escape code');
        break;
      case St.InStringEscU:
        if (!isHex(c)) throw syntaxError(c, 'in \\u hexadecimal character escape');
        if (++escU === 4) st = St.InString;
        break;
      case St.Neg:
        if (c === 0x30) st = St.Zero;
        else if (c >= 0x31 && c <= 0x39) st = St.One;
        else throw syntaxError(c, 'in numeric literal');
        break;
      case St.One:
        if (isDigit(c)) break;
      // falls through: state1 hands other bytes to state0
      case St.Zero:
        if (c === 0x2e) st = St.Dot;
        else if (c === 0x65 || c === 0x45) st = St.E;
        else {
          endNumber();
          if (done === undefined) endValue(c);
        }
        break;
      case St.Dot:
        if (isDigit(c)) st = St.Dot0;
        else throw syntaxError(c, 'after decimal point in numeric literal');
        break;
      case St.Dot0:
        if (isDigit(c)) break;
        if (c === 0x65 || c === 0x45) st = St.E;
        else {
          endNumber();
          if (done === undefined) endValue(c);
        }
        break;
      case St.E:
        if (c === 0x2b || c === 0x2d) {
          st = St.ESign;
          break;
        }
      // falls through: stateE hands other bytes to stateESign
      case St.ESign:
        if (isDigit(c)) st = St.E0;
        else throw syntaxError(c, 'in exponent of numeric literal');
        break;
      case St.E0:
        if (isDigit(c)) break;
        endNumber();
        if (done === undefined) endValue(c);
        break;
      case St.Literal:
        if (c !== lit.charCodeAt(litPos)) throw syntaxError(c, `${literalErrors[lit]} (expecting '${lit[litPos]}')`);
        if (++litPos === lit.length) complete({ t: lit as 'true' | 'false' | 'null', raw: lit });
        break;
    }
  }
  if (done !== undefined) {
    // a number is finished by the byte after it, which is not part of the value
    const end = done.t === 'num' ? i - 1 : i;
    return { kind: 'value', node: done, end };
  }
  // the input ended: what one more space would have done
  i = Math.min(i, s.length);
  const state: ScanState = { stack, st, start, lit, litPos, escU, started, i };
  const eof = (eofError: string | undefined): ScanResult => ({ kind: 'eof', started, eofError, state });
  switch (st) {
    case St.One:
    case St.Zero:
    case St.Dot0:
    case St.E0:
      if (stack.length === 0) return { kind: 'value', node: { t: 'num', raw: s.slice(start, i) }, end: i, state };
      return eof(undefined);
    case St.InStringEsc:
      return eof(syntaxError(0x20, 'in string escape code').message);
    case St.InStringEscU:
      return eof(syntaxError(0x20, 'in \\u hexadecimal character escape').message);
    case St.Neg:
      return eof(syntaxError(0x20, 'in numeric literal').message);
    case St.Dot:
      return eof(syntaxError(0x20, 'after decimal point in numeric literal').message);
    case St.E:
    case St.ESign:
      return eof(syntaxError(0x20, 'in exponent of numeric literal').message);
    case St.Literal:
      return eof(syntaxError(0x20, `${literalErrors[lit]} (expecting '${lit[litPos]}')`).message);
    default:
      return eof(undefined);
  }
}

/**
 * json.Decoder.Decode: the next value of a stream at `pos`. Returns undefined at the end of
 * the input (io.EOF: nothing but spaces left); throws "unexpected EOF" when a value is cut short.
 */
export function decodeNext(s: string, pos: number): { node: JsonNode; end: number } | undefined {
  const r = scanValue(s, pos);
  if (r.kind === 'value') return { node: r.node, end: r.end };
  if (!r.started) return undefined;
  throw new GoJsonError('unexpected EOF');
}

/**
 * Whether a stream has a complete value at `pos` yet (for bodies still arriving): 'value',
 * 'more' (incomplete: wait, and pass `state` back with the grown text so the scan goes on where
 * it stopped), 'empty' (only spaces so far). Syntax errors are thrown.
 */
export function peekValue(s: string, pos: number, resume?: ScanState): { verdict: 'value' | 'more' | 'empty'; state?: ScanState } {
  const r = scanValue(s, pos, resume);
  if (r.kind === 'value') {
    // a top-level number may go on in the next chunk
    return r.node.t === 'num' && r.end === s.length ? { verdict: 'more', state: r.state } : { verdict: 'value' };
  }
  return { verdict: r.started ? 'more' : 'empty', state: r.state };
}

/** json.Unmarshal's checkValid: the whole text is one value and spaces. */
export function parseWhole(s: string): JsonNode {
  const r = scanValue(s, 0);
  if (r.kind === 'eof') throw new GoJsonError(r.eofError ?? 'unexpected end of JSON input');
  for (let i = r.end; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isSpace(c)) throw syntaxError(c, 'after top-level value');
  }
  return r.node;
}

function hex4(s: string, i: number): number {
  if (s.charCodeAt(i) !== 0x5c || s.charCodeAt(i + 1) !== 0x75) return -1;
  const h = s.slice(i + 2, i + 6);
  return /^[0-9a-fA-F]{4}$/.test(h) ? parseInt(h, 16) : -1;
}

function putRune(out: number[], r: number): void {
  const b = Buffer.from(String.fromCodePoint(r), 'utf8');
  for (const x of b) out.push(x);
}

/** Go's unquoteBytes: the bytes of a scanned JSON string (raw text with its quotes). */
export function unquote(raw: string): Buffer {
  const out: number[] = [];
  const bytes = Buffer.from(raw, 'latin1');
  const end = raw.length - 1;
  for (let i = 1; i < end; ) {
    const c = bytes[i];
    if (c === 0x5c) {
      const e = raw[i + 1];
      const simple: Record<string, number> = { b: 8, f: 12, n: 10, r: 13, t: 9, '\\': 0x5c, '/': 0x2f, '"': 0x22 };
      if (e !== 'u') {
        out.push(simple[e]);
        i += 2;
        continue;
      }
      let r = hex4(raw, i);
      i += 6;
      if (r >= 0xd800 && r < 0xe000) {
        const r2 = hex4(raw, i);
        if (r < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000) {
          putRune(out, 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00));
          i += 6;
          continue;
        }
        r = 0xfffd;
      }
      putRune(out, r);
      continue;
    }
    if (c < 0x80) {
      out.push(c);
      i++;
      continue;
    }
    const [r, n] = decodeUtf8Rune(bytes.subarray(0, end), i);
    if (r < 0) {
      out.push(0xef, 0xbf, 0xbd);
      i++;
      continue;
    }
    for (let k = 0; k < n; k++) out.push(bytes[i + k]);
    i += n;
  }
  return Buffer.from(out);
}

const base64Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const decodeMap = new Int16Array(256).fill(-1);
for (let k = 0; k < 64; k++) decodeMap[base64Alphabet.charCodeAt(k)] = k;

/**
 * base64.StdEncoding.DecodeString: padding required, '\r' and '\n' skipped anywhere, non-zero
 * trailing bits accepted (not strict). Errors: "illegal base64 data at input byte N".
 */
export function goBase64Decode(src: Uint8Array): Buffer {
  const out: number[] = [];
  const corrupt = (n: number) => new GoJsonError(`illegal base64 data at input byte ${n}`);
  let si = 0;
  while (si < src.length) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let trailing: GoJsonError | undefined;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return Buffer.from(out);
        throw corrupt(si - j);
      }
      const inb = src[si++];
      const v = decodeMap[inb];
      if (v >= 0) {
        dbuf[j] = v;
        continue;
      }
      if (inb === 0x0a || inb === 0x0d) {
        j--;
        continue;
      }
      if (inb !== 0x3d) throw corrupt(si - 1);
      // padding
      if (j === 0 || j === 1) throw corrupt(si - 1);
      if (j === 2) {
        while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
        if (si === src.length) throw corrupt(src.length);
        if (src[si] !== 0x3d) throw corrupt(si - 1);
        si++;
      }
      while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
      if (si < src.length) trailing = corrupt(si);
      dlen = j;
      break;
    }
    const val = (dbuf[0] << 18) | (dbuf[1] << 12) | (dbuf[2] << 6) | dbuf[3];
    const b = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    for (let k = 0; k < dlen - 1; k++) out.push(b[k]);
    if (trailing !== undefined) throw trailing;
  }
  return Buffer.from(out);
}

/** What Go's UnmarshalTypeError calls a JSON value ("number", "string", "array", ...). */
export function valueWord(n: JsonNode): string {
  switch (n.t) {
    case 'obj': return 'object';
    case 'arr': return 'array';
    case 'str': return 'string';
    case 'num': return 'number';
    case 'true':
    case 'false': return 'bool';
    case 'null': return 'null';
  }
}

export function typeError(value: string, goType: string): GoJsonError {
  return new GoJsonError(`json: cannot unmarshal ${value} into Go value of type ${goType}`);
}
