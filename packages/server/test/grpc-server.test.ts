// GrpcServer behind a ClientPortListener, driven by @grpc/grpc-js clients on real sockets.
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  type BidiCall, frameMessage, GrpcError, GrpcCode, type ServerCall,
} from '../src/grpc/index.js';
import { collect, fromJson, rawBytes, sleep, startHarness, toJson, unary, unaryError } from './grpc-test-kit.js';
import { waitFor } from '../../../test/kit/wait.js';

test('unary: request and response round trip, sync and async handlers, many concurrent calls', async (t) => {
  const h = await startHarness(t, (s) => {
    s.addUnary('/test.Echo/Sync', fromJson, toJson, (req: { n: number }) => ({ n: req.n + 1 }));
    s.addUnary('/test.Echo/Async', fromJson, toJson, async (req: { n: number }) => {
      await new Promise((r) => setImmediate(r)); // answered on a later turn of the event loop
      return { n: req.n * 2 };
    });
  });
  assert.deepEqual(await unary(h.client, '/test.Echo/Sync', { n: 41 }), { n: 42 });
  const got = await Promise.all(Array.from({ length: 200 }, (_, i) => unary(h.client, '/test.Echo/Async', { n: i })));
  assert.deepEqual(got.map((r) => r.n), Array.from({ length: 200 }, (_, i) => i * 2));
});

test('unary: responses queued behind flow control arrive whole (each is copied out of the shared encode buffer)', async (t) => {
  // more response bytes at once than the client's 64 KiB windows: later responses wait in queues
  // while the encoder has long reused its buffer for other calls
  const body = (n: number): Buffer => Buffer.alloc(1000 + (n % 7) * 900, n & 0xff);
  const shared = Buffer.alloc(16 * 1024);
  const h = await startHarness(t, (s) => {
    s.addUnary('/test.Bytes/Fill', rawBytes, (b: Buffer) => {
      b.copy(shared);
      return shared.subarray(0, b.length);
    }, async (req: Buffer) => {
      await new Promise((r) => setImmediate(r));
      return body(req.readUInt32BE(0));
    });
  }, { client: { 'grpc.http2.initial_window_size': 65535 } as never });
  const call = (n: number): Promise<Buffer> => new Promise((resolve, reject) => {
    const req = Buffer.alloc(4);
    req.writeUInt32BE(n);
    h.client.makeUnaryRequest('/test.Bytes/Fill', (b: Buffer) => b, (b: Buffer) => b, req, (err, r) => (err ? reject(err) : resolve(r!)));
  });
  const got = await Promise.all(Array.from({ length: 300 }, (_, n) => call(n)));
  got.forEach((b, n) => assert.ok(b.equals(body(n)), `response ${n}`));
});

test('unary: large request and response cross many DATA frames unchanged', async (t) => {
  const h = await startHarness(t, (s) => {
    s.addUnary('/test.Bytes/Reverse', rawBytes, (b: Buffer) => b, (req: Buffer) => Buffer.from(req).reverse());
  });
  const big = Buffer.alloc(3 * 1024 * 1024 + 7);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  const res = await new Promise<Buffer>((resolve, reject) => {
    h.client.makeUnaryRequest('/test.Bytes/Reverse', (b: Buffer) => b, (b: Buffer) => b, big, (err, r) => (err ? reject(err) : resolve(r!)));
  });
  assert.ok(res.equals(Buffer.from(big).reverse()));
});

