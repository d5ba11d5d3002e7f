// The server side of one HTTP/2 connection (RFC 9113) over a net or TLS socket: the client
// preface, SETTINGS, flow control both ways, PING (with a pluggable abuse policy and our own
// keepalive PINGs), GOAWAY, RST_STREAM, WINDOW_UPDATE, HEADERS + CONTINUATION with HPACK, and
// the streams. Every byte is the peer's: a protocol violation ends the connection with GOAWAY
// and the error code RFC 9113 names, a bad stream is reset, and floods (CONTINUATION, resets,
// empty frames, control frames the peer does not read the answers to) are bounded.
//
// Long (~700 lines) on purpose: the connection's windows, settings, stream table and frame
// dispatch are one piece of state that every frame reads and changes; framing, HPACK and the
// stream object live in files of their own.

import type { Socket } from 'node:net';
import { FrameOutput } from './frame-output.js';
import { FrameReader, FrameTooLargeError, type FrameSink } from './frame-reader.js';
import {
  clientPreface, defaultHeaderTableSize, defaultInitialWindowSize, defaultMaxFrameSize, ErrorCode, Flag, FrameType,
  maxAllowedFrameSize, maxWindowSize, Setting,
} from './frame-types.js';
import { HpackDecoder, HpackError } from './hpack-decoder.js';
import { encodeLiteralBlock } from './hpack-encoder.js';
import { Http2Stream } from './http2-stream.js';

/** Request headers: lower-case names (pseudo-headers included); repeated fields joined with ", ". */
export type RequestHeaders = Record<string, string>;

/**
 * A new, empty RequestHeaders. Nothing is inherited (no Object.prototype: a field named
 * `constructor` or `__proto__` is an own field like any other), as with Object.create(null);
 * but V8 keeps these objects in fast mode, sharing one layout among requests that send the same
 * fields in the same order, where Object.create(null) starts a hash table that is rebuilt as it
 * grows (~1 KB a request).
 */
function HeaderFieldsObject(): void {}
HeaderFieldsObject.prototype = Object.create(null) as object;
const HeaderFields = HeaderFieldsObject as unknown as new () => RequestHeaders;

/** Decides about a client PING (grpc-go's keepalive enforcement lives outside this layer). */
export interface PingPolicy {
  /** A PING arrived while `activeStreams` streams are open: true to refuse (GOAWAY too_many_pings). */
  onPing(activeStreams: number): boolean;
  /** We sent HEADERS or DATA (grpc-go forgives strikes then). */
  onWrite(): void;
}

export interface Http2ConnectionOptions {
  /** A new stream with its request headers; set `stream.handler` to receive its DATA. */
  onStream(stream: Http2Stream, headers: RequestHeaders): void;
  /** The socket closed; every stream is closed. */
  onClose?(): void;
  /** Advertised and enforced (0xffffffff advertises no limit; `maxOpenStreams` still applies). */
  maxConcurrentStreams?: number;
  /**
   * Streams one connection may hold open whatever is advertised: each open stream holds a call
   * and its state, so a peer opening streams without end must meet a bound. Default 16384.
   */
  maxOpenStreams?: number;
  /** Our per-stream receive window. */
  initialWindowSize?: number;
  /** Our connection receive window. */
  connectionWindowSize?: number;
  /** Advertised SETTINGS_MAX_HEADER_LIST_SIZE; larger requests get 431. */
  maxHeaderListSize?: number;
  /** Our HPACK dynamic table limit. */
  headerTableSize?: number;
  pingPolicy?: PingPolicy;
  /** Send a PING this often; 0 disables. */
  keepaliveIntervalMs?: number;
  /** Close the connection when our PING is not answered within this; 0 waits forever. */
  keepaliveTimeoutMs?: number;
  /** Client RST_STREAMs (and refused streams) allowed in a burst before GOAWAY ENHANCE_YOUR_CALM. */
  resetBurst?: number;
  /** ...refilled at this many per second. */
  resetsPerSecond?: number;
}

