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

import type * as net from 'node:net';

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

// RFC 7541 Appendix B: the Huffman code and its bit length for each byte value.
const huffmanCodes = [0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7, 0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec, 0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3, 0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb, 0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa, 0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18, 0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc, 0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22, 0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26, 0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7, 0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc, 0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9, 0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf, 0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3, 0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef, 0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde, 0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec, 0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef, 0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1, 0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec, 0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed, 0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2, 0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5, 0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3, 0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4, 0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea, 0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee];
const huffmanLens = [13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26];
const huffmanDecode = new Map<number, number>();
for (let sym = 0; sym < 256; sym++) huffmanDecode.set(huffmanLens[sym] * 2 ** 32 + huffmanCodes[sym], sym);

export function huffmanDecodeString(src: Buffer): Buffer {
  const out: number[] = [];
  let code = 0;
  let len = 0;
  for (const byte of src) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      const sym = huffmanDecode.get(len * 2 ** 32 + code);
      if (sym !== undefined) {
        out.push(sym);
        code = 0;
        len = 0;
      } else if (len > 30) {
        throw new Error('bad huffman code');
      }
    }
  }
  // what is left must be padding: a prefix of the all-ones EOS code, under 8 bits
  if (len >= 8 || code !== 2 ** len - 1) throw new Error('bad huffman padding');
  return Buffer.from(out);
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

/**
 * Takes over a plaintext HTTP/2 socket whose first bytes `head` (already read and not put
 * back) start with the client preface; fixes its first request's :authority if needed; then
 * puts the bytes back (socket paused) and calls `handOver`.
 */
export function fixH2cAuthority(socket: net.Socket, head: Buffer, handOver: () => void): void {
  let buf: Buffer = head;
  let scanned = 0;
  let ackStripped = false;
  let requestSeen = false;
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
    handOver();
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
        let fixed: Buffer | undefined;
        try {
          fixed = rewriteHeadersFrame(buf.subarray(scanned, end));
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