test('unary: GrpcError status and non-ASCII message reach the client; other throws are UNKNOWN', async (t) => {
  const h = await startHarness(t, (s) => {
    s.addUnary('/test.Echo/NotFound', fromJson, toJson, () => {
      throw new GrpcError(GrpcCode.NotFound, 'ключ не найден: 100% ✓\nline2');
    });
    s.addUnary('/test.Echo/Reject', fromJson, toJson, async () => {
      throw new GrpcError(GrpcCode.FailedPrecondition, 'etcdserver: requested lease not found');
    });
    s.addUnary('/test.Echo/Crash', fromJson, toJson, () => {
      throw new TypeError('boom');
    });
  });
  const e1 = await unaryError(h.client, '/test.Echo/NotFound', {});
  assert.equal(e1.code, grpc.status.NOT_FOUND);
  assert.equal(e1.details, 'ключ не найден: 100% ✓\nline2');
  const e2 = await unaryError(h.client, '/test.Echo/Reject', {});
  assert.equal(e2.code, grpc.status.FAILED_PRECONDITION);
  assert.equal(e2.details, 'etcdserver: requested lease not found');
  const e3 = await unaryError(h.client, '/test.Echo/Crash', {});
  assert.equal(e3.code, grpc.status.UNKNOWN);
  assert.equal(e3.details, 'boom');
});

test('unknown service and unknown method are UNIMPLEMENTED', async (t) => {
  const h = await startHarness(t, (s) => s.addUnary('/test.Echo/Say', fromJson, toJson, (r) => r));
  const e1 = await unaryError(h.client, '/test.Nope/Say', {});
  assert.equal(e1.code, grpc.status.UNIMPLEMENTED);
  assert.equal(e1.details, 'unknown service test.Nope');
  const e2 = await unaryError(h.client, '/test.Echo/Shout', {});
  assert.equal(e2.code, grpc.status.UNIMPLEMENTED);
  assert.equal(e2.details, 'unknown method Shout for service test.Echo');
});

test('oversize request is RESOURCE_EXHAUSTED with grpc-go wording; the handler never runs', async (t) => {
  let ran = 0;
  const h = await startHarness(t, (s) => s.addUnary('/test.Bytes/Len', rawBytes, toJson, (b: Buffer) => {
    ran++;
    return b.length;
  }), { server: { maxReceiveMessageBytes: 1024 } });
  const call = (n: number) => new Promise<unknown>((resolve) => {
    h.client.makeUnaryRequest('/test.Bytes/Len', (b: Buffer) => b, fromJson, Buffer.alloc(n), (err, r) => resolve(err ?? r));
  });
  assert.equal(await call(1024), 1024);
  const err = (await call(200_000)) as grpc.ServiceError;
  assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(err.details, 'grpc: received message larger than max (200000 vs. 1024)');
  assert.equal(ran, 1);
  // The connection is still good.
  assert.equal(await call(10), 10);
});

test('oversize response is RESOURCE_EXHAUSTED', async (t) => {
  const h = await startHarness(t, (s) => s.addUnary('/test.Echo/Big', fromJson, toJson, () => 'x'.repeat(2000)),
    { server: { maxSendMessageBytes: 1000 } });
  const err = await unaryError(h.client, '/test.Echo/Big', {});
  assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(err.details, 'grpc: trying to send message larger than max (2002 vs. 1000)');
});

test('malformed request (decoder throws) is INTERNAL "grpc: error unmarshalling request"', async (t) => {
  const h = await startHarness(t, (s) => s.addUnary('/test.Echo/Say', fromJson, toJson, (r) => r));
  const err = await new Promise<grpc.ServiceError>((resolve) => {
    h.client.makeUnaryRequest('/test.Echo/Say', (b: Buffer) => b, fromJson, Buffer.from('{not json'), (e) => resolve(e!));
  });
  assert.equal(err.code, grpc.status.INTERNAL);
  assert.match(err.details, /^grpc: error unmarshalling request: /);
});

test('gzip-compressed requests from grpc-js are accepted', async (t) => {
  const h = await startHarness(t, (s) => s.addUnary('/test.Echo/Say', fromJson, toJson, (r) => r),
    { client: { 'grpc.default_compression_algorithm': 2 /* gzip */ } });
  const req = { text: 'compress me '.repeat(500) };
  assert.deepEqual(await unary(h.client, '/test.Echo/Say', req), req);
});

