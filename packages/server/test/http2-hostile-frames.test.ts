// Our own HTTP/2 layer (src/http2/) on the client port, driven with raw frames over TCP: a
// well-formed gRPC call, then every class of hostile input (bad preface, frame size, flow
// control, CONTINUATION floods, HPACK bombs, rapid reset, stream limits, ping abuse, random
// frames). Each must end with the right GOAWAY / RST_STREAM code, and the server keeps serving.

import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test, type TestContext } from 'node:test';
import { mulberry32 } from '@tsetcd/common';
import { ClientPortListener, type ClientPortListenerOptions, GrpcServer } from '../src/grpc/index.js';
import { ErrorCode, Flag, FrameType } from '../src/http2/frame-types.js';
import { HpackDecoder } from '../src/http2/hpack-decoder.js';
import { HpackEncoder } from '../src/http2/hpack-encoder.js';
import { Http2Connection } from '../src/http2/http2-connection.js';

const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** A raw HTTP/2 client: writes frames, parses what comes back, ACKs the server's SETTINGS. */
class RawClient {
  readonly frames: Frame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  readonly decoder = new HpackDecoder(4096);

  private constructor(readonly socket: net.Socket, private readonly autoAck: boolean, private readonly autoPong: boolean) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + len) break;
        const f = { type: this.buf[3], flags: this.buf[4], stream: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) };
        this.buf = this.buf.subarray(9 + len);
        if (this.autoAck && f.type === FrameType.Settings && (f.flags & Flag.Ack) === 0) this.send(FrameType.Settings, Flag.Ack, 0);
        if (this.autoPong && f.type === FrameType.Ping && (f.flags & Flag.Ack) === 0) this.send(FrameType.Ping, Flag.Ack, 0, Buffer.from(f.payload));
        this.frames.push(f);
      }
      this.poke();
    });
    socket.on('close', () => {
      this.closed = true;
      this.poke();
    });
    socket.on('error', () => {});
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Connects, sends the preface and SETTINGS, and waits for the server's first SETTINGS. */
  static async open(port: number, settings: Array<[number, number]> = [], opts: { autoPong?: boolean } = {}): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
    const c = new RawClient(socket, true, opts.autoPong ?? true);
    socket.write(preface);
    c.sendSettings(settings);
    await c.next((f) => f.type === FrameType.Settings && (f.flags & Flag.Ack) === 0);
    return c;
  }

  send(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): void {
    const h = Buffer.alloc(9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(stream, 5);
    if (!this.socket.destroyed) this.socket.write(Buffer.concat([h, payload]));
  }

  sendSettings(pairs: Array<[number, number]>): void {
    const p = Buffer.alloc(pairs.length * 6);
    pairs.forEach(([k, v], i) => {
      p.writeUInt16BE(k, i * 6);
      p.writeUInt32BE(v, i * 6 + 2);
    });
    this.send(FrameType.Settings, 0, 0, p);
  }

  /** The first frame (from the start of the connection, or after `from`) matching `match`; fails after 5 s or on close. */
  async next(match: (f: Frame) => boolean, from = 0): Promise<Frame> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const f = this.frames.slice(from).find(match);
      if (f !== undefined) return f;
      if (this.closed) throw new Error('connection closed before the frame came');
      if (Date.now() > deadline) throw new Error('no such frame within 5 s');
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
  }

  /** The GOAWAY the server sent, and that it then closed the connection. */
  async goaway(): Promise<{ code: number; lastStream: number; debug: string }> {
    const f = await this.nextOrClosed((x) => x.type === FrameType.Goaway);
    assert.ok(f !== undefined, 'no GOAWAY before the connection closed');
    await this.whenClosed();
    return { lastStream: f.payload.readUInt32BE(0), code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString() };
  }

  private async nextOrClosed(match: (f: Frame) => boolean): Promise<Frame | undefined> {
    try {
      return await this.next(match);
    } catch {
      return this.frames.find(match);
    }
  }

  async whenClosed(): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('the server did not close the connection');
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
  }

  headers(f: Frame): Record<string, string> {
    const out: Record<string, string> = {};
    this.decoder.decode(f.payload, (n, v) => (out[n] = v));
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}

