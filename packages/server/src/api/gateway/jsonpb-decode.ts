// A request body to a ts-proto message the way etcd 3.4's gateway reads it: golang/protobuf's
// jsonpb (v1.3, as /usr/bin/etcd is built; Unmarshaler{AllowUnknownFields: true}) over
// encoding/json. Regular fields in declaration order, each by its .proto name and then its JSON
// name (which wins); then the members of oneofs (etcd visits them in Go map order: with two
// members of one oneof given, which wins is chance there; here the last declared); unknown
// fields and nulls skipped; 64-bit integers as numbers or quoted; enums by name (checked before
// anything else, repeated fields included) or number; bytes as strict standard base64 or an
// array of byte values. The first error ends the decode, worded as Go words it.

import { jsonSchema } from '@tsetcd/proto';
import { goQuote } from '@tsetcd/common';
import { GoJsonError, goBase64Decode, parseWhole, typeError, unquote, valueWord, type JsonNode } from './go-json.js';

type Partial = Record<string, unknown>;
type JsonField = jsonSchema.JsonField;

/** Go type names in UnmarshalTypeError messages, by proto kind. */
const goTypes: Record<string, string> = {
  int64: 'int64', sint64: 'int64', sfixed64: 'int64', uint64: 'uint64', fixed64: 'uint64',
  int32: 'int32', sint32: 'int32', sfixed32: 'int32', uint32: 'uint32', fixed32: 'uint32',
  bool: 'bool', string: 'string', bytes: '[]uint8', double: 'float64', float: 'float32',
};

/** json.Unmarshal of a number literal into a Go integer type (strconv.ParseInt/ParseUint + overflow). */
function goInteger(raw: string, signed: boolean, bits: number, goType: string): bigint {
  const ok = signed ? /^-?[0-9]+$/.test(raw) : /^[0-9]+$/.test(raw);
  if (ok) {
    const v = BigInt(raw);
    const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
    const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
    if (v >= min && v <= max) return v;
  }
  throw typeError(`number ${raw}`, goType);
}

/** json.Unmarshal(text, &intN) where text is a field's raw JSON with surrounding quotes removed. */
function integerFromText(text: string, signed: boolean, bits: number, goType: string): bigint {
  const n = parseWhole(text);
  if (n.t === 'num') return goInteger(n.raw, signed, bits, goType);
  if (n.t === 'null') return 0n;
  throw typeError(valueWord(n), goType);
}

/** jsonpb's trimQuote: the raw text without its surrounding quotes, escapes left as they are. */
function trimQuote(raw: string): string {
  return raw.length >= 2 && raw[0] === '"' && raw[raw.length - 1] === '"' ? raw.slice(1, -1) : raw;
}

function decodeBytes(n: JsonNode): Buffer {
  switch (n.t) {
    case 'null':
      return Buffer.alloc(0);
    case 'str':
      return goBase64Decode(unquote(n.raw));
    case 'arr': {
      // a []byte from an array of numbers; Go keeps going and reports the first error
      let first: GoJsonError | undefined;
      const out = Buffer.alloc(n.items.length);
      n.items.forEach((x, k) => {
        if (x.t === 'null') return;
        try {
          if (x.t !== 'num') throw typeError(valueWord(x), 'uint8');
          out[k] = Number(goInteger(x.raw, false, 8, 'uint8'));
        } catch (e) {
          first ??= e as GoJsonError;
        }
      });
      if (first !== undefined) throw first;
      return out;
    }
    default:
      throw typeError(valueWord(n), '[]uint8');
  }
}

function decodeSingular(n: JsonNode, f: JsonField): unknown {
  switch (f.kind) {
    case 'bool':
      if (n.t === 'true') return true;
      if (n.t === 'false' || n.t === 'null') return false;
      throw typeError(valueWord(n), 'bool');
    case 'string':
      if (n.t === 'str') return unquote(n.raw).toString('utf8');
      if (n.t === 'null') return '';
      throw typeError(valueWord(n), 'string');
    case 'bytes':
      return decodeBytes(n);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return integerFromText(trimQuote(n.raw), true, 64, goTypes[f.kind]);
    case 'uint64':
    case 'fixed64':
      return integerFromText(trimQuote(n.raw), false, 64, goTypes[f.kind]);
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return Number(integerFromText(trimQuote(n.raw), true, 32, goTypes[f.kind]));
    case 'uint32':
    case 'fixed32':
      return Number(integerFromText(trimQuote(n.raw), false, 32, goTypes[f.kind]));
    case 'double':
    case 'float': {
      const special: Record<string, number> = { '"NaN"': NaN, '"Infinity"': Infinity, '"-Infinity"': -Infinity };
      if (n.raw in special) return special[n.raw];
      const x = parseWhole(trimQuote(n.raw));
      if (x.t === 'null') return 0;
      if (x.t !== 'num') throw typeError(valueWord(x), goTypes[f.kind]);
      return Number(x.raw);
    }
    case 'enum': {
      const e = jsonSchema.enums[f.type!];
      if (n.t === 'str') {
        const name = trimQuote(n.raw);
        const v = e.values[name];
        if (v === undefined) throw new GoJsonError(`unknown value ${goQuote(Buffer.from(name, 'latin1'))} for enum ${e.goName}`);
        return v;
      }
      if (n.t === 'null') return 0;
      if (n.t !== 'num') throw typeError(valueWord(n), e.goName);
      return Number(goInteger(n.raw, true, 32, e.goName));
    }
    case 'message':
      return decodeMessageNode(n, f.type!);
  }
}

