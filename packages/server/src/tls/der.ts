// Just enough ASN.1 DER to write a self-signed certificate and to read a CRL's revoked serials.

/** A DER element: tag byte, then definite length, then content. */
export function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

export const seq = (...c: Buffer[]): Buffer => der(0x30, ...c);
export const set = (...c: Buffer[]): Buffer => der(0x31, ...c);

/** A non-negative INTEGER from big-endian magnitude bytes. */
export function uint(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  let b = magnitude.subarray(i);
  if (b.length === 0) b = Buffer.from([0]);
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return der(0x02, b);
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const groups: number[] = [];
    let v = p;
    do {
      groups.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < groups.length - 1; i++) groups[i] |= 0x80;
    out.push(...groups);
  }
  return der(0x06, Buffer.from(out));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280). */
export function time(d: Date): Buffer {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  return y < 2050 ? der(0x17, Buffer.from(`${p(y % 100)}${rest}`)) : der(0x18, Buffer.from(`${p(y, 4)}${rest}`));
}

export interface DerNode {
  tag: number;
  /** content bytes */
  body: Buffer;
}

/** The elements one after another in `buf` (one nesting level); throws on malformed input. */
export function children(buf: Buffer): DerNode[] {
  const out: DerNode[] = [];
  let i = 0;
  while (i < buf.length) {
    if (i + 2 > buf.length) throw new Error('asn1: truncated element');
    const tag = buf[i];
    let n = buf[i + 1];
    i += 2;
    if (n & 0x80) {
      const k = n & 0x7f;
      if (k === 0 || k > 4 || i + k > buf.length) throw new Error('asn1: bad length');
      n = 0;
      for (let j = 0; j < k; j++) n = n * 256 + buf[i + j];
      i += k;
    }
    if (i + n > buf.length) throw new Error('asn1: truncated element');
    out.push({ tag, body: buf.subarray(i, i + n) });
    i += n;
  }
  return out;
}
