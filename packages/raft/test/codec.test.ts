import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ConfChangeType,
  EntryType,
  ErrDecode,
  MessageType,
  decodeConfChange,
  decodeEntry,
  decodeMessage,
  decodeSnapshot,
  encodeConfChange,
  encodeEntry,
  encodeMessage,
  encodeSnapshot,
  type Message,
} from '../src/index.js';

// plain objects (fast-check builds null-prototype records by default)
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const idx = fc.maxSafeNat();
const bytes = fc.uint8Array({ maxLength: 64 }).map((b) => new Uint8Array(b));
const entry = rec({ term: idx, index: idx, type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange), data: bytes });
const confState = rec({ voters: fc.array(u64, { maxLength: 5 }), learners: fc.array(u64, { maxLength: 3 }) });
const snapshot = rec({ data: bytes, metadata: rec({ index: idx, term: idx, confState }) });
const message: fc.Arbitrary<Message> = rec({
  type: fc.integer({ min: 0, max: 18 }),
  from: u64,
  to: u64,
  term: idx,
  logTerm: idx,
  index: idx,
  entries: fc.array(entry, { maxLength: 5 }),
  commit: idx,
  snapshot: fc.option(snapshot, { nil: undefined }),
  reject: fc.boolean(),
  rejectHint: idx,
  context: bytes,
  commitOnly: fc.boolean(),
});

test('messages round-trip through the codec', () => {
  fc.assert(
    fc.property(message, (m) => {
      assert.deepEqual(decodeMessage(encodeMessage(m)), m);
      // with headroom for a transport's length prefix: the same bytes after it
      assert.deepEqual(encodeMessage(m, 4).subarray(4), encodeMessage(m));
    }),
    { numRuns: 300 },
  );
});

test('entries, snapshots and conf changes round-trip', () => {
  fc.assert(fc.property(entry, (e) => assert.deepEqual(decodeEntry(encodeEntry(e)), e)), { numRuns: 200 });
  fc.assert(fc.property(snapshot, (s) => assert.deepEqual(decodeSnapshot(encodeSnapshot(s)), s)), { numRuns: 200 });
  const cc = rec({ type: fc.constantFrom(0, 1, 2, 3) as fc.Arbitrary<ConfChangeType>, nodeId: u64, context: bytes });
  fc.assert(fc.property(cc, (c) => assert.deepEqual(decodeConfChange(encodeConfChange(c)), c)), { numRuns: 200 });
});

test('decoded values do not alias the input buffer', () => {
  const m: Message = {
    type: MessageType.MsgApp, from: 1n, to: 2n, term: 3, logTerm: 2, index: 7, commit: 6, reject: false, rejectHint: 0, commitOnly: false,
    context: new Uint8Array([9]), entries: [{ term: 3, index: 8, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) }], snapshot: undefined,
  };
  const buf = encodeMessage(m);
  const d = decodeMessage(buf);
  buf.fill(0);
  assert.deepEqual(d.entries[0].data, new Uint8Array([1, 2, 3]));
});

test('corrupt or truncated input is rejected with ErrDecode, never a crash', () => {
  const buf = encodeMessage({
    type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: 3, logTerm: 0, index: 0, commit: 6, reject: false, rejectHint: 0, commitOnly: false,
    context: new Uint8Array([1, 2]), entries: [], snapshot: undefined,
  });
  for (let n = 0; n < buf.byteLength; n++) assert.throws(() => decodeMessage(buf.subarray(0, n)), ErrDecode);
  assert.throws(() => decodeMessage(Buffer.concat([buf, Buffer.of(0)])), ErrDecode);
  const badType = Buffer.from(buf);
  badType[1] = 99;
  assert.throws(() => decodeMessage(badType), /bad message type/);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (junk) => {
      try {
        decodeMessage(junk);
      } catch (e) {
        assert.ok(e instanceof ErrDecode, String(e));
      }
    }),
    { numRuns: 500 },
  );
  assert.throws(() => decodeConfChange(Uint8Array.of(7, 0, 0, 0, 0, 0, 0, 0, 0, 0)), /bad conf change type/);
});
