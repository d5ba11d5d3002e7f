// Percent-encoding of the `grpc-message` trailer (gRPC over HTTP/2 spec): the message is
// UTF-8, and every byte outside printable ASCII 0x20..0x7E, plus '%' itself, is sent as %XX.

const percent = 0x25;
const firstPrintable = 0x20;
const lastPrintable = 0x7e;
const hexDigits = '0123456789ABCDEF';

export function encodeGrpcMessage(message: string): string {
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < firstPrintable || c > lastPrintable || c === percent) return encodeSlow(message);
  }
  return message;
}

function encodeSlow(message: string): string {
  const bytes = Buffer.from(message, 'utf8');
  let out = '';
  for (const b of bytes) {
    if (b < firstPrintable || b > lastPrintable || b === percent) {
      out += '%' + hexDigits[b >> 4] + hexDigits[b & 0xf];
    } else {
      out += String.fromCharCode(b);
    }
  }
  return out;
}

/** Inverse of encodeGrpcMessage; malformed escapes are kept as they are, as gRPC does. */
export function decodeGrpcMessage(encoded: string): string {
  if (!encoded.includes('%')) return encoded;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === percent && i + 2 < encoded.length && /^[0-9A-Fa-f]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c & 0xff);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