test('gzip: the receive limit applies to the decompressed size', async (t) => {
  const h = await startHarness(t, (s) => s.addUnary('/test.Echo/Say', fromJson, toJson, (r) => r),
    { server: { maxReceiveMessageBytes: 1000 }, client: { 'grpc.default_compression_algorithm': 2 /* gzip */ } });
  assert.deepEqual(await unary(h.client, '/test.Echo/Say', { small: 'x'.repeat(900) }), { small: 'x'.repeat(900) });
  const err = await unaryError(h.client, '/test.Echo/Say', { big: 'x'.repeat(20_000) }); // ~60 bytes gzipped
  assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(err.details, 'grpc: received message after decompression larger than max (1001 vs. 1000)');
});

test('metadata, peer and deadline are visible to the handler', async (t) => {
  let seen: { auth?: unknown; hasleader?: unknown; peer: string; deadline: number } | undefined;
  let inherited: Record<string, unknown> | undefined;
  const h = await startHarness(t, (s) => s.addUnary('/test.Echo/Who', fromJson, toJson, (_r, call) => {
    seen = { auth: call.metadata.authorization, hasleader: call.metadata.hasleader, peer: call.peer, deadline: call.deadline };
    inherited = { ctor: Object.hasOwn(call.metadata, 'constructor') ? call.metadata.constructor : undefined, toString: (call.metadata as Record<string, unknown>).toString };
    return {};
  }));
  const md = new grpc.Metadata();
  md.set('authorization', 'tok123');
  md.set('hasleader', 'true');
  // names that are properties of ordinary objects are plain fields here too
  md.set('constructor', 'c1');
  const before = Date.now();
  await unary(h.client, '/test.Echo/Who', {}, { deadline: Date.now() + 5000 }, md);
  assert.equal(seen?.auth, 'tok123');
  assert.equal(seen?.hasleader, 'true');
  assert.deepEqual(inherited, { ctor: 'c1', toString: undefined });
  assert.match(seen!.peer, /^127\.0\.0\.1:\d+$/);
  assert.ok(seen!.deadline > before + 4000 && seen!.deadline <= Date.now() + 5100, `deadline ${seen!.deadline}`);
  await unary(h.client, '/test.Echo/Who', {});
  assert.equal(seen?.deadline, Infinity);
});

test('deadline: the client gets DEADLINE_EXCEEDED and the handler is cancelled', async (t) => {
  const cancelled: string[] = [];
  const h = await startHarness(t, (s) => s.addUnary('/test.Echo/Hang', fromJson, toJson, (_r, call) => new Promise((resolve) => {
    call.onCancel(() => {
      cancelled.push(call.cancelReason!);
      resolve({ late: true }); // ignored: the call is over
    });
  })));
  const err = await unaryError(h.client, '/test.Echo/Hang', {}, { deadline: Date.now() + 150 });
  assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
  await waitFor('the cancel', () => cancelled.length === 1);
  assert.ok(cancelled[0] === 'deadline' || cancelled[0] === 'client', cancelled[0]);
});

test('deadline enforced by the server: status 4 "context deadline exceeded" in trailers', async (t) => {
  let reason: string | undefined;
  const h = await startHarness(t, (s) => s.addUnary('/test.Echo/Hang', fromJson, toJson, (_r, call) => new Promise(() => {
    call.signal.addEventListener('abort', () => {
      reason = call.cancelReason;
    });
  })));
  // A raw HTTP/2 client sends grpc-timeout and no RST of its own, so the status is the server's.
  const session = http2.connect(`http://${h.target}`);
  t.after(() => session.close());
  const stream = session.request({
    ':method': 'POST', ':path': '/test.Echo/Hang', 'content-type': 'application/grpc', 'te': 'trailers', 'grpc-timeout': '100m',
  });
  stream.end(frameMessage(toJson({})));
  const [headers, trailers] = await Promise.all([
    new Promise<http2.IncomingHttpHeaders>((r) => stream.once('response', r)),
    new Promise<http2.IncomingHttpHeaders>((r) => {
      stream.once('trailers', r);
      stream.once('response', (hd) => { if (hd['grpc-status'] !== undefined) r(hd); });
    }),
    new Promise((r) => { stream.resume(); stream.once('close', r); }),
  ]);
  assert.equal(headers[':status'], 200);
  assert.equal(trailers['grpc-status'], '4');
  assert.equal(trailers['grpc-message'], 'context deadline exceeded');
  assert.equal(reason, 'deadline');
});

