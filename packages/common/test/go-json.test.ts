import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goJsonString } from '../src/go-json.js';
import { etcdMemberJson } from '../src/etcd-member-json.js';

test("goJsonString escapes as Go's json.Marshal", () => {
  assert.equal(goJsonString('a"b\\c\n\r\t'), '"a\\"b\\\\c\\n\\r\\t"');
  assert.equal(goJsonString('<a&b>'), '"\\u003ca\\u0026b\\u003e"');
  assert.equal(goJsonString('\u0001\u2028\u2029é'), '"\\u0001\\u2028\\u2029é"');
});

test("etcdMemberJson is membership.Member's JSON (field order, omitempty, null peer list)", () => {
  assert.equal(etcdMemberJson({ id: 0xbf9071f4639c75ccn, name: 'etcd01', peerUrls: ['http://127.0.0.1:2380'] }), '{"id":13803658152347727308,"peerURLs":["http://127.0.0.1:2380"],"name":"etcd01"}');
  assert.equal(etcdMemberJson({ id: 1n, name: '', peerUrls: [], clientUrls: ['http://c:1'], isLearner: true }), '{"id":1,"peerURLs":null,"isLearner":true,"clientURLs":["http://c:1"]}');
  assert.equal(etcdMemberJson({ id: -1n, name: 'a<b', peerUrls: ['http://p:1'] }), '{"id":18446744073709551615,"peerURLs":["http://p:1"],"name":"a\\u003cb"}');
});
