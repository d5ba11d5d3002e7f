// Unit tests of the wire pieces: message (de)framing, grpc-message percent-encoding, grpc-timeout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeGrpcMessage, encodeGrpcMessage, frameMessage, GrpcError, GrpcCode, MessageDeframer, parseGrpcTimeoutMs,
} from '../src/grpc/index.js';

function deframeAll(chunks: Buffer[], max = 1 << 20): Array<{ payload: string; compressed: boolean }> {
  const out: Array<{ payload: string; compressed: boolean }> = [];
  const d = new MessageDeframer(max, { onMessage: (p, c) => out.push({ payload: p.toString('hex'), compressed: c }) });
  for (const c of chunks) d.push(c);
  assert.equal(d.partial, false);
  return out;
}

test('deframer: several messages in one chunk, and an empty message', () => {
  const wire = Buffer.concat([frameMessage(Buffer.from('ab')), frameMessage(Buffer.alloc(0)), frameMessage(Buffer.from('xyz'))]);
  assert.deepEqual(deframeAll([wire]).map((m) => Buffer.from(m.payload, 'hex').toString()), ['ab', '', 'xyz']);
});

test('deframer: a message byte by byte, then the compressed flag is reported', () => {
  const framed = frameMessage(Buffer.from('hello'));
  framed[0] = 1;
  const chunks = [...framed].map((b) => Buffer.from([b]));
  assert.deepEqual(deframeAll(chunks), [{ payload: Buffer.from('hello').toString('hex'), compressed: true }]);
});

test('deframer: any split of any messages gives back the same messages (property)', () => {
  fc.assert(fc.property(
    fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
    fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 40 }),
    (messages, cuts) => {
      const wire = Buffer.concat(messages.map((m) => frameMessage(m)));
      const chunks: Buffer[] = [];
      let at = 0;
      for (let i = 0; at < wire.length; i++) {
        const n = cuts[i % cuts.length];
        chunks.push(wire.subarray(at, at + n));
        at += n;
      }
      const got = deframeAll(chunks).map((m) => m.payload);
      assert.deepEqual(got, messages.map((m) => Buffer.from(m).toString('hex')));
    },
  ), { numRuns: 300 });
});

test('deframer: an oversize message is refused from its header, with grpc-go words', () => {
  const d = new MessageDeframer(10, { onMessage: () => assert.fail('no message expected') });
  const header = frameMessage(Buffer.alloc(11)).subarray(0, 5);
  assert.throws(() => d.push(header), (err: unknown) => {
    assert.ok(err instanceof GrpcError);
    assert.equal(err.code, GrpcCode.ResourceExhausted);
    assert.equal(err.message, 'grpc: received message larger than max (11 vs. 10)');
    return true;
  });
});

test('grpc-message: printable ASCII unchanged, the rest percent-encoded as UTF-8, and back', () => {
  assert.equal(encodeGrpcMessage('etcdserver: key not found'), 'etcdserver: key not found');
  assert.equal(encodeGrpcMessage('100%'), '100%25');
  assert.equal(encodeGrpcMessage('a\nb'), 'a%0Ab');
  assert.equal(encodeGrpcMessage('ключ'), '%D0%BA%D0%BB%D1%8E%D1%87');
  assert.equal(decodeGrpcMessage('%D0%BA%D0%BB%D1%8E%D1%87 100%25'), 'ключ 100%');
  fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => {
    const enc = encodeGrpcMessage(s);
    assert.match(enc, /^[\x20-\x7e]*$/);
    assert.equal(decodeGrpcMessage(enc), s);
  }));
});

test('grpc-timeout: units, and malformed values', () => {
  assert.equal(parseGrpcTimeoutMs('1H'), 3_600_000);
  assert.equal(parseGrpcTimeoutMs('2M'), 120_000);
  assert.equal(parseGrpcTimeoutMs('3S'), 3000);
  assert.equal(parseGrpcTimeoutMs('250m'), 250);
  assert.equal(parseGrpcTimeoutMs('1500u'), 1.5);
  assert.equal(parseGrpcTimeoutMs('99999999n'), 99.999999);
  for (const bad of ['', 'S', '123456789S', '10x', '1.5S', '-1S']) {
    assert.ok(parseGrpcTimeoutMs(bad) instanceof Error, bad);
  }
});

test('GrpcError refuses OK and out-of-range codes', () => {
  assert.throws(() => new GrpcError(0, 'ok?'), RangeError);
  assert.throws(() => new GrpcError(17, 'x'), RangeError);
  assert.equal(new GrpcError(GrpcCode.NotFound, 'x').code, 5);
});
