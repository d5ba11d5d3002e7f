// Old etcd clients (clientv3 3.4's per-endpoint maintenance dials: `etcdctl endpoint status`,
// `hashkv`, `defrag`, `move-leader` with http:// endpoints, and so `--cluster`) send the whole
// endpoint URL as the HTTP/2 :authority, e.g. "http://127.0.0.1:2379". Go's HTTP/2 server
// accepts that; nghttp2 (node:http2) refuses it with PROTOCOL_ERROR. So before an h2c
// connection is handed to node:http2 we read the client's first request headers and, when
// its :authority is a URL, rewrite that one HPACK literal to the bare host:port. The
// rewritten value enters the server's HPACK dynamic table, so the client's later requests,
// which refer to the entry by index, resolve to the fixed value too. The entry is shorter
// than the client's, so the server's table never evicts an entry the client still uses.
//
// The client waits for the server's SETTINGS before its first request, so an empty SETTINGS
// frame is sent at once and the client's ACK of it is removed from the stream (nghttp2 sends
// and expects ACKs for its own SETTINGS only). After that the socket goes to node:http2 with
// the (possibly rewritten) bytes put back: no cost for the rest of the connection.
//
// The same wait tells the listener what the connection's first request is (its headers decoded
// here by a throw-away HPACK decoder): gRPC connections go to our own HTTP/2 layer, others to
// node:http2. Over TLS the wait is the same, without the rewrite.

import type * as net from 'node:net';
import { HpackDecoder } from '../http2/hpack-decoder.js';
import { huffmanDecode } from '../http2/hpack-huffman.js';

const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const frameHeaderBytes = 9;
const frameSettings = 4;
const frameHeaders = 1;
const frameWindowUpdate = 8;
const framePriority = 2;
const flagAck = 0x1;
const flagEndHeaders = 0x4;
const flagPadded = 0x8;
const flagPriority = 0x20;
/** Give up looking (hand the bytes over untouched) past this much buffered input. */
const maxInspectBytes = 64 * 1024;
/** After the SETTINGS ACK, hand over this long after the last byte when no request came. */
const idleHandoverMs = 20;
/** A client that never ACKs our SETTINGS is handed over anyway after this long. */
const maxWaitMs = 2000;

const emptySettingsFrame = Buffer.from([0, 0, 0, frameSettings, 0, 0, 0, 0, 0]);

export function huffmanDecodeString(src: Buffer): Buffer {
  try {
    return Buffer.from(huffmanDecode(src), 'latin1');
  } catch (err) {
    throw new Error((err as Error).message);
  }
}

function readInt(buf: Buffer, pos: number, prefixBits: number): { value: number; next: number } {
  const max = (1 << prefixBits) - 1;
  let value = buf[pos] & max;
  pos++;
  if (value < max) return { value, next: pos };
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated integer');
    const b = buf[pos++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return { value, next: pos };
    if (shift > 28) throw new Error('integer too large');
  }
}

function writeInt(value: number, prefixBits: number, firstByteFlags: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteFlags | value]);
  const out = [firstByteFlags | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Buffer.from(out);
}

function readString(buf: Buffer, pos: number): { value: Buffer; next: number } {
  if (pos >= buf.length) throw new Error('truncated string');
  const huffman = (buf[pos] & 0x80) !== 0;
  const { value: len, next } = readInt(buf, pos, 7);
  if (next + len > buf.length) throw new Error('truncated string');
  const raw = buf.subarray(next, next + len);
  return { value: huffman ? huffmanDecodeString(raw) : raw, next: next + len };
}

/** The authority without a URL scheme, or undefined when it has none. */
export function bareAuthority(value: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/]+)\/?$/i.exec(value);
  return m === null ? undefined : m[1];
}

/**
 * Rewrites a URL-valued :authority in one complete HPACK header block. Returns the new block,
 * or undefined when nothing had to change.
 */
export function rewriteAuthority(block: Buffer): Buffer | undefined {
  let pos = 0;
  while (pos < block.length) {
    const b = block[pos];
    if (b & 0x80) {
      pos = readInt(block, pos, 7).next; // indexed field
      continue;
    }
    if ((b & 0xe0) === 0x20) {
      pos = readInt(block, pos, 5).next; // dynamic table size update
      continue;
    }
    const incremental = (b & 0xc0) === 0x40;
    const prefixBits = incremental ? 6 : 4;
    const start = pos;
    const idx = readInt(block, pos, prefixBits);
    pos = idx.next;
    let isAuthority = idx.value === 1;
    if (idx.value === 0) {
      const name = readString(block, pos);
      pos = name.next;
      isAuthority = name.value.toString('latin1') === ':authority';
    }
    const valueStart = pos;
    const value = readString(block, pos);
    pos = value.next;
    if (!isAuthority) continue;
    const bare = bareAuthority(value.value.toString('latin1'));
    if (bare === undefined) return undefined;
    const bareBytes = Buffer.from(bare, 'latin1');
    const replacement = Buffer.concat([block.subarray(start, valueStart), writeInt(bareBytes.length, 7, 0), bareBytes]);
    return Buffer.concat([block.subarray(0, start), replacement, block.subarray(pos)]);
  }
  return undefined;
}

