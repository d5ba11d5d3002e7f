// Go's path package as the v2 store uses it: Clean, Join, Split (slash-separated, lexical).

const notCleanRe = /\/\/|\/\.\.?(\/|$)/;

/** Go's path.Clean: the shortest equivalent path (no //, no ., .. resolved; "/" for an empty rooted path). */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  // already clean (the common case): rooted, no empty, "." or ".." element, no trailing slash
  if (p.charCodeAt(0) === 0x2f && (p.length === 1 || (p.charCodeAt(p.length - 1) !== 0x2f && !notCleanRe.test(p)))) return p;
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** Go's path.Join: the non-empty elements joined by "/" and cleaned ("" when all are empty). */
export function joinPath(...elems: string[]): string {
  const parts = elems.filter((e) => e !== '');
  if (parts.length === 0) return '';
  return cleanPath(parts.join('/'));
}

/** Go's path.Split: [dir, file] split after the last "/". */
export function splitPath(p: string): [string, string] {
  const i = p.lastIndexOf('/');
  return [p.slice(0, i + 1), p.slice(i + 1)];
}
