// Length-prefixed framing of raft messages on a peer stream: [u32 big-endian length][bytes].
// The payload is @tsetcd/raft's encodeMessage; a frame larger than maxFrameBytes is a protocol
// error (the stream is dropped) rather than an allocation the peer controls. A stream's writer
// also sends etcd's link heartbeat (a MsgHeartbeat from 0 to 0) so that its reader can tell a
// quiet stream from a dead one.

import { encodeMessage, newMessage, MessageType, type Message } from '@tsetcd/raft';

/** Largest raft message accepted on a stream (a MsgApp batch; snapshots go elsewhere). */
export const maxFrameBytes = 64 * 1024 * 1024;
const headerBytes = 4;

export function encodeFrame(payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(headerBytes + payload.length);
  b.writeUInt32BE(payload.length, 0);
  b.set(payload, headerBytes);
  return b;
}

/** The frame of one message, encoded behind room for its length prefix (no copy into a frame). */
export function encodeMessageFrame(m: Message): Buffer {
  const u = encodeMessage(m, headerBytes);
  const b = Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  b.writeUInt32BE(b.length - headerBytes, 0);
  return b;
}

/** etcd's linkHeartbeatMessage: keeps a stream's reader from timing out; never reaches raft. */
export const linkHeartbeatFrame: Buffer = encodeFrame(encodeMessage(newMessage(MessageType.MsgHeartbeat, 0n)));

export function isLinkHeartbeat(m: Message): boolean {
  return m.type === MessageType.MsgHeartbeat && m.from === 0n && m.to === 0n;
}

export class FrameTooLargeError extends Error {
  readonly code = 'ERR_RAFTHTTP_FRAME_TOO_LARGE';
  constructor(bytes: number) {
    super(`rafthttp: frame of ${bytes} bytes exceeds the limit of ${maxFrameBytes}`);
  }
}

/** Accumulates chunks and yields whole frames. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds a chunk and returns up to `maxFrames` whole frames (the rest stays buffered). */
  push(chunk: Buffer, maxFrames = Number.POSITIVE_INFINITY): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    while (out.length < maxFrames) {
      if (this.buffered < headerBytes) break;
      const head = this.peek(headerBytes);
      const len = head.readUInt32BE(0);
      if (len > maxFrameBytes) throw new FrameTooLargeError(len);
      if (this.buffered < headerBytes + len) break;
      const all = this.take(headerBytes + len);
      out.push(all.subarray(headerBytes));
    }
    return out;
  }

  /** Hands back (and forgets) every buffered byte that is not part of a whole frame. */
  takeRemaining(): Buffer {
    const all = Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return all;
  }

  /** bytes received but not yet part of a whole frame */
  get pendingBytes(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all.subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const all = Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.buffered -= n;
    return out;
  }
}