const enc = new HpackEncoder();
function requestBlock(path: string, extra: Array<[string, string]> = []): Buffer {
  return enc.encode([[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'localhost'], ['content-type', 'application/grpc'], ['te', 'trailers'], ...extra]);
}
function grpcMessage(payload: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(payload.length, 1);
  return Buffer.concat([h, payload]);
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

async function startServer(t: TestContext, listener: Omit<ClientPortListenerOptions, 'grpc'> = {}): Promise<{ port: number; listener: ClientPortListener }> {
  const server = new GrpcServer();
  const raw = (b: Uint8Array): Buffer => Buffer.from(b);
  server.addUnary('/t.S/Echo', raw, raw, (req: Buffer) => req);
  server.addUnary('/t.S/Big', raw, raw, (req: Buffer) => Buffer.alloc(Number(req.toString()), 0x61));
  server.addBidi('/t.S/Sink', raw, raw, async (call) => {
    let n = 0;
    for await (const m of call) n += (m as Buffer).length;
    call.write(Buffer.from(String(n)));
  });
  server.addServerStream('/t.S/Forever', raw, raw, (_req, call) => {
    call.write(Buffer.from('first'));
    return new Promise<void>((r) => call.onCancel(r));
  });
  const l = new ClientPortListener({ closeGraceMs: 200, leanHttp2: true, ...listener, grpc: server });
  const { port } = await l.listen();
  t.after(() => l.close());
  return { port, listener: l };
}

/** A unary Echo on stream `id`; resolves with the response payload and grpc-status. */
async function echo(c: RawClient, id: number, body = 'hello'): Promise<{ status: string; payload: string }> {
  const from = c.frames.length;
  c.send(FrameType.Headers, Flag.EndHeaders, id, requestBlock('/t.S/Echo'));
  c.send(FrameType.Data, Flag.EndStream, id, grpcMessage(Buffer.from(body)));
  const h = await c.next((f) => f.stream === id && f.type === FrameType.Headers, from);
  assert.equal(c.headers(h)[':status'], '200');
  const trailers = await c.next((f) => f.stream === id && f.type === FrameType.Headers && (f.flags & Flag.EndStream) !== 0, from);
  const data = c.frames.slice(from).filter((f) => f.stream === id && f.type === FrameType.Data).map((f) => f.payload);
  const all = Buffer.concat(data);
  return { status: c.headers(trailers)['grpc-status'], payload: all.subarray(5).toString() };
}

test('a unary call over raw frames: HEADERS, DATA and trailers, all in one write', async (t) => {
  const { port, listener } = await startServer(t);
  const c = await RawClient.open(port);
  t.after(() => c.close());
  const r = await echo(c, 1);
  assert.deepEqual(r, { status: '0', payload: 'hello' });
  // the first response block starts with a dynamic table size update to 0 (we never index)
  const first = c.frames.find((f) => f.type === FrameType.Headers)!;
  assert.equal(first.payload[0], 0x20);
  assert.equal((listener as unknown as { leanConnections: Set<unknown> }).leanConnections.size, 1);
  // many calls, then each response is whole
  const results = await Promise.all([3, 5, 7, 9].map((id) => echo(c, id, `m${id}`)));
  assert.deepEqual(results.map((x) => x.payload), ['m3', 'm5', 'm7', 'm9']);
});

test('a bad preface: GOAWAY PROTOCOL_ERROR and the connection closed', async (t) => {
  const { port } = await startServer(t);
  const socket = net.connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => {});
  // a good start routes the connection to HTTP/2 (the listener sends an empty SETTINGS at once) ...
  socket.write('PRI * HTTP/2.0\r\n\r\n');
  await new Promise((r) => socket.once('data', r));
  // ... then the rest of the preface is wrong
  socket.write('XX\r\n\r\n');
  await new Promise((r) => socket.once('close', r));
  const all = Buffer.concat(chunks);
  const goaway = findFrame(all, FrameType.Goaway);
  assert.ok(goaway !== undefined, 'no GOAWAY');
  assert.equal(goaway.readUInt32BE(4), ErrorCode.ProtocolError);
});

