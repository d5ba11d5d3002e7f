// etcd's URL lists (pkg/types NewURLs / NewURLsMap): what is accepted, and the refusals in
// etcd's words, compared with the real etcd's answer to --listen-metrics-urls.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { parseUrls, parseUrlsMap, UrlsError } from '../src/urls.js';

test('NewURLs: scheme, host:port, no path; trimmed and sorted', () => {
  assert.deepEqual(parseUrls(['https://b:2', ' http://a:1 ', 'unix://s:0', 'http://[::1]:3', 'http://u@h:4', 'http://h:5?q', 'HTTP://h:6']), [
    'HTTP://h:6', 'http://[::1]:3', 'http://a:1', 'http://h:5?q', 'http://u@h:4', 'https://b:2', 'unix://s:0',
  ]);
  assert.throws(() => parseUrls([]), { message: 'no valid URLs given' });
  assert.throws(() => parseUrls(['']), { message: 'URL scheme must be http, https, unix, or unixs: ' });
});

test('NewURLsMap: names repeat, empty items are skipped, an item without "=" has the empty URL', () => {
  const m = parseUrlsMap('a=http://h:3,,b=http://h:2,a=http://h:1');
  assert.deepEqual([...m], [['a', ['http://h:1', 'http://h:3']], ['b', ['http://h:2']]]);
  assert.throws(() => parseUrlsMap('a'), (e: unknown) => e instanceof UrlsError && e.message === 'URL scheme must be http, https, unix, or unixs: ');
  assert.throws(() => parseUrlsMap('a=ftp://x:1'), { message: 'URL scheme must be http, https, unix, or unixs: ftp://x:1' });
});

function etcdRefusal(value: string): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile('etcd', [`--listen-metrics-urls=${value}`, '--data-dir', '/nonexistent/tsetcd-urls-test'], { timeout: 10_000 }, (_err, stdout, stderr) => {
      const m = /for flag -listen-metrics-urls: (.*)/.exec(`${stderr}${stdout}`);
      resolve(m?.[1] ?? 'accepted');
    });
    child.stdin?.end();
  });
}

test('NewURLs refuses what etcd refuses, in its words', async () => {
  for (const value of ['ftp://x:1', 'http://h', 'http://h:1/p', 'http:h:1', ':x', 'http://a:b:1', 'http://h:1,https://g']) {
    let ours: string;
    try {
      parseUrls(value.split(','));
      ours = 'accepted';
    } catch (e) {
      ours = (e as Error).message;
    }
    assert.equal(ours, await etcdRefusal(value), value);
  }
});
