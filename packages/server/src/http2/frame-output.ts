// What a connection sends: frames are appended to one buffer list and written to the socket
// once per event-loop turn (all the responses completed in a turn leave in one write). Small
// frames are built in a shared arena (no allocation per frame); large DATA payloads are queued
// by reference and leave in the same writev.

import type { Socket } from 'node:net';
import { Flag, FrameType, frameHeaderBytes } from './frame-types.js';

const arenaBytes = 64 * 1024;
/** DATA payloads at least this large are not copied into the arena. */
export const dataCopyLimitBytes = 4096;

export class FrameOutput {
  private arena: Buffer = Buffer.allocUnsafe(arenaBytes);
  /** Start of the bytes in the arena not yet handed to the socket. */
  private start = 0;
  private offset = 0;
  /** Pieces queued before the arena's current run: earlier arena runs and large payloads. */
  private pieces: Buffer[] = [];
  private scheduled = false;
  private closed = false;
  /** Bytes queued since the last flush. */
  pendingBytes = 0;

  constructor(
    private readonly socket: Socket,
    /** Called right before each flush (the connection sends its owed WINDOW_UPDATEs). */
    private readonly beforeFlush: () => void,
  ) {}

  /** Stop writing (the socket is gone). */
  close(): void {
    this.closed = true;
    this.pieces = [];
  }

  /** Make sure a flush happens this turn (beforeFlush may have frames to add). */
  schedule(): void {
    if (!this.scheduled && !this.closed) {
      this.scheduled = true;
      process.nextTick(flushOutput, this);
    }
  }

  private reserve(n: number): number {
    if (this.offset + n > this.arena.length) {
      this.cutRun();
      this.arena = Buffer.allocUnsafe(Math.max(arenaBytes, n));
      this.start = 0;
      this.offset = 0;
    }
    const at = this.offset;
    this.offset += n;
    this.pendingBytes += n;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(flushOutput, this);
    }
    return at;
  }

  /** Moves the arena's unsent run into `pieces`. */
  private cutRun(): void {
    if (this.offset > this.start) {
      this.pieces.push(this.arena.subarray(this.start, this.offset));
      this.start = this.offset;
    }
  }

  private header(at: number, length: number, type: number, flags: number, streamId: number): void {
    const a = this.arena;
    a[at] = length >>> 16;
    a[at + 1] = (length >>> 8) & 0xff;
    a[at + 2] = length & 0xff;
    a[at + 3] = type;
    a[at + 4] = flags;
    a.writeUInt32BE(streamId, at + 5);
  }

  /** A frame with a small payload built from `parts` (copied). */
  frame(type: number, flags: number, streamId: number, ...parts: Uint8Array[]): void {
    let length = 0;
    for (const p of parts) length += p.length;
    const at = this.reserve(frameHeaderBytes + length);
    this.header(at, length, type, flags, streamId);
    let o = at + frameHeaderBytes;
    for (const p of parts) {
      this.arena.set(p, o);
      o += p.length;
    }
  }

  /** A frame whose payload is a 4-byte big-endian number (WINDOW_UPDATE, RST_STREAM). */
  frameUint32(type: number, streamId: number, value: number): void {
    const at = this.reserve(frameHeaderBytes + 4);
    this.header(at, 4, type, 0, streamId);
    this.arena.writeUInt32BE(value >>> 0, at + frameHeaderBytes);
  }

  /**
   * A header block as HEADERS (+ CONTINUATION frames when it is larger than the peer's frame
   * size). `prefix` bytes go before the block (a dynamic table size update).
   */
  headers(streamId: number, block: Uint8Array, endStream: boolean, maxFrameBytes: number, prefix?: Uint8Array): void {
    const total = (prefix?.length ?? 0) + block.length;
    const endFlag = endStream ? Flag.EndStream : 0;
    if (total <= maxFrameBytes) {
      const at = this.reserve(frameHeaderBytes + total);
      this.header(at, total, FrameType.Headers, endFlag | Flag.EndHeaders, streamId);
      let o = at + frameHeaderBytes;
      if (prefix !== undefined) {
        this.arena.set(prefix, o);
        o += prefix.length;
      }
      this.arena.set(block, o);
      return;
    }
    const whole = prefix === undefined ? block : Buffer.concat([prefix, block]);
    let off = 0;
    let type: number = FrameType.Headers;
    while (off < whole.length) {
      const n = Math.min(maxFrameBytes, whole.length - off);
      const last = off + n === whole.length;
      const flags = (type === FrameType.Headers ? endFlag : 0) | (last ? Flag.EndHeaders : 0);
      this.frame(type, flags, streamId, whole.subarray(off, off + n));
      off += n;
      type = FrameType.Continuation;
    }
  }

  /** One DATA frame of the given length taken from `parts` (all of them, in order). */
  data(streamId: number, endStream: boolean, length: number, parts: Uint8Array[]): void {
    const flags = endStream ? Flag.EndStream : 0;
    if (length < dataCopyLimitBytes) {
      const at = this.reserve(frameHeaderBytes + length);
      this.header(at, length, FrameType.Data, flags, streamId);
      let o = at + frameHeaderBytes;
      for (const p of parts) {
        this.arena.set(p, o);
        o += p.length;
      }
      return;
    }
    const at = this.reserve(frameHeaderBytes);
    this.header(at, length, FrameType.Data, flags, streamId);
    this.cutRun();
    for (const p of parts) {
      this.pieces.push(Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.length));
      this.pendingBytes += p.length;
    }
  }

  /** Write everything queued now (normally done once per turn by itself). */
  flush(): void {
    if (this.closed) return;
    this.beforeFlush();
    this.scheduled = false;
    this.cutRun();
    const pieces = this.pieces;
    if (pieces.length === 0) return;
    this.pieces = [];
    this.pendingBytes = 0;
    const socket = this.socket;
    if (socket.destroyed) return;
    if (pieces.length === 1) {
      socket.write(pieces[0]);
      return;
    }
    socket.cork();
    for (const p of pieces) socket.write(p);
    socket.uncork();
  }
}

function flushOutput(out: FrameOutput): void {
  out.flush();
}