function findFrame(all: Buffer, type: number): Buffer | undefined {
  let off = 0;
  while (off + 9 <= all.length) {
    const len = all.readUIntBE(off, 3);
    if (all[off + 3] === type) return all.subarray(off + 9, off + 9 + len);
    off += 9 + len;
  }
  return undefined;
}

const connectionErrors: Array<[string, number, (c: RawClient) => void]> = [
  ['DATA on stream 0', ErrorCode.ProtocolError, (c) => c.send(FrameType.Data, 0, 0, Buffer.from('x'))],
  ['HEADERS on an even stream', ErrorCode.ProtocolError, (c) => c.send(FrameType.Headers, Flag.EndHeaders, 2, requestBlock('/t.S/Echo'))],
  ['PUSH_PROMISE from a client', ErrorCode.ProtocolError, (c) => c.send(FrameType.PushPromise, Flag.EndHeaders, 1, u32(2))],
  ['WINDOW_UPDATE of 0 on the connection', ErrorCode.ProtocolError, (c) => c.send(FrameType.WindowUpdate, 0, 0, u32(0))],
  ['connection window past 2^31-1', ErrorCode.FlowControlError, (c) => c.send(FrameType.WindowUpdate, 0, 0, u32(0x7fffffff))],
  ['SETTINGS of 5 bytes', ErrorCode.FrameSizeError, (c) => c.send(FrameType.Settings, 0, 0, Buffer.alloc(5))],
  ['SETTINGS ACK with a payload', ErrorCode.FrameSizeError, (c) => c.send(FrameType.Settings, Flag.Ack, 0, Buffer.alloc(6))],
  ['SETTINGS_INITIAL_WINDOW_SIZE 2^31', ErrorCode.FlowControlError, (c) => c.sendSettings([[4, 0x80000000]])],
  ['SETTINGS_MAX_FRAME_SIZE 100', ErrorCode.ProtocolError, (c) => c.sendSettings([[5, 100]])],
  ['SETTINGS_ENABLE_PUSH 2', ErrorCode.ProtocolError, (c) => c.sendSettings([[2, 2]])],
  ['SETTINGS on a stream', ErrorCode.ProtocolError, (c) => c.send(FrameType.Settings, 0, 1)],
  ['PING of 7 bytes', ErrorCode.FrameSizeError, (c) => c.send(FrameType.Ping, 0, 0, Buffer.alloc(7))],
  ['a frame over SETTINGS_MAX_FRAME_SIZE', ErrorCode.FrameSizeError, (c) => c.send(FrameType.Data, 0, 1, Buffer.alloc(20000))],
  ['CONTINUATION without HEADERS', ErrorCode.ProtocolError, (c) => c.send(FrameType.Continuation, Flag.EndHeaders, 3, Buffer.from([0x82]))],
  ['another frame inside a header block', ErrorCode.ProtocolError, (c) => {
    c.send(FrameType.Headers, 0, 3, requestBlock('/t.S/Echo').subarray(0, 3));
    c.send(FrameType.Ping, 0, 0, Buffer.alloc(8));
  }],
  ['an undecodable header block', ErrorCode.CompressionError, (c) => c.send(FrameType.Headers, Flag.EndHeaders, 3, Buffer.from([0x80]))],
  ['a table size update over our limit', ErrorCode.CompressionError, (c) => c.send(FrameType.Headers, Flag.EndHeaders, 3, Buffer.from([0x3f, 0xe2, 0x1f]))],
  ['RST_STREAM on an idle stream', ErrorCode.ProtocolError, (c) => c.send(FrameType.RstStream, 0, 99, u32(8))],
  ['RST_STREAM of 3 bytes', ErrorCode.FrameSizeError, (c) => c.send(FrameType.RstStream, 0, 1, Buffer.alloc(3))],
  ['DATA on an idle stream', ErrorCode.ProtocolError, (c) => c.send(FrameType.Data, 0, 41, Buffer.from('x'))],
  ['WINDOW_UPDATE on an idle stream', ErrorCode.ProtocolError, (c) => c.send(FrameType.WindowUpdate, 0, 41, u32(1))],
  ['PRIORITY on stream 0', ErrorCode.ProtocolError, (c) => c.send(FrameType.Priority, 0, 0, Buffer.alloc(5))],
  ['GOAWAY on a stream', ErrorCode.ProtocolError, (c) => c.send(FrameType.Goaway, 0, 1, Buffer.alloc(8))],
];

