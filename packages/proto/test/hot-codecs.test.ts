import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../common/src/prng.js';
import * as proto from '../src/index.js';
import { messages, type JsonField } from '../src/gen/json-schema.js';

const { ScratchWriter, decodePutRequestView, decodeRangeRequestView, etcdserverpb } = proto;

// the generated message types by full proto name
const namespaces: Record<string, Record<string, unknown>> = {
  etcdserverpb: proto.etcdserverpb, mvccpb: proto.mvccpb, authpb: proto.authpb, v3electionpb: proto.v3electionpb,
  v3lockpb: proto.v3lockpb, 'grpc.health.v1': proto.healthpb, tsetcd: proto.tsetcdpb, tsetcdpb: proto.tsetcdpb,
};
interface Fns { encode(m: unknown, w?: unknown): { finish(): Uint8Array }; decode(b: Uint8Array): unknown; fromPartial(o: unknown): unknown }
function typeOf(full: string): Fns {
  const i = full.lastIndexOf('.');
  const t = namespaces[full.slice(0, i)]?.[full.slice(i + 1)];
  assert.ok(t, `no generated type for ${full}`);
  return t as Fns;
}

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);

function randBig(r: Rand, signed: boolean): bigint {
  switch (int(r, 6)) {
    case 0: return 0n;
    case 1: return BigInt(int(r, 300));
    case 2: return BigInt(int(r, 2 ** 31)) * BigInt(int(r, 2 ** 22) + 1); // up to ~2^53
    case 3: return 2n ** 53n - 1n + BigInt(int(r, 3)); // around the safe-integer edge
    case 4: { const u = (BigInt(int(r, 2 ** 32)) << 32n) | BigInt(int(r, 2 ** 32)); return signed ? BigInt.asIntN(64, u) : u; }
    default: return signed ? -BigInt(int(r, 2 ** 40)) : 2n ** 64n - 1n;
  }
}

function randString(r: Rand): string {
  const n = int(r, 4) === 0 ? int(r, 300) : int(r, 40);
  let s = '';
  for (let i = 0; i < n; i++) {
    const k = int(r, 10);
    if (k < 6) s += String.fromCharCode(32 + int(r, 95));
    else if (k < 8) s += String.fromCharCode(128 + int(r, 2000));
    else if (k < 9) s += '\u{1F600}';
    else s += String.fromCharCode(0xd800 + int(r, 0x800)); // lone surrogates too
  }
  return s;
}

