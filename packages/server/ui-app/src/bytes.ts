// Keys and values are bytes. Here they are "byte strings" (one char per byte, 0..255): they
// compare in byte order with < and >, and go to and from the gateway's base64 with btoa/atob.

export type Bytes = string;

export const b64 = (b: Bytes): string => btoa(b);
export const unb64 = (s: string | undefined): Bytes => (s ? atob(s) : '');

export function fromText(text: string): Bytes {
  let out = '';
  for (const c of new TextEncoder().encode(text)) out += String.fromCharCode(c);
  return out;
}

function toArray(b: Bytes): Uint8Array {
  const a = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) a[i] = b.charCodeAt(i);
  return a;
}

/** The bytes as text (invalid UTF-8 shown as U+FFFD). */
export const toText = (b: Bytes): string => new TextDecoder().decode(toArray(b));

export function isText(b: Bytes): boolean {
  try {
    const t = new TextDecoder('utf-8', { fatal: true }).decode(toArray(b));
    // control characters other than tab/newline/CR make it binary
    return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(t);
  } catch {
    return false;
  }
}

/** The first key after every key that starts with `p` ("\0" = no end: every key from p on). */
export function prefixEnd(p: Bytes): Bytes {
  let s = p;
  while (s.length > 0 && s.charCodeAt(s.length - 1) === 0xff) s = s.slice(0, -1);
  if (s.length === 0) return '\0';
  return s.slice(0, -1) + String.fromCharCode(s.charCodeAt(s.length - 1) + 1);
}

/** 16 bytes a line: offset, hex, printable ASCII. */
export function hexdump(b: Bytes): string {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 16) {
    const chunk = b.slice(i, i + 16);
    const hex = [...chunk].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(' ');
    const ascii = [...chunk].map((c) => (c >= ' ' && c <= '~' ? c : '.')).join('');
    lines.push(`${i.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}
