// Splits the bytes of a connection (after the client preface) into HTTP/2 frames. A frame
// that lies within one received chunk is handed out as a view into it (no copy); a frame split
// over chunks is joined once it is complete. A length over our SETTINGS_MAX_FRAME_SIZE is
// refused as soon as its 9-byte header has arrived.

import { frameHeaderBytes } from './frame-types.js';

export interface FrameSink {
  /** One frame; `payload` is only valid during the call unless the sink keeps the view. */
  onFrame(type: number, flags: number, streamId: number, payload: Buffer): void;
}

/** A frame longer than SETTINGS_MAX_FRAME_SIZE: FRAME_SIZE_ERROR for the connection. */
export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
}

export class FrameReader {
  private stash: Buffer[] = [];
  private stashBytes = 0;
  /** Bytes the stash must hold before parsing resumes: a frame header, or the whole frame. */
  private needed = frameHeaderBytes;
  /** Set by stop(): frames after it are not delivered (the connection is going away). */
  private stopped = false;

  constructor(
    private readonly maxPayloadBytes: number,
    private readonly sink: FrameSink,
  ) {}

  stop(): void {
    this.stopped = true;
    this.stash = [];
    this.stashBytes = 0;
  }

  /** Feed received bytes. Throws FrameTooLargeError. */
  push(chunk: Buffer): void {
    if (this.stopped) return;
    let buf = chunk;
    if (this.stashBytes > 0) {
      this.stash.push(chunk);
      this.stashBytes += chunk.length;
      if (this.stashBytes < this.needed) return;
      buf = Buffer.concat(this.stash, this.stashBytes);
      this.stash = [];
      this.stashBytes = 0;
    }
    let off = 0;
    const end = buf.length;
    while (!this.stopped) {
      const rest = end - off;
      if (rest < frameHeaderBytes) {
        if (rest > 0) this.keep(buf, off, frameHeaderBytes);
        return;
      }
      const length = (buf[off] << 16) | (buf[off + 1] << 8) | buf[off + 2];
      if (length > this.maxPayloadBytes) {
        this.stop();
        throw new FrameTooLargeError(`frame of ${length} bytes over SETTINGS_MAX_FRAME_SIZE ${this.maxPayloadBytes}`);
      }
      const frameEnd = off + frameHeaderBytes + length;
      if (frameEnd > end) {
        this.keep(buf, off, frameHeaderBytes + length);
        return;
      }
      const type = buf[off + 3];
      const flags = buf[off + 4];
      const streamId = buf.readUInt32BE(off + 5) & 0x7fff_ffff;
      const payload = buf.subarray(off + frameHeaderBytes, frameEnd);
      off = frameEnd;
      this.sink.onFrame(type, flags, streamId, payload);
    }
  }

  private keep(buf: Buffer, off: number, needed: number): void {
    const rest = off === 0 ? buf : buf.subarray(off);
    this.stash.push(rest);
    this.stashBytes = rest.length;
    this.needed = needed;
  }
}