test('connection errors: each violation gets GOAWAY with its RFC 9113 code, and the server keeps serving', async (t) => {
  const { port } = await startServer(t);
  for (const [what, code, violate] of connectionErrors) {
    const c = await RawClient.open(port);
    try {
      assert.equal((await echo(c, 1)).status, '0', what);
      violate(c);
      const g = await c.goaway();
      assert.equal(g.code, code, `${what}: GOAWAY ${g.code} (${g.debug})`);
      assert.equal(g.lastStream, 1, what);
    } finally {
      c.close();
    }
  }
  const ok = await RawClient.open(port);
  t.after(() => ok.close());
  assert.equal((await echo(ok, 1)).status, '0');
});

test('stream errors: the stream is reset, the connection lives on', async (t) => {
  const { port } = await startServer(t, { streamWindowBytes: 1000 });
  const c = await RawClient.open(port);
  t.after(() => c.close());
  assert.equal((await echo(c, 1)).status, '0');
  // DATA past the stream's window (1000 bytes, our SETTINGS)
  c.send(FrameType.Headers, Flag.EndHeaders, 3, requestBlock('/t.S/Sink'));
  c.send(FrameType.Data, 0, 3, Buffer.alloc(1500));
  const rst = await c.next((f) => f.type === FrameType.RstStream && f.stream === 3);
  assert.equal(rst.payload.readUInt32BE(0), ErrorCode.FlowControlError);
  // a malformed request (no :path): PROTOCOL_ERROR on the stream
  c.send(FrameType.Headers, Flag.EndHeaders | Flag.EndStream, 5, enc.encode([[':method', 'POST'], [':scheme', 'http'], ['content-type', 'application/grpc']]));
  const rst5 = await c.next((f) => f.type === FrameType.RstStream && f.stream === 5);
  assert.equal(rst5.payload.readUInt32BE(0), ErrorCode.ProtocolError);
  // upper-case header names and connection-specific headers are malformed too
  c.send(FrameType.Headers, Flag.EndHeaders | Flag.EndStream, 7, requestBlock('/t.S/Echo', [['Bad', 'x']]));
  c.send(FrameType.Headers, Flag.EndHeaders | Flag.EndStream, 9, requestBlock('/t.S/Echo', [['connection', 'close']]));
  for (const id of [7, 9]) assert.equal((await c.next((f) => f.type === FrameType.RstStream && f.stream === id)).payload.readUInt32BE(0), ErrorCode.ProtocolError);
  // WINDOW_UPDATE of 0 on a stream
  c.send(FrameType.Headers, Flag.EndHeaders, 11, requestBlock('/t.S/Sink'));
  c.send(FrameType.WindowUpdate, 0, 11, u32(0));
  assert.equal((await c.next((f) => f.type === FrameType.RstStream && f.stream === 11)).payload.readUInt32BE(0), ErrorCode.ProtocolError);
  assert.equal((await echo(c, 13)).status, '0');
});

