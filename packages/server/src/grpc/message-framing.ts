// gRPC length-prefixed messages: 1 byte compressed flag, 4 bytes big-endian length, payload.
// The deframer takes HTTP/2 DATA chunks of any size (a message split over many chunks, many
// messages in one chunk) and hands out payloads without copying when a message lies within
// one chunk. It rejects an oversize message as soon as its 5-byte header has arrived.

import { GrpcError, GrpcCode } from './errors.js';

export const messageHeaderBytes = 5;
/** Largest length a 4-byte prefix can carry. */
export const maxFramedMessageBytes = 0xffff_ffff;

/** One buffer holding header + payload (a copy: cheaper than two writes for small messages). */
export function frameMessage(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(messageHeaderBytes + payload.length);
  out[0] = 0;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, messageHeaderBytes);
  return out;
}

/** Just the 5-byte header, for large payloads written after it without a copy. */
export function frameHeader(payloadBytes: number): Buffer {
  const out = Buffer.allocUnsafe(messageHeaderBytes);
  out[0] = 0;
  out.writeUInt32BE(payloadBytes, 1);
  return out;
}

/** Receives each complete message (a view into the received chunk when possible). */
export interface MessageSink {
  onMessage(payload: Buffer, compressed: boolean): void;
}

export class MessageDeframer {
  /** Chunks of a message not yet complete (created when one is split; most arrive whole). */
  private pending: Buffer[] | undefined = undefined;
  private pendingBytes = 0;
  /** Bytes needed in `pending` before it is worth joining: a header, or header + payload. */
  private neededBytes = messageHeaderBytes;
  private failed = false;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly sink: MessageSink,
  ) {}

  /** Feed a chunk. Throws GrpcError (RESOURCE_EXHAUSTED) for an oversize message; after that the deframer is dead. */
  push(chunk: Buffer): void {
    if (this.failed) return;
    if (this.pendingBytes === 0) {
      this.scan(chunk);
      return;
    }
    const pending = (this.pending ??= []);
    pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.neededBytes) return;
    const joined = Buffer.concat(pending, this.pendingBytes);
    this.pending = undefined;
    this.pendingBytes = 0;
    this.scan(joined);
  }

  /** True when a message has started but not finished (the peer half-closed mid-message). */
  get partial(): boolean {
    return this.pendingBytes > 0;
  }

  private scan(buf: Buffer): void {
    let offset = 0;
    for (;;) {
      const remaining = buf.length - offset;
      if (remaining === 0) return;
      if (remaining < messageHeaderBytes) {
        this.stash(buf, offset, messageHeaderBytes);
        return;
      }
      const length = buf.readUInt32BE(offset + 1);
      if (length > this.maxMessageBytes) {
        this.failed = true;
        throw new GrpcError(GrpcCode.ResourceExhausted,
          `grpc: received message larger than max (${length} vs. ${this.maxMessageBytes})`);
      }
      const end = offset + messageHeaderBytes + length;
      if (end > buf.length) {
        this.stash(buf, offset, messageHeaderBytes + length);
        return;
      }
      const compressed = buf[offset] !== 0;
      offset = end;
      this.sink.onMessage(buf.subarray(end - length, end), compressed);
      if (this.failed) return;
    }
  }

  private stash(buf: Buffer, offset: number, neededBytes: number): void {
    const rest = offset === 0 ? buf : buf.subarray(offset);
    (this.pending ??= []).push(rest);
    this.pendingBytes = rest.length;
    this.neededBytes = neededBytes;
  }

  /** Stop delivering messages (the call ended). */
  stop(): void {
    this.failed = true;
    this.pending = undefined;
    this.pendingBytes = 0;
  }
}
