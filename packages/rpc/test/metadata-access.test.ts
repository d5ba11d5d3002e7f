// Our per-call metadata reads and writes bypass Metadata.get/.set's key validation: what they
// write is what grpc-js sends, what they read is what get() answers, and a Metadata without
// grpc-js's map goes through the API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { firstValue, setOwnValue } from '../src/internal/metadata-access.js';

test('metadata access: same as Metadata.get/.set, seen by clone, toHttp2Headers and getMap', () => {
  const md = new grpc.Metadata();
  assert.equal(firstValue(md, 'traceparent'), undefined);
  md.add('x-multi', 'a');
  md.add('x-multi', 'b');
  assert.equal(firstValue(md, 'x-multi'), 'a');
  setOwnValue(md, 'traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  setOwnValue(md, 'traceparent', '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01');
  assert.deepEqual(md.get('traceparent'), ['00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01'], 'replaces, one value');
  assert.equal(firstValue(md, 'traceparent'), md.get('traceparent')[0]);
  assert.equal(md.clone().get('traceparent')[0], '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01');
  assert.equal(md.toHttp2Headers().traceparent, '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01');
  assert.equal(md.getMap().traceparent, '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01');
});

test('metadata access: a Metadata without the map goes through get/set', () => {
  const calls: string[] = [];
  const fake = {
    get: (k: string) => (calls.push(`get ${k}`), ['v']),
    set: (k: string, v: string) => calls.push(`set ${k}=${v}`),
  } as unknown as grpc.Metadata;
  assert.equal(firstValue(fake, 'traceparent'), 'v');
  setOwnValue(fake, 'traceparent', 'x');
  assert.deepEqual(calls, ['get traceparent', 'set traceparent=x']);
});