test('CONTINUATION flood: GOAWAY ENHANCE_YOUR_CALM', async (t) => {
  const { port } = await startServer(t);
  const c = await RawClient.open(port);
  t.after(() => c.close());
  assert.equal((await echo(c, 1)).status, '0');
  c.send(FrameType.Headers, 0, 3, requestBlock('/t.S/Echo'));
  for (let i = 0; i < 1100 && !c.closed; i++) c.send(FrameType.Continuation, 0, 3);
  assert.equal((await c.goaway()).code, ErrorCode.EnhanceYourCalm);
});

test('HPACK bomb: a block expanding past the header list limit gets 431; the connection survives', async (t) => {
  const { port } = await startServer(t);
  const c = await RawClient.open(port);
  t.after(() => c.close());
  assert.equal((await echo(c, 1)).status, '0');
  const indexing = new HpackEncoder({ indexing: true });
  const block = Buffer.concat([
    enc.encode([[':method', 'POST'], [':scheme', 'http'], [':path', '/t.S/Echo'], ['content-type', 'application/grpc']]),
    indexing.encode([['x-bomb', 'b'.repeat(4000)]]),
    Buffer.alloc(5000, 0xbe), // 5000 references to it: ~20 MB of headers
  ]);
  for (let off = 0, first = true; off < block.length; off += 16384, first = false) {
    const part = block.subarray(off, off + 16384);
    const last = off + 16384 >= block.length;
    c.send(first ? FrameType.Headers : FrameType.Continuation, (first ? Flag.EndStream : 0) | (last ? Flag.EndHeaders : 0), 3, part);
  }
  const h = await c.next((f) => f.type === FrameType.Headers && f.stream === 3);
  assert.equal(c.headers(h)[':status'], '431');
  assert.equal((await echo(c, 5)).status, '0');
});

test('rapid reset (CVE-2023-44487): opening and cancelling streams in a burst ends with ENHANCE_YOUR_CALM', async (t) => {
  const { port } = await startServer(t);
  const c = await RawClient.open(port);
  t.after(() => c.close());
  let id = 1;
  for (let i = 0; i < 1500 && !c.closed; i++, id += 2) {
    c.send(FrameType.Headers, Flag.EndHeaders, id, requestBlock('/t.S/Sink'));
    c.send(FrameType.RstStream, 0, id, u32(ErrorCode.Cancel));
  }
  assert.equal((await c.goaway()).code, ErrorCode.EnhanceYourCalm);
});

test('max concurrent streams: advertised, and a stream over it is refused', async (t) => {
  const { port } = await startServer(t, { maxConcurrentStreams: 2 });
  const c = await RawClient.open(port);
  t.after(() => c.close());
  // (the first, empty SETTINGS comes from the listener before it knows the connection's kind)
  c.send(FrameType.Headers, Flag.EndHeaders, 1, requestBlock('/t.S/Sink'));
  const settings = await c.next((f) => f.type === FrameType.Settings && f.payload.length > 0);
  const advertised = new Map<number, number>();
  for (let o = 0; o < settings.payload.length; o += 6) advertised.set(settings.payload.readUInt16BE(o), settings.payload.readUInt32BE(o + 2));
  assert.equal(advertised.get(3), 2);
  for (const id of [3, 5]) c.send(FrameType.Headers, Flag.EndHeaders, id, requestBlock('/t.S/Sink'));
  assert.equal((await c.next((f) => f.type === FrameType.RstStream && f.stream === 5)).payload.readUInt32BE(0), ErrorCode.RefusedStream);
  c.send(FrameType.Data, Flag.EndStream, 1, grpcMessage(Buffer.from('abc')));
  await c.next((f) => f.stream === 1 && f.type === FrameType.Headers && (f.flags & Flag.EndStream) !== 0);
  assert.equal((await echo(c, 7)).status, '0');
});