function randBytes(r: Rand): Buffer {
  const n = int(r, 20) === 0 ? int(r, 40_000) : int(r, 300);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

function randScalar(r: Rand, f: JsonField): unknown {
  switch (f.kind) {
    case 'int64': case 'sint64': case 'sfixed64': return randBig(r, true);
    case 'uint64': case 'fixed64': return randBig(r, false);
    case 'int32': case 'sint32': case 'sfixed32': return int(r, 3) === 0 ? -int(r, 2 ** 31) : int(r, 2 ** 31);
    case 'enum': return int(r, 4) === 0 ? int(r, 1000) : int(r, 3);
    case 'uint32': case 'fixed32': return int(r, 2) === 0 ? int(r, 200) : int(r, 2 ** 32);
    case 'double': case 'float': return int(r, 2) === 0 ? 0 : Math.fround((r() - 0.5) * 1e6);
    case 'bool': return r() < 0.5;
    case 'string': return randString(r);
    case 'bytes': return randBytes(r);
    default: throw new Error(f.kind);
  }
}

function randMessage(r: Rand, full: string, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const oneofs = new Set<string>();
  for (const f of messages[full].fields) {
    if (r() < 0.35) continue;
    const one = (): unknown => (f.kind === 'message' ? (depth > 3 ? {} : randMessage(r, f.type!, depth + 1)) : randScalar(r, f));
    if (f.oneof !== undefined) {
      if (oneofs.has(f.oneof)) continue;
      oneofs.add(f.oneof);
      o[f.oneof] = { $case: f.ts, value: one() };
    } else if (f.repeated) {
      o[f.ts] = Array.from({ length: int(r, depth > 2 ? 2 : 4) }, one);
    } else {
      o[f.ts] = one();
    }
  }
  return o;
}

test('ScratchWriter writes what BinaryWriter writes, for random messages of every type', () => {
  const r = mulberry32(20261207);
  const w = new ScratchWriter();
  let compared = 0;
  for (const full of Object.keys(messages)) {
    const type = typeOf(full);
    for (let i = 0; i < 40; i++) {
      const m = type.fromPartial(randMessage(r, full, 0));
      let want: Uint8Array | Error;
      try {
        want = type.encode(m).finish();
      } catch (e) {
        want = e as Error;
      }
      if (want instanceof Error) {
        assert.throws(() => w.encode(type as never, m), { message: want.message }, full);
        continue;
      }
      const headroom = i % 3 === 0 ? 5 : 0;
      const got = w.encode(type as never, m, headroom);
      assert.deepEqual(Buffer.from(got.subarray(headroom)), Buffer.from(want), `${full} #${i}`);
      const n = w.encodeLength(type as never, m);
      assert.deepEqual(Buffer.from(w.scratch.subarray(0, n)), Buffer.from(want), `${full} #${i} (encodeLength)`);
      compared++;
    }
  }
  assert.ok(compared > 3000, `compared ${compared}`);
});

test('ScratchWriter throws what BinaryWriter throws for values out of range, and is usable afterwards', () => {
  const w = new ScratchWriter();
  const bad: Array<[Fns, unknown]> = [
    [etcdserverpb.RangeRequest as unknown as Fns, { sortOrder: 1.5 }],
    [etcdserverpb.RangeRequest as unknown as Fns, { sortOrder: 2 ** 31 }],
    [etcdserverpb.Member as unknown as Fns, { ID: -1n }],
    [etcdserverpb.PutRequest as unknown as Fns, { lease: 2n ** 63n }],
    [etcdserverpb.AlarmMember as unknown as Fns, { memberID: 2n ** 64n }],
  ];
  for (const [type, partial] of bad) {
    const m = type.fromPartial(partial);
    Object.assign(m as object, partial);
    assert.throws(() => type.encode(m).finish(), (e: Error) => {
      assert.throws(() => w.encode(type as never, m), { message: e.message });
      return true;
    });
  }
  const ok = etcdserverpb.PutRequest.fromPartial({ key: Buffer.from('k'), value: Buffer.from('v') });
  assert.deepEqual(Buffer.from(w.encode(etcdserverpb.PutRequest, ok)), Buffer.from(etcdserverpb.PutRequest.encode(ok).finish()));
});

test('ScratchWriter: one big message does not keep a big buffer, and the next encode is right', () => {
  const w = new ScratchWriter();
  const big = etcdserverpb.PutRequest.fromPartial({ key: Buffer.from('k'), value: Buffer.alloc(3 * 1024 * 1024, 7) });
  assert.equal(w.encode(etcdserverpb.PutRequest, big).length, etcdserverpb.PutRequest.encode(big).finish().length);
  const small = etcdserverpb.PutRequest.fromPartial({ key: Buffer.from('a'), value: Buffer.from('b') });
  const got = w.encode(etcdserverpb.PutRequest, small);
  assert.deepEqual(Buffer.from(got), Buffer.from(etcdserverpb.PutRequest.encode(small).finish()));
  assert.ok(got.buffer.byteLength <= 1024 * 1024);
});

/** Byte-level damage to an encoded message: the decoders must agree on the result or the error. */
function mutate(r: Rand, b: Buffer): Buffer {
  const out = Buffer.from(b);
  switch (int(r, 6)) {
    case 0: return out.subarray(0, int(r, out.length + 1)); // truncated
    case 1: if (out.length > 0) out[int(r, out.length)] = int(r, 256); return out; // one byte changed
    case 2: return Buffer.concat([out, Buffer.from([int(r, 256), int(r, 256), int(r, 256)])]); // trailing junk
    case 3: return Buffer.concat([out, Buffer.from([0x38, int(r, 256)])]); // an unknown field 7
    case 4: return Buffer.concat([out, out]); // every field twice (last wins)
    default: return out;
  }
}

function decoded(fn: () => unknown): unknown {
  try {
    const m = fn() as Record<string, unknown>;
    // compare contents, not Buffer identity or backing store
    return JSON.parse(JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
  } catch (e) {
    return { error: (e as Error).message };
  }
}

test('decodePutRequestView decodes what PutRequest.decode decodes (or throws what it throws), key and value as views', () => {
  const r = mulberry32(7);
  for (let i = 0; i < 20_000; i++) {
    const m = etcdserverpb.PutRequest.fromPartial(randMessage(r, 'etcdserverpb.PutRequest', 0));
    const wire = mutate(r, Buffer.from(etcdserverpb.PutRequest.encode(m).finish()));
    assert.deepEqual(decoded(() => decodePutRequestView(wire)), decoded(() => etcdserverpb.PutRequest.decode(wire)), `#${i} ${wire.toString('hex').slice(0, 200)}`);
  }
  // random bytes too
  for (let i = 0; i < 5000; i++) {
    const wire = randBytes(r).subarray(0, 40);
    assert.deepEqual(decoded(() => decodePutRequestView(wire)), decoded(() => etcdserverpb.PutRequest.decode(wire)));
  }
  const wire = Buffer.from(etcdserverpb.PutRequest.encode(etcdserverpb.PutRequest.fromPartial({ key: Buffer.from('key'), value: Buffer.from('value') })).finish());
  const v = decodePutRequestView(wire);
  assert.equal(v.key.buffer, wire.buffer, 'the key is a view, not a copy');
  assert.equal(v.value.buffer, wire.buffer, 'the value is a view, not a copy');
  // a plain Uint8Array works as well
  assert.deepEqual(decoded(() => decodePutRequestView(new Uint8Array(wire))), decoded(() => etcdserverpb.PutRequest.decode(wire)));
});

test('putProposal writes what InternalRaftRequest.encode writes for a header and a put (and throws what it throws)', () => {
  const r = mulberry32(11);
  const { putProposal, tsetcdpb } = proto;
  const w = new ScratchWriter();
  for (let i = 0; i < 5000; i++) {
    const header = tsetcdpb.RequestHeader.fromPartial(randMessage(r, 'tsetcdpb.RequestHeader', 0));
    const put = etcdserverpb.PutRequest.fromPartial(randMessage(r, 'etcdserverpb.PutRequest', 0));
    if (i % 50 === 1) (header as { authRevision: unknown }).authRevision = -1n; // out of range: the generated error
    if (i % 50 === 2) (put as { lease: unknown }).lease = 2n ** 63n;
    const full = tsetcdpb.InternalRaftRequest.fromPartial({ header, put });
    let want: Buffer | Error;
    try {
      want = Buffer.from(tsetcdpb.InternalRaftRequest.encode(full).finish());
    } catch (e) {
      want = e as Error;
    }
    const m = { header, ID: 0n, put };
    if (want instanceof Error) {
      assert.throws(() => w.encode(putProposal, m), { message: want.message });
    } else {
      assert.deepEqual(Buffer.from(w.encode(putProposal, m)), want, `#${i}`);
      assert.deepEqual(Buffer.from(putProposal.encode(m).finish()), want);
    }
  }
});

test('decodeRangeRequestView decodes what RangeRequest.decode decodes (or throws what it throws), keys as views', () => {
  const r = mulberry32(8);
  for (let i = 0; i < 20_000; i++) {
    const m = etcdserverpb.RangeRequest.fromPartial(randMessage(r, 'etcdserverpb.RangeRequest', 0));
    const wire = mutate(r, Buffer.from(etcdserverpb.RangeRequest.encode(m).finish()));
    assert.deepEqual(decoded(() => decodeRangeRequestView(wire)), decoded(() => etcdserverpb.RangeRequest.decode(wire)), `#${i} ${wire.toString('hex').slice(0, 200)}`);
  }
  for (let i = 0; i < 5000; i++) {
    const wire = randBytes(r).subarray(0, 40);
    assert.deepEqual(decoded(() => decodeRangeRequestView(wire)), decoded(() => etcdserverpb.RangeRequest.decode(wire)));
  }
  const wire = Buffer.from(etcdserverpb.RangeRequest.encode(etcdserverpb.RangeRequest.fromPartial({ key: Buffer.from('a'), rangeEnd: Buffer.from('b'), limit: 5n, serializable: true })).finish());
  const v = decodeRangeRequestView(wire);
  assert.equal(v.key.buffer, wire.buffer, 'the key is a view, not a copy');
  assert.equal(v.rangeEnd.buffer, wire.buffer);
  assert.deepEqual([v.limit, v.serializable], [5n, true]);
});
