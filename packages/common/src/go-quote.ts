// Go's strconv.Quote (fmt's %q) for byte strings: valid UTF-8 printable runes as they are,
// the usual backslash escapes, other runes as \u/\U, bytes that are not UTF-8 as \xNN.

/** utf8.DecodeRune at `i`: [rune, size], or [-1, 1] where the bytes are not valid UTF-8. */
export function decodeUtf8Rune(b: Uint8Array, i: number): [number, number] {
  const c0 = b[i];
  if (c0 < 0x80) return [c0, 1];
  let need: number;
  if (c0 >= 0xc2 && c0 <= 0xdf) need = 1;
  else if (c0 >= 0xe0 && c0 <= 0xef) need = 2;
  else if (c0 >= 0xf0 && c0 <= 0xf4) need = 3;
  else return [-1, 1];
  if (i + need >= b.length) return [-1, 1];
  let r = need === 1 ? c0 & 0x1f : need === 2 ? c0 & 0x0f : c0 & 0x07;
  // the second byte's range depends on the first (no overlongs, surrogates or > U+10FFFF)
  const c1 = b[i + 1];
  const lo = c0 === 0xe0 ? 0xa0 : c0 === 0xf0 ? 0x90 : 0x80;
  const hi = c0 === 0xed ? 0x9f : c0 === 0xf4 ? 0x8f : 0xbf;
  if (c1 < lo || c1 > hi) return [-1, 1];
  r = (r << 6) | (c1 & 0x3f);
  for (let k = 2; k <= need; k++) {
    const c = b[i + k];
    if (c < 0x80 || c > 0xbf) return [-1, 1];
    r = (r << 6) | (c & 0x3f);
  }
  return [r, need + 1];
}

/** strconv.IsPrint for one rune (graphic, and of the spaces only U+0020). */
export function isGoPrint(r: number): boolean {
  if (r === 0x20) return true;
  if (r < 0x20 || r === 0x7f) return false;
  return /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(String.fromCodePoint(r));
}

/** One rune as it stands inside a quoted Go literal (quotes themselves are the caller's). */
export function goEscapeRune(r: number): string {
  switch (r) {
    case 0x07: return '\\a';
    case 0x08: return '\\b';
    case 0x0c: return '\\f';
    case 0x0a: return '\\n';
    case 0x0d: return '\\r';
    case 0x09: return '\\t';
    case 0x0b: return '\\v';
    case 0x5c: return '\\\\';
  }
  if (isGoPrint(r)) return String.fromCodePoint(r);
  if (r < 0x20 || r === 0x7f) return `\\x${r.toString(16).padStart(2, '0')}`;
  if (r < 0x10000) return `\\u${r.toString(16).padStart(4, '0')}`;
  return `\\U${r.toString(16).padStart(8, '0')}`;
}

/** strconv.Quote of a byte string (a JS string is taken as its UTF-8 bytes). */
export function goQuote(input: string | Uint8Array): string {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  let out = '"';
  for (let i = 0; i < bytes.length; ) {
    const [r, n] = decodeUtf8Rune(bytes, i);
    if (r < 0) out += `\\x${bytes[i].toString(16).padStart(2, '0')}`;
    else if (r === 0x22) out += '\\"';
    else out += goEscapeRune(r);
    i += n;
  }
  return out + '"';
}