test('open streams are bounded even when no limit is advertised (maxOpenStreams)', async (t) => {
  const held: Array<{ respond(b: Buffer, end: boolean): void }> = [];
  const server = net.createServer((socket) => {
    new Http2Connection(socket, {
      maxOpenStreams: 3,
      onStream: (stream) => {
        held.push(stream);
      },
    }).start();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const c = await RawClient.open((server.address() as net.AddressInfo).port);
  t.after(() => c.close());
  const settings = await c.next((f) => f.type === FrameType.Settings && f.payload.length > 0);
  assert.equal(settings.payload.readUInt16BE(0), 3); // MAX_CONCURRENT_STREAMS...
  assert.equal(settings.payload.readUInt32BE(2), 0xffffffff); // ...advertised as unlimited
  for (const id of [1, 3, 5, 7]) c.send(FrameType.Headers, Flag.EndHeaders, id, requestBlock('/t.S/Sink'));
  assert.equal((await c.next((f) => f.type === FrameType.RstStream && f.stream === 7)).payload.readUInt32BE(0), ErrorCode.RefusedStream);
  assert.equal(held.length, 3);
  // one ends: a new stream is taken again
  held[0].respond(enc.encode([[':status', '200']]), true);
  c.send(FrameType.Data, Flag.EndStream, 1);
  c.send(FrameType.Headers, Flag.EndHeaders, 9, requestBlock('/t.S/Sink'));
  await c.next(() => held.length === 4);
  c.close();
});

test('flow control out: the server sends no more than the client\'s windows allow, and resumes on WINDOW_UPDATE', async (t) => {
  const { port } = await startServer(t);
  const c = await RawClient.open(port, [[4, 1000]]); // SETTINGS_INITIAL_WINDOW_SIZE 1000
  t.after(() => c.close());
  c.send(FrameType.Headers, Flag.EndHeaders, 1, requestBlock('/t.S/Big'));
  c.send(FrameType.Data, Flag.EndStream, 1, grpcMessage(Buffer.from('5000')));
  await c.next((f) => f.stream === 1 && f.type === FrameType.Data);
  // a PING round trip: everything the server had to send before it is here
  c.send(FrameType.Ping, 0, 0, Buffer.from('12345678'));
  await c.next((f) => f.type === FrameType.Ping && (f.flags & Flag.Ack) !== 0);
  const sent = (): number => c.frames.filter((f) => f.stream === 1 && f.type === FrameType.Data).reduce((n, f) => n + f.payload.length, 0);
  assert.equal(sent(), 1000);
  c.send(FrameType.WindowUpdate, 0, 1, u32(10_000));
  const trailers = await c.next((f) => f.stream === 1 && f.type === FrameType.Headers && (f.flags & Flag.EndStream) !== 0);
  assert.equal(c.headers(trailers)['grpc-status'], '0');
  assert.equal(sent(), 5005);
});

test('flow control out: streams waiting for the connection window all go on when it opens', async (t) => {
  const { port } = await startServer(t);
  const c = await RawClient.open(port, [[4, 1 << 20]]); // streams may take 1 MiB; the connection stays at 65535
  t.after(() => c.close());
  for (const id of [1, 3, 5]) {
    c.send(FrameType.Headers, Flag.EndHeaders, id, requestBlock('/t.S/Big'));
    c.send(FrameType.Data, Flag.EndStream, id, grpcMessage(Buffer.from('40000')));
  }
  const sent = (): number => c.frames.filter((f) => f.type === FrameType.Data).reduce((n, f) => n + f.payload.length, 0);
  await c.next(() => sent() === 65535);
  c.send(FrameType.WindowUpdate, 0, 0, u32(100_000));
  for (const id of [1, 3, 5]) {
    const trailers = await c.next((f) => f.stream === id && f.type === FrameType.Headers && (f.flags & Flag.EndStream) !== 0);
    assert.equal(c.headers(trailers)['grpc-status'], '0');
  }
  assert.equal(sent(), 3 * 40005);
});

test('flow control in: WINDOW_UPDATEs follow what the handler consumed', async (t) => {
  const { port } = await startServer(t, { streamWindowBytes: 64 * 1024, connectionWindowBytes: 128 * 1024 });
  const c = await RawClient.open(port);
  t.after(() => c.close());
  c.send(FrameType.Headers, Flag.EndHeaders, 1, requestBlock('/t.S/Sink'));
  // 1 MiB in 16 KiB frames: far past both windows, so it only gets through as they are granted back
  const chunk = grpcMessage(Buffer.alloc(16384 - 5, 1));
  let granted = 0;
  let stream = 64 * 1024;
  let conn = 65535 + (128 * 1024 - 65535);
  let seen = 0;
  for (let sent = 0; sent < 64;) {
    for (const f of c.frames.slice(seen)) {
      if (f.type !== FrameType.WindowUpdate) continue;
      const inc = f.payload.readUInt32BE(0);
      if (f.stream === 1) stream += inc;
      else if (f.stream === 0) conn += inc;
      granted++;
    }
    seen = c.frames.length;
    if (stream >= chunk.length && conn >= chunk.length) {
      c.send(FrameType.Data, 0, 1, chunk);
      stream -= chunk.length;
      conn -= chunk.length;
      sent++;
    } else {
      await c.next((f) => f.type === FrameType.WindowUpdate, seen);
    }
  }
  c.send(FrameType.Data, Flag.EndStream, 1);
  const data = await c.next((f) => f.stream === 1 && f.type === FrameType.Data);
  assert.equal(data.payload.subarray(5).toString(), String(64 * (16384 - 5)));
  assert.ok(granted > 4, `only ${granted} WINDOW_UPDATEs`);
});

test('keepalive enforcement: PINGs too often get GOAWAY too_many_pings', async (t) => {
  const { port } = await startServer(t);
  const c = await RawClient.open(port);
  t.after(() => c.close());
  for (let i = 0; i < 5 && !c.closed; i++) c.send(FrameType.Ping, 0, 0, Buffer.alloc(8, i));
  const g = await c.goaway();
  assert.deepEqual([g.code, g.debug], [ErrorCode.EnhanceYourCalm, 'too_many_pings']);
});

test('the server\'s own keepalive PINGs, and a client that does not answer them is dropped', async (t) => {
  const { port } = await startServer(t, { keepaliveIntervalMs: 50, keepaliveTimeoutMs: 100 });
  const answering = await RawClient.open(port);
  t.after(() => answering.close());
  const silent = await RawClient.open(port, [], { autoPong: false });
  t.after(() => silent.close());
  await silent.next((f) => f.type === FrameType.Ping && (f.flags & Flag.Ack) === 0);
  await silent.whenClosed();
  const pings = (): number => answering.frames.filter((f) => f.type === FrameType.Ping && (f.flags & Flag.Ack) === 0).length;
  await answering.next(() => pings() >= 3);
  assert.equal(answering.closed, false);
});

test('graceful close: GOAWAY NO_ERROR, open streams end UNAVAILABLE "transport is closing"', async (t) => {
  const { port, listener } = await startServer(t);
  const c = await RawClient.open(port);
  t.after(() => c.close());
  c.send(FrameType.Headers, Flag.EndHeaders, 1, requestBlock('/t.S/Forever'));
  c.send(FrameType.Data, Flag.EndStream, 1, grpcMessage(Buffer.from('x')));
  await c.next((f) => f.stream === 1 && f.type === FrameType.Data);
  const closed = listener.close();
  const trailers = await c.next((f) => f.stream === 1 && f.type === FrameType.Headers && (f.flags & Flag.EndStream) !== 0);
  assert.deepEqual([c.headers(trailers)['grpc-status'], c.headers(trailers)['grpc-message']], ['14', 'transport is closing']);
  const g = await c.goaway();
  assert.deepEqual([g.code, g.lastStream], [ErrorCode.NoError, 1]);
  await closed;
});

test('a non-gRPC request on a gRPC connection is served by the HTTP handler (body in, body out)', async (t) => {
  const server = new GrpcServer();
  server.addUnary('/t.S/Echo', (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b, (req: Buffer) => req);
  const l = new ClientPortListener({
    grpc: server,
    leanHttp2: true,
    httpHandler: (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.statusCode = 201;
        res.setHeader('Content-Type', 'text/plain');
        res.setHeader('Connection', 'close'); // connection-specific: not sent over HTTP/2
        res.end(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`);
      });
    },
  });
  const { port } = await l.listen();
  t.after(() => l.close());
  const c = await RawClient.open(port);
  t.after(() => c.close());
  assert.equal((await echo(c, 1)).status, '0');
  c.send(FrameType.Headers, Flag.EndHeaders, 3, enc.encode([[':method', 'POST'], [':scheme', 'http'], [':path', '/x?y=1'], [':authority', 'x']]));
  c.send(FrameType.Data, Flag.EndStream, 3, Buffer.from('body!'));
  const h = await c.next((f) => f.stream === 3 && f.type === FrameType.Headers);
  const fields = c.headers(h);
  assert.deepEqual([fields[':status'], fields['content-type'], fields.connection], ['201', 'text/plain', undefined]);
  await c.next((f) => f.stream === 3 && (f.flags & Flag.EndStream) !== 0);
  const body = Buffer.concat(c.frames.filter((f) => f.stream === 3 && f.type === FrameType.Data).map((f) => f.payload)).toString();
  assert.equal(body, 'POST /x?y=1 body!');
  assert.equal((await echo(c, 5)).status, '0');
});

test('fuzz: random frames after a good start never crash or hang the server', async (t) => {
  const { port } = await startServer(t);
  const rand = mulberry32(20231010);
  const pick = (n: number): number => Math.floor(rand() * n);
  for (let conn = 0; conn < 60; conn++) {
    const c = await RawClient.open(port);
    try {
      assert.equal((await echo(c, 1)).status, '0');
      for (let i = 0; i < 40 && !c.closed; i++) {
        if (pick(10) === 0) {
          c.socket.write(Buffer.from(Array.from({ length: pick(64) }, () => pick(256))));
          continue;
        }
        const type = pick(11);
        const stream = [0, 1, 3, 5, 2, 7, 0x7fffffff][pick(7)];
        const payload = type === FrameType.Headers && pick(2) === 0
          ? requestBlock(['/t.S/Echo', '/t.S/Sink', '/nope/x'][pick(3)])
          : Buffer.from(Array.from({ length: pick(40) }, () => pick(256)));
        c.send(type, pick(256), stream, payload);
      }
      // the connection either ended (GOAWAY or close) or still answers a PING
      if (!c.closed) {
        const from = c.frames.length;
        c.send(FrameType.Ping, 0, 0, Buffer.from('fuzzfuzz'));
        try {
          await c.next((f) => f.type === FrameType.Ping && (f.flags & Flag.Ack) !== 0 && f.payload.toString() === 'fuzzfuzz', from);
        } catch (err) {
          assert.ok(c.closed || c.frames.slice(from).some((f) => f.type === FrameType.Goaway), `connection ${conn} hung: ${String(err)}`);
        }
      }
    } finally {
      c.close();
    }
  }
  const ok = await RawClient.open(port);
  t.after(() => ok.close());
  assert.deepEqual(await echo(ok, 1, 'still here'), { status: '0', payload: 'still here' });
});