test('server stream: all messages in order, then OK; errors after messages arrive as trailers', async (t) => {
  const h = await startHarness(t, (s) => {
    s.addServerStream('/test.Count/Up', fromJson, toJson, async (req: { n: number }, call) => {
      for (let i = 0; i < req.n; i++) {
        if (!call.write({ i })) await call.drained();
      }
    });
    s.addServerStream('/test.Count/Fail', fromJson, toJson, (req: { n: number }, call) => {
      for (let i = 0; i < req.n; i++) call.write({ i });
      call.end(new GrpcError(GrpcCode.OutOfRange, 'etcdserver: mvcc: required revision has been compacted'));
    });
  });
  const up = await collect(h.client.makeServerStreamRequest('/test.Count/Up', toJson, fromJson, { n: 2000 }));
  assert.equal(up.error, undefined);
  assert.deepEqual(up.messages.map((m: any) => m.i), Array.from({ length: 2000 }, (_, i) => i));
  const fail = await collect(h.client.makeServerStreamRequest('/test.Count/Fail', toJson, fromJson, { n: 3 }));
  assert.equal(fail.messages.length, 3);
  assert.equal(fail.error?.code, grpc.status.OUT_OF_RANGE);
  assert.equal(fail.error?.details, 'etcdserver: mvcc: required revision has been compacted');
});

test('bidi: many messages both ways, echoed in order', async (t) => {
  const h = await startHarness(t, (s) => s.addBidi('/test.Chat/Echo', fromJson, toJson, async (call: BidiCall<{ i: number }>) => {
    for await (const req of call) {
      if (!call.write({ i: req.i, twice: req.i * 2 })) await call.drained();
    }
  }));
  const n = 1500; // grpc-js client writes are slow (~2-3k msg/s each way), not the server
  const stream = h.client.makeBidiStreamRequest('/test.Chat/Echo', toJson, fromJson);
  const done = collect(stream);
  for (let i = 0; i < n; i++) {
    if (!stream.write({ i })) await new Promise((r) => stream.once('drain', r));
  }
  stream.end();
  const { messages, error } = await done;
  assert.equal(error, undefined);
  assert.equal(messages.length, n);
  assert.ok(messages.every((m: any, i) => m.i === i && m.twice === 2 * i));
});

test('back-pressure: a client that does not read holds the server writer (bounded buffering)', async (t) => {
  let written = 0;
  const total = 3000;
  const payload = 'y'.repeat(1000);
  let waiting = false;
  const h = await startHarness(t, (s) => s.addBidi('/test.Flood/Out', fromJson, toJson, async (call: BidiCall) => {
    while (!call.cancelled && written < total) {
      if (!call.write({ payload, n: written++ })) {
        waiting = true;
        await call.drained();
        waiting = false;
      }
    }
  }));
  // grpc-js clients buffer without limit in their own process, so a raw HTTP/2 client whose
  // stream is paused plays the slow reader: node stops granting flow-control window.
  const session = http2.connect(`http://${h.target}`);
  t.after(() => session.close());
  const stream = session.request({ ':method': 'POST', ':path': '/test.Flood/Out', 'content-type': 'application/grpc', 'te': 'trailers' });
  stream.write(frameMessage(toJson({})));
  stream.pause();
  // held: the writer waits on drained() and made no progress since the previous look
  let last = -1;
  await waitFor('the writer held by flow control', () => {
    const held = waiting && written === last;
    last = written;
    return held;
  }, 10_000, 100);
  const plateau = written;
  // A negative check, so the wait is the behaviour: no write may get through while the client stays paused.
  await sleep(200);
  assert.equal(written, plateau, 'server kept writing into a paused client');
  assert.ok(plateau < 1000, `server wrote ${plateau} KB into a paused client`);
  // Reading again lets the writer finish.
  let bytes = 0;
  stream.on('data', (c: Buffer) => { bytes += c.length; });
  const trailers = new Promise<http2.IncomingHttpHeaders>((r) => stream.once('trailers', r));
  stream.resume();
  assert.equal((await trailers)['grpc-status'], '0');
  assert.equal(written, total);
  assert.equal(bytes, total * (5 + toJson({ payload, n: 0 }).length) + extraDigits(total));
  stream.close();
});

