// The sending end of one peer stream. The peer dialed GET /raft/stream/<kind>/<its ID> on this
// member's listener (stream-handler.ts admitted it); this member writes framed raft messages into
// that answer's body for as long as it stays open (etcd's streamWriter). A newer dial replaces
// the older connection. Every linkHeartbeatIntervalMs a link heartbeat goes out so that the
// peer's reader, which gives up after connReadTimeoutMs of silence, can tell quiet from dead;
// and a connection whose unsent bytes have not moved for connWriteTimeoutMs is dropped (etcd's
// write timeout on a peer connection).

import type * as http from 'node:http';
import type { Message } from '@tsetcd/raft';
import { encodeMessageFrame, linkHeartbeatFrame } from './framing.js';
import type { StreamKind } from './peer-headers.js';

/** etcd's ConnReadTimeout / ConnWriteTimeout on peer connections. */
export const connReadTimeoutMs = 5000;
export const connWriteTimeoutMs = 5000;
/** etcd writes a link heartbeat every ConnReadTimeout/3. */
export const linkHeartbeatIntervalMs = Math.round(connReadTimeoutMs / 3);
/** Bytes a stream may hold unsent before further messages are dropped (slow or cut peer). */
export const maxStreamBufferedBytes = 32 * 1024 * 1024;

export interface StreamWriterEvents {
  /** a connection was attached (the stream works) */
  attached(kind: StreamKind): void;
  /** the working connection went away (`why` for the log) */
  lost(kind: StreamKind, why: string): void;
}

export class StreamWriter {
  private res: http.ServerResponse | undefined;
  private timer: NodeJS.Timeout | undefined;
  private corked = false;
  /** bytes handed to the current connection, and how many of them had left at the last tick */
  private written = 0;
  private leftAtTick = 0;
  private stalledSince = 0;

  constructor(
    readonly kind: StreamKind,
    private readonly events: StreamWriterEvents,
  ) {}

  /** A connection is attached: messages of this kind can go out on it. */
  get working(): boolean {
    return this.res !== undefined;
  }

  /** Takes over an admitted stream answer (status line already sent); an older one is closed. */
  attach(res: http.ServerResponse): void {
    this.detach(undefined);
    this.res = res;
    this.written = 0;
    this.leftAtTick = 0;
    this.stalledSince = 0;
    res.socket?.setNoDelay(true);
    const gone = (): void => {
      if (this.res === res) this.detach('connection closed by peer');
    };
    // (the answer's close is the connection's: a GET's request side ends as soon as it is read)
    res.on('close', gone);
    this.timer = setInterval(() => this.tick(), linkHeartbeatIntervalMs);
    this.timer.unref();
    this.events.attached(this.kind);
  }

  /** Frames and queues one message; false if dropped (not working, or too much unsent). */
  write(m: Message): boolean {
    return this.writeFrame(encodeMessageFrame(m));
  }

  private writeFrame(frame: Buffer): boolean {
    const res = this.res;
    if (res === undefined || res.writableEnded) return false;
    if (res.writableLength > maxStreamBufferedBytes) return false;
    if (!this.corked) {
      // every message of this event-loop turn leaves in one socket write
      this.corked = true;
      res.cork();
      process.nextTick(() => {
        this.corked = false;
        res.uncork();
      });
    }
    this.written += frame.length;
    res.write(frame);
    return true;
  }

  private tick(): void {
    const res = this.res;
    if (res === undefined) return;
    const left = this.written - res.writableLength;
    if (res.writableLength > 0 && left === this.leftAtTick) {
      const now = Date.now();
      if (this.stalledSince === 0) this.stalledSince = now;
      else if (now - this.stalledSince >= connWriteTimeoutMs) return this.detach(`write timeout: ${res.writableLength} bytes unsent for ${connWriteTimeoutMs} ms`);
    } else this.stalledSince = 0;
    this.leftAtTick = left;
    this.writeFrame(linkHeartbeatFrame);
  }

  /** Drops the current connection (`why` undefined: replaced or closed on purpose, not a loss). */
  private detach(why: string | undefined): void {
    const res = this.res;
    if (res === undefined) return;
    this.res = undefined;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (!res.writableEnded) res.end();
    res.destroy();
    if (why !== undefined) this.events.lost(this.kind, why);
  }

  close(): void {
    this.detach(undefined);
  }
}