/** Rewrites the :authority of one HEADERS frame (header + payload); undefined = unchanged. */
export function rewriteHeadersFrame(frame: Buffer): Buffer | undefined {
  const flags = frame[4];
  if ((flags & flagEndHeaders) === 0) return undefined; // CONTINUATION follows: leave it alone
  let payload = frame.subarray(frameHeaderBytes);
  let padLen = 0;
  let priority: Buffer = Buffer.alloc(0);
  if (flags & flagPadded) {
    padLen = payload[0];
    payload = payload.subarray(1);
  }
  if (flags & flagPriority) {
    priority = payload.subarray(0, 5);
    payload = payload.subarray(5);
  }
  const fixed = rewriteAuthority(payload.subarray(0, payload.length - padLen));
  if (fixed === undefined) return undefined;
  const newPayload = Buffer.concat([priority, fixed]); // padding dropped, PADDED cleared
  const header = Buffer.from(frame.subarray(0, frameHeaderBytes));
  header.writeUIntBE(newPayload.length, 0, 3);
  header[4] = flags & ~flagPadded;
  return Buffer.concat([header, newPayload]);
}

/** The headers of a HEADERS frame carrying a whole block, decoded by a fresh HPACK decoder; undefined if it cannot be. */
export function decodeFirstHeaders(frame: Buffer): Record<string, string> | undefined {
  const flags = frame[4];
  if ((flags & flagEndHeaders) === 0) return undefined;
  let start = frameHeaderBytes;
  let end = frame.length;
  if (flags & flagPadded) {
    if (end <= start) return undefined;
    end -= frame[start];
    start++;
  }
  if (flags & flagPriority) start += 5;
  if (end < start) return undefined;
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  try {
    new HpackDecoder().decode(frame.subarray(start, end), (name, value) => {
      headers[name] ??= value;
    }, 64 * 1024);
  } catch {
    return undefined;
  }
  return headers;
}

/** What was seen of an HTTP/2 connection before it was handed over. */
export interface FirstRequest {
  /** A HEADERS frame came (the client's first request). */
  requestSeen: boolean;
  /** Its headers, when its block was whole in that frame and decoded. */
  headers: Record<string, string> | undefined;
}

/**
 * Takes over an HTTP/2 socket whose first bytes `head` (already read and not put back) start
 * with the client preface; waits for its first request, fixing the request's :authority if
 * `rewrite` (h2c) and needed; then puts the bytes back (socket paused) and calls `handOver`
 * with what it saw.
 */
export function fixH2cAuthority(socket: net.Socket, head: Buffer, handOver: (first: FirstRequest) => void, rewrite = true): void {
  let buf: Buffer = head;
  let scanned = 0;
  let ackStripped = false;
  let headersSeen = false;
  let requestSeen = false;
  let firstHeaders: Record<string, string> | undefined;
  let done = false;
  let idleTimer: NodeJS.Timeout | undefined;
  const maxTimer = setTimeout(() => finish(), maxWaitMs);

  function stopTimers(): void {
    clearTimeout(maxTimer);
    if (idleTimer !== undefined) clearTimeout(idleTimer);
  }
  function finish(): void {
    if (done) return;
    done = true;
    stopTimers();
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.pause();
    socket.unshift(buf);
    handOver({ requestSeen: headersSeen, headers: firstHeaders });
  }
  function onClose(): void {
    done = true;
    stopTimers();
  }
  function walk(): void {
    if (done) return;
    if (buf.length < preface.length) {
      if (!preface.subarray(0, buf.length).equals(buf)) finish();
      return;
    }
    if (!buf.subarray(0, preface.length).equals(preface)) return finish();
    if (scanned < preface.length) scanned = preface.length;
    while (buf.length - scanned >= frameHeaderBytes) {
      const len = buf.readUIntBE(scanned, 3);
      const type = buf[scanned + 3];
      const flags = buf[scanned + 4];
      const end = scanned + frameHeaderBytes + len;
      if (buf.length < end) break;
      if (type === frameSettings && (flags & flagAck) !== 0 && !ackStripped) {
        ackStripped = true;
        buf = Buffer.concat([buf.subarray(0, scanned), buf.subarray(end)]);
        continue;
      }
      if (type === frameHeaders && !requestSeen) {
        requestSeen = true;
        headersSeen = true;
        firstHeaders = decodeFirstHeaders(buf.subarray(scanned, end));
        let fixed: Buffer | undefined;
        try {
          fixed = rewrite ? rewriteHeadersFrame(buf.subarray(scanned, end)) : undefined;
        } catch {
          fixed = undefined; // malformed: node:http2 will answer it
        }
        if (fixed !== undefined) {
          buf = Buffer.concat([buf.subarray(0, scanned), fixed, buf.subarray(end)]);
          scanned += fixed.length;
          continue;
        }
      } else if (type !== frameSettings && type !== frameWindowUpdate && type !== framePriority) {
        requestSeen = true; // some other frame first: no request to look at
      }
      scanned = end;
    }
    if (buf.length > maxInspectBytes) return finish();
    if (ackStripped && requestSeen) return finish();
    if (ackStripped) {
      if (idleTimer !== undefined) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => finish(), idleHandoverMs);
    }
  }
  function onData(chunk: Buffer): void {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    walk();
  }

  socket.on('data', onData);
  socket.once('close', onClose);
  socket.write(emptySettingsFrame);
  socket.resume();
  walk();
}