/** JSON of {payload, n} grows by one byte per extra digit of n. */
function extraDigits(total: number): number {
  let extra = 0;
  for (let n = 0; n < total; n++) extra += String(n).length - 1;
  return extra;
}

test('back-pressure: a handler that does not read pauses the client writer', async (t) => {
  let decoded = 0;
  let call: BidiCall | undefined;
  const h = await startHarness(t, (s) => s.addBidi('/test.Flood/In', (b) => { decoded++; return fromJson(b); }, toJson, (c: BidiCall) => {
    call = c; // never reads
  }), { server: { bidiReadQueueMessages: 16 } });
  const stream = h.client.makeBidiStreamRequest('/test.Flood/In', toJson, fromJson);
  stream.on('error', () => {});
  let sent = 0;
  let blocked = false;
  const payload = 'z'.repeat(1000);
  void (async () => {
    while (sent < 100_000 && !stream.destroyed) {
      sent++;
      if (!stream.write({ payload })) {
        blocked = true;
        await new Promise<void>((r) => {
          const done = (): void => {
            stream.off('drain', done);
            stream.off('close', done);
            r();
          };
          stream.on('drain', done);
          stream.on('close', done);
        });
      }
    }
  })();
  // held: the client's writer is blocked and the server decoded nothing since the previous look
  let last = -1;
  await waitFor('the client writer held by flow control', () => {
    const held = blocked && decoded > 0 && decoded === last;
    last = decoded;
    return held;
  }, 10_000, 100);
  const plateau = decoded;
  // A negative check, so the wait is the behaviour: nothing more may be decoded while the handler does not read.
  await sleep(200);
  assert.equal(decoded, plateau, 'server kept decoding for a handler that does not read');
  assert.ok(sent < 100_000, 'client was never held back');
  // Draining the queue lets the client continue.
  let read = 0;
  void (async () => { for await (const _ of call!) read++; })();
  await waitFor('the client to continue', () => read > plateau + 100);
  stream.cancel();
  await waitFor('the handler to see the cancel', () => call!.cancelled);
});

test('client cancel reaches unary, server-stream and bidi handlers', async (t) => {
  const cancelled: string[] = [];
  const started: string[] = [];
  const watch = (name: string, call: ServerCall) => {
    started.push(name);
    call.on('cancelled', (reason) => cancelled.push(`${name}:${reason}`));
  };
  const h = await startHarness(t, (s) => {
    s.addUnary('/test.C/Unary', fromJson, toJson, (_r, call) => new Promise(() => watch('unary', call)));
    s.addServerStream('/test.C/Stream', fromJson, toJson, (_r, call) => { watch('stream', call); call.write({}); });
    s.addBidi('/test.C/Bidi', fromJson, toJson, (call) => watch('bidi', call));
  });
  const u = h.client.makeUnaryRequest('/test.C/Unary', toJson, fromJson, {}, () => {});
  const ss = h.client.makeServerStreamRequest('/test.C/Stream', toJson, fromJson, {});
  ss.on('error', () => {});
  ss.on('data', () => {});
  const bd = h.client.makeBidiStreamRequest('/test.C/Bidi', toJson, fromJson);
  bd.on('error', () => {});
  bd.write({});
  await waitFor('three handlers started', () => started.length === 3);
  u.cancel();
  ss.cancel();
  bd.cancel();
  await waitFor('three cancels', () => cancelled.length === 3);
  assert.deepEqual(cancelled.sort(), ['bidi:client', 'stream:client', 'unary:client']);
});