const defaultMaxHeaderListSize = 16 * 1024 * 1024;
/** CONTINUATION frames one header block may take. */
const maxContinuationFrames = 1024;
/** Zero-length DATA frames (without END_STREAM) tolerated per connection (CVE-2019-9518). */
const maxEmptyDataFrames = 1024;
/** Unanswered-control backlog: stop reading while the socket holds more than this unsent. */
const controlBacklogBytes = 1024 * 1024;
const defaultResetBurst = 1000;
const defaultMaxOpenStreams = 16384;
const defaultResetsPerSecond = 200;
/** After GOAWAY on an error, how long the peer gets to read it before the socket is destroyed. */
const errorLingerMs = 1000;
const tableSizeZero = Buffer.from([0x20]);
const status431Block = encodeLiteralBlock([[':status', '431']]);

/** A connection-level protocol error: GOAWAY with `code`. */
class ConnectionError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

const connectionSpecificHeaders = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
const requestPseudoHeaders = new Set([':method', ':scheme', ':path', ':authority']);
const badValue = /[\0\r\n]/;

export class Http2Connection implements FrameSink {
  readonly streams = new Map<number, Http2Stream>();
  /** The peer's SETTINGS_MAX_FRAME_SIZE: the largest frame we may send. */
  peerMaxFrameSize = defaultMaxFrameSize;
  /** Highest stream id the peer opened. */
  lastStreamId = 0;
  /** GOAWAY sent: no new streams. */
  goawaySent = false;
  destroyed = false;

  private readonly output: FrameOutput;
  private readonly reader: FrameReader;
  private readonly decoder: HpackDecoder;
  private readonly maxConcurrentStreams: number;
  private readonly streamLimit: number;
  private readonly initialWindowSize: number;
  private readonly connectionWindowSize: number;
  private readonly maxHeaderListSize: number;
  private prefaceSeen = 0;
  private settingsSeen = false;
  private peerInitialWindow = defaultInitialWindowSize;
  private sendWindow = defaultInitialWindowSize;
  private recvWindow = defaultInitialWindowSize;
  private recvUnacked = 0;
  private readonly windowUpdates = new Set<Http2Stream>();
  private readonly blockedStreams: Http2Stream[] = [];
  /** The blocked stream being given the connection window now. */
  private resuming: Http2Stream | undefined = undefined;
  private firstHeadersSent = false;
  // header block in progress (HEADERS without END_HEADERS, then CONTINUATION)
  private blockStream = 0;
  private blockEndStream = false;
  private blockParts: Buffer[] = [];
  private blockBytes = 0;
  private blockFrames = 0;
  // header decoding state (the HPACK sink is a method: no closure per block)
  private fields: RequestHeaders = new HeaderFields();
  private malformed = false;
  private sawRegular = false;
  private readonly sink = (name: string, value: string): void => this.onField(name, value);
  private emptyDataFrames = 0;
  private resetTokens: number;
  private resetRefillAt = 0;
  private readonly resetBurst: number;
  private readonly resetsPerSecond: number;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private keepaliveDeadline: NodeJS.Timeout | undefined;
  private pingOutstanding = false;
  private readPausedForBacklog = false;
  private closeWhenIdle = false;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(readonly socket: Socket, private readonly options: Http2ConnectionOptions) {
    this.maxConcurrentStreams = options.maxConcurrentStreams ?? 0xffff_ffff;
    this.streamLimit = Math.min(this.maxConcurrentStreams, options.maxOpenStreams ?? defaultMaxOpenStreams);
    this.initialWindowSize = Math.min(options.initialWindowSize ?? defaultInitialWindowSize, maxWindowSize);
    this.connectionWindowSize = Math.min(options.connectionWindowSize ?? defaultInitialWindowSize, maxWindowSize);
    this.maxHeaderListSize = options.maxHeaderListSize ?? defaultMaxHeaderListSize;
    this.decoder = new HpackDecoder(options.headerTableSize ?? defaultHeaderTableSize);
    this.reader = new FrameReader(defaultMaxFrameSize, this);
    this.output = new FrameOutput(socket, () => this.grantWindows());
    this.resetBurst = options.resetBurst ?? defaultResetBurst;
    this.resetsPerSecond = options.resetsPerSecond ?? defaultResetsPerSecond;
    this.resetTokens = this.resetBurst;
  }