function decodeField(n: JsonNode, f: JsonField): unknown {
  // jsonpb looks at a quoted enum name before it looks at the field's shape
  if (f.kind === 'enum' && n.t === 'str') {
    const e = jsonSchema.enums[f.type!];
    const name = trimQuote(n.raw);
    if (e.values[name] === undefined) throw new GoJsonError(`unknown value ${goQuote(Buffer.from(name, 'latin1'))} for enum ${e.goName}`);
    if (f.repeated) throw new GoJsonError(`invalid target "slice" for enum ${e.goName}`);
    return e.values[name];
  }
  if (!f.repeated) return decodeSingular(n, f);
  if (n.t !== 'arr') throw typeError(valueWord(n), '[]json.RawMessage');
  return n.items.map((x) => decodeSingular(x, f));
}

const zeroOf: Record<string, () => unknown> = {
  bool: () => false, string: () => '', bytes: () => Buffer.alloc(0), enum: () => 0, int32: () => 0, uint32: () => 0, sint32: () => 0,
  fixed32: () => 0, sfixed32: () => 0, double: () => 0, float: () => 0, int64: () => 0n, uint64: () => 0n, sint64: () => 0n, fixed64: () => 0n, sfixed64: () => 0n,
};

/** Go's name of a oneof's interface type: etcdserverpb.isCompare_TargetUnion. */
function oneofGoName(messageGoName: string, oneofTs: string): string {
  const dot = messageGoName.indexOf('.');
  return `${messageGoName.slice(0, dot)}.is${messageGoName.slice(dot + 1)}_${oneofTs[0].toUpperCase()}${oneofTs.slice(1)}`;
}

/** One message from a scanned JSON value: a partial ts-proto object (fromPartial fills the rest). */
export function decodeMessageNode(n: JsonNode, typeName: string): Partial {
  const schema = jsonSchema.messages[typeName];
  if (schema === undefined) throw new Error(`no JSON schema for ${typeName}`);
  if (n.t === 'null') return {};
  if (n.t !== 'obj') throw typeError(valueWord(n), 'map[string]json.RawMessage');
  const byKey = new Map<string, JsonNode>();
  for (const [k, v] of n.entries) byKey.set(unquote(k).toString('utf8'), v);
  /** jsonpb's consumeField: the .proto name, then the JSON name */
  const consume = (name: string, json: string): JsonNode | undefined => {
    let raw = byKey.get(name);
    byKey.delete(name);
    if (byKey.has(json)) raw = byKey.get(json);
    byKey.delete(json);
    return raw;
  };
  const out: Partial = {};
  const oneofMembers: JsonField[] = [];
  const oneofsSeen = new Set<string>();
  for (const f of schema.fields) {
    if (f.oneof !== undefined) {
      oneofMembers.push(f);
      if (oneofsSeen.has(f.oneof)) continue;
      oneofsSeen.add(f.oneof);
      // the Go struct's interface field, named after the oneof: only null fits it
      const raw = consume(f.oneofName!, f.oneofName!);
      if (raw !== undefined && raw.t !== 'null') throw typeError(valueWord(raw), oneofGoName(schema.goName, f.oneof));
      continue;
    }
    const raw = consume(f.name, f.json);
    if (raw === undefined || raw.t === 'null') continue;
    out[f.ts] = decodeField(raw, f);
  }
  for (const f of oneofMembers) {
    const raw = consume(f.name, f.json);
    if (raw === undefined) continue;
    if (raw.t === 'null') {
      // a null message leaves the member empty; a null scalar is its zero, and set
      if (f.kind !== 'message') out[f.oneof!] = { $case: f.ts, value: zeroOf[f.kind]() };
      continue;
    }
    out[f.oneof!] = { $case: f.ts, value: decodeField(raw, f) };
  }
  return out;
}