test('observer hooks see each call start and its final status', async (t) => {
  const events: string[] = [];
  const h = await startHarness(t, (s) => {
    s.addUnary('/test.O/Ok', fromJson, toJson, () => ({}));
    s.addUnary('/test.O/Bad', fromJson, toJson, () => { throw new GrpcError(GrpcCode.InvalidArgument, 'bad'); });
  }, { server: { observer: {
    started: (p, type) => events.push(`start ${p} ${type}`),
    handled: (p, type, code) => events.push(`done ${p} ${type} ${code}`),
  } } });
  await unary(h.client, '/test.O/Ok', {});
  await unaryError(h.client, '/test.O/Bad', {});
  assert.deepEqual(events, [
    'start /test.O/Ok unary', 'done /test.O/Ok unary 0', 'start /test.O/Bad unary', 'done /test.O/Bad unary 3',
  ]);
});

/** A raw HTTP/2 gRPC request; resolves with the final status (trailers, or trailers-only headers) and the messages' bytes. */
function rawCall(session: http2.ClientHttp2Session, path: string, extraHeaders: http2.OutgoingHttpHeaders = {}) {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', 'te': 'trailers', ...extraHeaders });
  const chunks: Buffer[] = [];
  const done = new Promise<{ status?: string; message?: string; body: Buffer }>((resolve) => {
    let status: string | undefined;
    let message: string | undefined;
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) {
        status = String(h['grpc-status']);
        message = h['grpc-message'] === undefined ? undefined : String(h['grpc-message']);
      }
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {});
    stream.on('close', () => resolve({ status, message, body: Buffer.concat(chunks) }));
  });
  return { stream, done };
}

test('raw HTTP/2: messages split over many DATA frames and several in one frame', async (t) => {
  const h = await startHarness(t, (s) => s.addBidi('/test.Raw/Echo', rawBytes, (b: Buffer) => b, async (call: BidiCall<Buffer>) => {
    for await (const m of call) call.write(m);
  }));
  const session = http2.connect(`http://${h.target}`);
  t.after(() => session.close());
  const { stream, done } = rawCall(session, '/test.Raw/Echo');
  const msgs = [Buffer.from('one'), Buffer.from(''), Buffer.from('three'), Buffer.alloc(70_000, 0x41)];
  stream.write(Buffer.concat(msgs.slice(0, 3).map((m) => frameMessage(m))));
  const big = frameMessage(msgs[3]);
  for (let at = 0; at < big.length; at += 7001) {
    // each piece flushed before the next is written: its own DATA frame
    await new Promise((r) => stream.write(big.subarray(at, at + 7001), r));
  }
  stream.end();
  const { status, body } = await done;
  assert.equal(status, '0');
  assert.ok(body.equals(Buffer.concat(msgs.map((m) => frameMessage(m)))));
});

test('raw HTTP/2: a client still uploading to an unknown method or past the size limit gets its status and the stream ends', async (t) => {
  const h = await startHarness(t, (s) => s.addUnary('/test.Raw/Len', rawBytes, toJson, (b: Buffer) => b.length),
    { server: { maxReceiveMessageBytes: 100 } });
  const session = http2.connect(`http://${h.target}`);
  t.after(() => session.close());
  const unknown = rawCall(session, '/test.Raw/Nope');
  unknown.stream.write(Buffer.alloc(1 << 20)); // never ends its side
  const big = rawCall(session, '/test.Raw/Len');
  big.stream.write(frameMessage(Buffer.alloc(5000)).subarray(0, 3000)); // header says 5000 > 100; never ends
  const [u, b] = await Promise.all([unknown.done, big.done]);
  assert.equal(u.status, '12');
  assert.equal(u.message, 'unknown method Nope for service test.Raw');
  assert.equal(b.status, '8');
  assert.equal(b.message, 'grpc: received message larger than max (5000 vs. 100)');
});

