// URL lists as etcd's pkg/types reads them from flags: NewURLs ("http://h:2380,https://h2:2380")
// and NewURLsMap (--initial-cluster "name=url,name=url"). The checks and their wording are
// etcd's; the URL itself is split as Go's net/url splits it, enough for these checks.

export class UrlsError extends Error {
  readonly code = 'ERR_URLS';
  constructor(message: string) {
    super(message);
    this.name = 'UrlsError';
  }
}

const allowedSchemes = new Set(['http', 'https', 'unix', 'unixs']);

/** Go's url.Parse, reduced to what NewURLs looks at: scheme, host (no user info) and path. */
function splitUrl(raw: string): { scheme: string; host: string; path: string } {
  let rest = raw;
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  let scheme = '';
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) break;
      continue;
    }
    if (c === ':') {
      if (i === 0) throw new UrlsError(`parse ${JSON.stringify(raw)}: missing protocol scheme`);
      scheme = rest.slice(0, i).toLowerCase();
      rest = rest.slice(i + 1);
    }
    break;
  }
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  if (!rest.startsWith('//') || (scheme === '' && rest.startsWith('///'))) {
    // no authority: "h:1" (scheme "h"), "http:h:1" (opaque), "/path"
    return { scheme, host: '', path: rest.startsWith('/') || scheme === '' ? rest : '' };
  }
  rest = rest.slice(2);
  const slash = rest.indexOf('/');
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const at = authority.lastIndexOf('@');
  return { scheme, host: at >= 0 ? authority.slice(at + 1) : authority, path: slash >= 0 ? rest.slice(slash) : '' };
}

/** Go's net.SplitHostPort accepts it: "h:1", "[::1]:1", ":1", "h:" (an empty port too). */
function hasHostPort(hostport: string): boolean {
  if (hostport.startsWith('[')) return /^\[[^\]]*\]:[^:]*$/.test(hostport);
  return /^[^:[\]]*:[^:[\]]*$/.test(hostport);
}

/** types.NewURLs: each URL trimmed and checked (scheme, host:port, no path); sorted. */
export function parseUrls(list: readonly string[]): string[] {
  if (list.length === 0) throw new UrlsError('no valid URLs given');
  const out: string[] = [];
  for (const item of list) {
    const u = item.trim();
    const { scheme, host, path } = splitUrl(u);
    if (!allowedSchemes.has(scheme)) throw new UrlsError(`URL scheme must be http, https, unix, or unixs: ${u}`);
    if (!hasHostPort(host)) throw new UrlsError(`URL address does not have the form "host:port": ${u}`);
    if (path !== '') throw new UrlsError(`URL must not contain a path: ${u}`);
    out.push(u);
  }
  return out.sort();
}

/**
 * types.NewURLsMap of "name=url,name=url": a name may repeat (its URLs are gathered), empty items
 * are skipped, an item without '=' is a name with the empty URL (refused by the URL check).
 */
export function parseUrlsMap(s: string): Map<string, string[]> {
  const raw = new Map<string, string[]>();
  for (const item of s.split(',')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = eq >= 0 ? item.slice(0, eq) : item;
    const list = raw.get(name) ?? [];
    list.push(eq >= 0 ? item.slice(eq + 1) : '');
    raw.set(name, list);
  }
  const out = new Map<string, string[]>();
  for (const [name, list] of raw) out.set(name, parseUrls(list));
  return out;
}