  /** Sends our SETTINGS and starts reading (bytes already buffered on the socket included). */
  start(): void {
    const socket = this.socket;
    const settings: Array<[number, number]> = [
      [Setting.MaxConcurrentStreams, this.maxConcurrentStreams],
      [Setting.InitialWindowSize, this.initialWindowSize],
      [Setting.MaxHeaderListSize, this.maxHeaderListSize],
    ];
    if ((this.options.headerTableSize ?? defaultHeaderTableSize) !== defaultHeaderTableSize) {
      settings.push([Setting.HeaderTableSize, this.options.headerTableSize!]);
    }
    const payload = Buffer.allocUnsafe(settings.length * 6);
    settings.forEach(([id, value], i) => {
      payload.writeUInt16BE(id, i * 6);
      payload.writeUInt32BE(value >>> 0, i * 6 + 2);
    });
    this.output.frame(FrameType.Settings, 0, 0, payload);
    if (this.connectionWindowSize > defaultInitialWindowSize) {
      this.output.frameUint32(FrameType.WindowUpdate, 0, this.connectionWindowSize - defaultInitialWindowSize);
      this.recvWindow = this.connectionWindowSize;
    }
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.destroy());
    socket.on('drain', () => {
      if (this.readPausedForBacklog) {
        this.readPausedForBacklog = false;
        if (!this.destroyed) socket.resume();
      }
    });
    const interval = this.options.keepaliveIntervalMs ?? 0;
    if (interval > 0) {
      this.keepaliveTimer = setInterval(() => this.sendKeepalive(), interval);
      this.keepaliveTimer.unref();
    }
    socket.resume();
  }

  /** Streams open now. */
  get activeStreams(): number {
    return this.streams.size;
  }

  /**
   * Graceful close: GOAWAY(NO_ERROR) with the last stream we took, no new streams; the socket
   * is ended once the open streams are done.
   */
  close(): void {
    if (this.destroyed) return;
    if (!this.goawaySent) this.sendGoaway(ErrorCode.NoError, '');
    this.closeWhenIdle = true;
    this.maybeEnd();
  }

  /** Drop the connection now: every open stream is closed. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.reader.stop();
    this.output.close();
    if (this.keepaliveTimer !== undefined) clearInterval(this.keepaliveTimer);
    if (this.keepaliveDeadline !== undefined) clearTimeout(this.keepaliveDeadline);
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    for (const stream of [...this.streams.values()]) stream._close();
    if (!this.socket.destroyed) this.socket.destroy();
    this.options.onClose?.();
  }

  // ---- receiving ----

  private onBytes(chunk: Buffer): void {
    if (this.destroyed) return;
    try {
      if (this.prefaceSeen < clientPreface.length) {
        const n = Math.min(clientPreface.length - this.prefaceSeen, chunk.length);
        if (chunk.compare(clientPreface, this.prefaceSeen, this.prefaceSeen + n, 0, n) !== 0) {
          throw new ConnectionError(ErrorCode.ProtocolError, 'bad client preface');
        }
        this.prefaceSeen += n;
        if (n === chunk.length) return;
        chunk = chunk.subarray(n);
      }
      this.reader.push(chunk);
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    if (err instanceof ConnectionError) this.connectionError(err.code, err.message);
    else if (err instanceof FrameTooLargeError) this.connectionError(ErrorCode.FrameSizeError, err.message);
    else if (err instanceof HpackError) this.connectionError(ErrorCode.CompressionError, err.message);
    else this.connectionError(ErrorCode.InternalError, 'internal error');
  }

  /** GOAWAY with `code`, then the socket is ended (and destroyed if the peer does not close it). */
  connectionError(code: number, message: string): void {
    if (this.destroyed) return;
    this.reader.stop();
    this.sendGoaway(code, message);
    this.output.flush();
    this.socket.end();
    this.lingerTimer = setTimeout(() => this.destroy(), errorLingerMs);
    this.lingerTimer.unref();
    for (const stream of [...this.streams.values()]) stream._close();
  }

  onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (!this.settingsSeen) {
      if (type !== FrameType.Settings || (flags & Flag.Ack) !== 0) {
        throw new ConnectionError(ErrorCode.ProtocolError, 'first frame is not SETTINGS');
      }
    }
    if (this.blockStream !== 0 && type !== FrameType.Continuation) {
      throw new ConnectionError(ErrorCode.ProtocolError, 'expected CONTINUATION');
    }
    switch (type) {
      case FrameType.Data: return this.onData(flags, streamId, payload);
      case FrameType.Headers: return this.onHeaders(flags, streamId, payload);
      case FrameType.Priority: return this.onPriority(streamId, payload);
      case FrameType.RstStream: return this.onRstStream(streamId, payload);
      case FrameType.Settings: return this.onSettings(flags, streamId, payload);
      case FrameType.PushPromise: throw new ConnectionError(ErrorCode.ProtocolError, 'PUSH_PROMISE from a client');
      case FrameType.Ping: return this.onPing(flags, streamId, payload);
      case FrameType.Goaway: return this.onGoaway(streamId, payload);
      case FrameType.WindowUpdate: return this.onWindowUpdate(streamId, payload);
      case FrameType.Continuation: return this.onContinuation(flags, streamId, payload);
      default: return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  private onData(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(ErrorCode.ProtocolError, 'DATA on stream 0');
    const length = payload.length;
    if (length > this.recvWindow) throw new ConnectionError(ErrorCode.FlowControlError, 'DATA beyond the connection window');
    this.recvWindow -= length;
    this.recvUnacked += length;
    if (this.recvUnacked >= this.connectionWindowSize / 4) this.scheduleGrant();
    let data = payload;
    if ((flags & Flag.Padded) !== 0) {
      if (length < 1 || payload[0] >= length) throw new ConnectionError(ErrorCode.ProtocolError, 'DATA padding too long');
      data = payload.subarray(1, length - payload[0]);
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.lastStreamId) throw new ConnectionError(ErrorCode.ProtocolError, 'DATA on an idle stream');
      return; // a stream already closed: late data is dropped (the connection window is granted back)
    }
    if (stream.remoteEnded) {
      stream.reset(ErrorCode.StreamClosed);
      return;
    }
    if (length > stream.recvWindow) {
      stream.reset(ErrorCode.FlowControlError);
      return;
    }
    stream.recvWindow -= length;
    if (data.length < length) this._consumed(stream, length - data.length); // padding
    if ((flags & Flag.EndStream) !== 0) stream.remoteEnding = true;
    if (data.length > 0) {
      stream._onData(data);
    } else if ((flags & Flag.EndStream) === 0 && ++this.emptyDataFrames > maxEmptyDataFrames) {
      throw new ConnectionError(ErrorCode.EnhanceYourCalm, 'too many empty DATA frames');
    }
    if ((flags & Flag.EndStream) !== 0 && !stream.closed) stream._onRemoteEnd();
  }

  private onHeaders(flags: number, id: number, payload: Buffer): void {
    if (id === 0 || (id & 1) === 0) throw new ConnectionError(ErrorCode.ProtocolError, `HEADERS on stream ${id}`);
    let start = 0;
    let end = payload.length;
    if ((flags & Flag.Padded) !== 0) {
      if (end < 1) throw new ConnectionError(ErrorCode.FrameSizeError, 'HEADERS too short');
      end -= payload[0];
      start = 1;
    }
    if ((flags & Flag.Priority) !== 0) {
      if (end - start < 5) throw new ConnectionError(ErrorCode.FrameSizeError, 'HEADERS too short');
      if ((payload.readUInt32BE(start) & 0x7fff_ffff) === id) throw new ConnectionError(ErrorCode.ProtocolError, 'stream depends on itself');
      start += 5;
    }
    if (end < start) throw new ConnectionError(ErrorCode.ProtocolError, 'HEADERS padding too long');
    // (no new view for the usual block without padding or priority)
    const fragment = start === 0 && end === payload.length ? payload : payload.subarray(start, end);
    const endStream = (flags & Flag.EndStream) !== 0;
    if ((flags & Flag.EndHeaders) !== 0) {
      this.headerBlock(id, endStream, fragment);
      return;
    }
    this.blockStream = id;
    this.blockEndStream = endStream;
    this.blockParts = [Buffer.from(fragment)];
    this.blockBytes = fragment.length;
    this.blockFrames = 1;
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    if (this.blockStream === 0 || id !== this.blockStream) throw new ConnectionError(ErrorCode.ProtocolError, 'unexpected CONTINUATION');
    this.blockBytes += payload.length;
    if (++this.blockFrames > maxContinuationFrames || this.blockBytes > this.maxHeaderListSize) {
      throw new ConnectionError(ErrorCode.EnhanceYourCalm, 'header block too large');
    }
    this.blockParts.push(Buffer.from(payload));
    if ((flags & Flag.EndHeaders) === 0) return;
    const block = Buffer.concat(this.blockParts, this.blockBytes);
    this.blockParts = [];
    this.blockStream = 0;
    this.headerBlock(id, this.blockEndStream, block);
  }

  private onField(name: string, value: string): void {
    const fields = this.fields;
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (this.sawRegular || !requestPseudoHeaders.has(name) || fields[name] !== undefined) this.malformed = true;
    } else {
      this.sawRegular = true;
      if (!validName(name) || connectionSpecificHeaders.has(name) || (name === 'te' && value !== 'trailers')) this.malformed = true;
    }
    if (badValue.test(value)) this.malformed = true;
    const had = fields[name];
    if (had === undefined) fields[name] = value;
    else fields[name] = name === 'cookie' ? `${had}; ${value}` : `${had}, ${value}`;
  }

  private headerBlock(id: number, endStream: boolean, block: Buffer): void {
    this.fields = new HeaderFields();
    this.malformed = false;
    this.sawRegular = false;
    const fits = this.decoder.decode(block, this.sink, this.maxHeaderListSize); // throws HpackError
    const headers = this.fields;
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // trailers from the client
      if (!endStream) throw new ConnectionError(ErrorCode.ProtocolError, 'second HEADERS without END_STREAM');
      existing._onRemoteEnd();
      return;
    }
    if (id <= this.lastStreamId) return; // a stream already closed (reset by us): nothing to do
    this.lastStreamId = id;
    if (this.goawaySent) {
      this._sendRst(id, ErrorCode.RefusedStream);
      return;
    }
    if (this.streams.size >= this.streamLimit) {
      this.countReset();
      this._sendRst(id, ErrorCode.RefusedStream);
      return;
    }
    const stream = new Http2Stream(this, id, this.peerInitialWindow, this.initialWindowSize);
    this.streams.set(id, stream);
    if (!fits) {
      stream.respond(status431Block, true);
      if (!endStream) stream.reset(ErrorCode.NoError);
      return;
    }
    if (this.malformed || headers[':method'] === undefined || headers[':path'] === undefined || headers[':scheme'] === undefined) {
      stream.reset(ErrorCode.ProtocolError);
      return;
    }
    if (endStream) stream.remoteEnding = true;
    this.options.onStream(stream, headers);
    if (endStream && !stream.closed) stream._onRemoteEnd();
  }

  private onPriority(id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(ErrorCode.ProtocolError, 'PRIORITY on stream 0');
    if (payload.length !== 5) {
      this.streams.get(id)?.reset(ErrorCode.FrameSizeError);
      return;
    }
  }

  private onRstStream(id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(ErrorCode.ProtocolError, 'RST_STREAM on stream 0');
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FrameSizeError, 'RST_STREAM length');
    if (id > this.lastStreamId) throw new ConnectionError(ErrorCode.ProtocolError, 'RST_STREAM on an idle stream');
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    this.countReset();
    stream._onReset(payload.readUInt32BE(0));
  }

  /** Rapid reset (CVE-2023-44487): a token bucket of client resets and refused streams. */
  private countReset(): void {
    const now = performance.now();
    if (this.resetRefillAt === 0) this.resetRefillAt = now;
    const refill = ((now - this.resetRefillAt) / 1000) * this.resetsPerSecond;
    if (refill >= 1) {
      this.resetTokens = Math.min(this.resetBurst, this.resetTokens + refill);
      this.resetRefillAt = now;
    }
    if (--this.resetTokens < 0) throw new ConnectionError(ErrorCode.EnhanceYourCalm, 'too many stream resets');
  }

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.ProtocolError, 'SETTINGS on a stream');
    if ((flags & Flag.Ack) !== 0) {
      if (payload.length !== 0) throw new ConnectionError(ErrorCode.FrameSizeError, 'SETTINGS ACK with a payload');
      return;
    }
    if (payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FrameSizeError, 'SETTINGS length');
    this.settingsSeen = true;
    let morePossible = false;
    for (let off = 0; off < payload.length; off += 6) {
      const key = payload.readUInt16BE(off);
      const value = payload.readUInt32BE(off + 2);
      switch (key) {
        case Setting.EnablePush:
          if (value > 1) throw new ConnectionError(ErrorCode.ProtocolError, 'SETTINGS_ENABLE_PUSH');
          break;
        case Setting.InitialWindowSize: {
          if (value > maxWindowSize) throw new ConnectionError(ErrorCode.FlowControlError, 'SETTINGS_INITIAL_WINDOW_SIZE');
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          if (delta > 0) morePossible = true;
          for (const stream of this.streams.values()) {
            stream.sendWindow += delta;
            if (stream.sendWindow > maxWindowSize) throw new ConnectionError(ErrorCode.FlowControlError, 'stream window overflow');
          }
          break;
        }
        case Setting.MaxFrameSize:
          if (value < defaultMaxFrameSize || value > maxAllowedFrameSize) throw new ConnectionError(ErrorCode.ProtocolError, 'SETTINGS_MAX_FRAME_SIZE');
          if (value > this.peerMaxFrameSize) morePossible = true;
          this.peerMaxFrameSize = value;
          break;
        default:
          // HEADER_TABLE_SIZE: our encoder never indexes (and its first block sets the table to 0);
          // MAX_CONCURRENT_STREAMS: we open none; MAX_HEADER_LIST_SIZE: our blocks are small.
          break;
      }
    }
    this.output.frame(FrameType.Settings, Flag.Ack, 0);
    this.checkBacklog();
    // (only a larger window or frame size lets a waiting stream send more: a SETTINGS flood
    // must not cost a pass over every stream)
    if (morePossible) for (const stream of [...this.streams.values()]) stream._pump();
  }

  private onPing(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.ProtocolError, 'PING on a stream');
    if (payload.length !== 8) throw new ConnectionError(ErrorCode.FrameSizeError, 'PING length');
    if ((flags & Flag.Ack) !== 0) {
      this.pingOutstanding = false;
      if (this.keepaliveDeadline !== undefined) {
        clearTimeout(this.keepaliveDeadline);
        this.keepaliveDeadline = undefined;
      }
      return;
    }
    if (this.options.pingPolicy?.onPing(this.streams.size) === true) {
      this.connectionError(ErrorCode.EnhanceYourCalm, 'too_many_pings');
      return;
    }
    this.output.frame(FrameType.Ping, Flag.Ack, 0, payload);
    this.checkBacklog();
  }

  private onGoaway(id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.ProtocolError, 'GOAWAY on a stream');
    if (payload.length < 8) throw new ConnectionError(ErrorCode.FrameSizeError, 'GOAWAY length');
    // The client will open no more streams; the open ones finish.
    this.closeWhenIdle = true;
    this.maybeEnd();
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FrameSizeError, 'WINDOW_UPDATE length');
    const increment = payload.readUInt32BE(0) & 0x7fff_ffff;
    if (id === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.ProtocolError, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > maxWindowSize) throw new ConnectionError(ErrorCode.FlowControlError, 'connection window overflow');
      this.resumeBlocked();
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.lastStreamId) throw new ConnectionError(ErrorCode.ProtocolError, 'WINDOW_UPDATE on an idle stream');
      return;
    }
    if (increment === 0) {
      stream.reset(ErrorCode.ProtocolError);
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > maxWindowSize) {
      stream.reset(ErrorCode.FlowControlError);
      return;
    }
    stream._pump();
  }

  // ---- sending (called by streams) ----

  /** @internal */
  _sendHeaders(stream: Http2Stream, block: Uint8Array, endStream: boolean): void {
    if (this.destroyed) return;
    this.options.pingPolicy?.onWrite();
    // Our first block sets our dynamic table to 0 (we never index), whatever the peer's
    // SETTINGS_HEADER_TABLE_SIZE is or becomes.
    const prefix = this.firstHeadersSent ? undefined : tableSizeZero;
    this.firstHeadersSent = true;
    this.output.headers(stream.id, block, endStream, this.peerMaxFrameSize, prefix);
  }

  /** @internal the caller charged the stream window; this charges the connection's. */
  _sendData(stream: Http2Stream, endStream: boolean, length: number, parts: Uint8Array[]): void {
    if (this.destroyed) return;
    this.sendWindow -= length;
    if (length > 0) this.options.pingPolicy?.onWrite();
    this.output.data(stream.id, endStream, length, parts);
  }

  /** @internal Whether `length` bytes fit the connection window with nobody waiting before them. */
  _canSendNow(length: number): boolean {
    return length <= this.sendWindow && length <= this.peerMaxFrameSize && this.blockedStreams.length === 0;
  }

  /**
   * @internal The connection window for a stream about to send; 0 (and the stream queued) when
   * none is left or streams queued before it wait for it.
   */
  _sendWindowFor(stream: Http2Stream): number {
    if (this.sendWindow > 0 && (this.blockedStreams.length === 0 || stream === this.resuming)) return this.sendWindow;
    if (!stream.blocked) {
      stream.blocked = true;
      this.blockedStreams.push(stream);
    }
    return 0;
  }

  /** Streams waiting for connection window send in turn; one that still has more queues again at the end. */
  private resumeBlocked(): void {
    for (let n = this.blockedStreams.length; n > 0 && this.sendWindow > 0; n--) {
      const stream = this.blockedStreams.shift()!;
      stream.blocked = false;
      this.resuming = stream;
      try {
        if (!stream.closed) stream._pump();
      } finally {
        this.resuming = undefined;
      }
    }
  }

  /** @internal */
  _sendRst(id: number, code: number): void {
    if (this.destroyed) return;
    this.output.frameUint32(FrameType.RstStream, id, code);
  }

  /** @internal the stream's handler took `length` bytes: grant them back soon. */
  _consumed(stream: Http2Stream, length: number): void {
    stream.unackedBytes += length;
    if (stream.unackedBytes >= this.initialWindowSize / 4 && !stream.remoteEnded) {
      this.windowUpdates.add(stream);
      this.scheduleGrant();
    }
  }

  /**
   * WINDOW_UPDATEs owed go out with this turn's flush (FrameOutput calls grantWindows() first):
   * frames that arrived in the same read are all charged before any credit is given back.
   */
  private scheduleGrant(): void {
    this.output.schedule();
  }

  private grantWindows(): void {
    if (this.recvUnacked >= this.connectionWindowSize / 4) {
      this.output.frameUint32(FrameType.WindowUpdate, 0, this.recvUnacked);
      this.recvWindow += this.recvUnacked;
      this.recvUnacked = 0;
    }
    if (this.windowUpdates.size === 0) return;
    for (const stream of this.windowUpdates) {
      if (!stream.closed && !stream.remoteEnded && stream.unackedBytes > 0) {
        this.output.frameUint32(FrameType.WindowUpdate, stream.id, stream.unackedBytes);
        stream.recvWindow += stream.unackedBytes;
        stream.unackedBytes = 0;
      }
    }
    this.windowUpdates.clear();
  }

  /** @internal */
  _streamClosed(stream: Http2Stream): void {
    this.streams.delete(stream.id);
    this.windowUpdates.delete(stream);
    if (stream.blocked) {
      stream.blocked = false;
      const i = this.blockedStreams.indexOf(stream);
      if (i >= 0) this.blockedStreams.splice(i, 1);
    }
    if (this.closeWhenIdle) this.maybeEnd();
  }

  private sendGoaway(code: number, debug: string): void {
    if (this.destroyed) return;
    this.goawaySent = true;
    const payload = Buffer.allocUnsafe(8);
    payload.writeUInt32BE(this.lastStreamId, 0);
    payload.writeUInt32BE(code, 4);
    this.output.frame(FrameType.Goaway, 0, 0, payload, Buffer.from(debug, 'latin1'));
  }

  private maybeEnd(): void {
    if (!this.closeWhenIdle || this.streams.size > 0 || this.destroyed || this.lingerTimer !== undefined) return;
    if (!this.goawaySent) this.sendGoaway(ErrorCode.NoError, '');
    this.output.flush();
    this.socket.end();
    this.lingerTimer = setTimeout(() => this.destroy(), errorLingerMs);
    this.lingerTimer.unref();
  }

  private sendKeepalive(): void {
    if (this.destroyed || this.pingOutstanding) return;
    this.pingOutstanding = true;
    this.output.frame(FrameType.Ping, 0, 0, keepalivePayload);
    const timeout = this.options.keepaliveTimeoutMs ?? 0;
    if (timeout > 0) {
      this.keepaliveDeadline = setTimeout(() => this.destroy(), timeout);
      this.keepaliveDeadline.unref();
    }
  }

  /** Stop reading while the peer leaves our answers unread (PING/SETTINGS floods). */
  private checkBacklog(): void {
    if (!this.readPausedForBacklog && this.socket.writableLength + this.output.pendingBytes > controlBacklogBytes) {
      this.readPausedForBacklog = true;
      this.socket.pause();
    }
  }
}

const keepalivePayload = Buffer.from('tsetcdka', 'latin1');

/** Header names: lower-case token characters (RFC 9113 §8.2.1). */
const validNames = new Set<string>();
function validName(name: string): boolean {
  if (validNames.has(name)) return true;
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2e ||
      c === 0x21 || c === 0x23 || c === 0x24 || c === 0x25 || c === 0x26 || c === 0x27 || c === 0x2a || c === 0x2b ||
      c === 0x5e || c === 0x60 || c === 0x7c || c === 0x7e;
    if (!ok) return false;
  }
  if (validNames.size < 1024) validNames.add(name);
  return true;
}