test('raw HTTP/2: compressed flag with an unsupported or missing grpc-encoding', async (t) => {
  const h = await startHarness(t, (s) => s.addUnary('/test.Raw/Len', rawBytes, toJson, (b: Buffer) => b.length));
  const session = http2.connect(`http://${h.target}`);
  t.after(() => session.close());
  const compressed = frameMessage(Buffer.from('xyz'));
  compressed[0] = 1;
  const snappy = rawCall(session, '/test.Raw/Len', { 'grpc-encoding': 'snappy' });
  snappy.stream.end(compressed);
  const none = rawCall(session, '/test.Raw/Len');
  none.stream.end(compressed);
  const plain = rawCall(session, '/test.Raw/Len', { 'grpc-encoding': 'snappy' });
  plain.stream.end(frameMessage(Buffer.from('xyz'))); // flag 0: the encoding header does not matter
  const [s1, s2, s3] = await Promise.all([snappy.done, none.done, plain.done]);
  assert.equal(s1.status, '12');
  assert.equal(s1.message, 'grpc: Decompressor is not installed for grpc-encoding "snappy"');
  assert.equal(s2.status, '13');
  assert.equal(s2.message, 'grpc: compressed flag set with identity or empty encoding');
  assert.equal(s3.status, '0');
  assert.deepEqual(fromJson(s3.body.subarray(5)), 3);
});

test('raw HTTP/2: malformed grpc-timeout and a request with no message', async (t) => {
  const h = await startHarness(t, (s) => s.addUnary('/test.Raw/Len', rawBytes, toJson, (b: Buffer) => b.length));
  const session = http2.connect(`http://${h.target}`);
  t.after(() => session.close());
  const badTimeout = rawCall(session, '/test.Raw/Len', { 'grpc-timeout': '12x' });
  badTimeout.stream.end(frameMessage(Buffer.from('a')));
  const empty = rawCall(session, '/test.Raw/Len');
  empty.stream.end();
  const [a, b] = await Promise.all([badTimeout.done, empty.done]);
  assert.equal(a.status, '13');
  assert.match(a.message!, /^malformed grpc-timeout: /);
  assert.equal(b.status, '13');
  assert.equal(b.message, 'grpc: no request message for unary call');
});

test('raw HTTP/2: 1000 concurrent calls on one connection (no low stream limit)', async (t) => {
  const n = 1000;
  let inFlight = 0;
  let maxInFlight = 0;
  // every handler holds its call until all n are in flight at once (a server that limits
  // concurrency never gets there: the deadline guard then lets them go and the assertion fails)
  let releaseAll!: () => void;
  const allInFlight = new Promise<void>((r) => { releaseAll = r; });
  const guard = setTimeout(releaseAll, 20_000);
  t.after(() => clearTimeout(guard));
  const h = await startHarness(t, (s) => s.addUnary('/test.Raw/Wait', rawBytes, toJson, async (b: Buffer) => {
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    if (inFlight === n) releaseAll();
    await allInFlight;
    inFlight--;
    return b.length;
  }));
  const session = http2.connect(`http://${h.target}`, { peerMaxConcurrentStreams: 2000 });
  t.after(() => session.close());
  await new Promise((r) => session.once('remoteSettings', r));
  assert.ok(session.remoteSettings.maxConcurrentStreams! >= 1000, `server allows ${session.remoteSettings.maxConcurrentStreams}`);
  const calls = Array.from({ length: n }, () => {
    const c = rawCall(session, '/test.Raw/Wait');
    c.stream.end(frameMessage(Buffer.from('abc')));
    return c.done;
  });
  const results = await Promise.all(calls);
  assert.ok(results.every((r) => r.status === '0'));
  assert.equal(maxInFlight, n, `only ${maxInFlight} calls were in flight at once`);
});
