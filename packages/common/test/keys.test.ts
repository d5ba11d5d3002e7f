import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefixEnd } from '../src/keys.js';

test('prefixEnd: the last byte below 0xff goes up by one, what follows it is cut', () => {
  assert.deepEqual(prefixEnd('/dir/'), Buffer.from('/dir0'));
  assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
  assert.deepEqual(prefixEnd(new Uint8Array([0x61, 0xfe, 0xff, 0xff])), Buffer.from([0x61, 0xff]));
  const given = Buffer.from('ab');
  prefixEnd(given);
  assert.deepEqual(given, Buffer.from('ab'), 'the argument is left alone');
});

test('prefixEnd: no byte below 0xff (or no byte at all) means to the end of the keyspace', () => {
  assert.deepEqual(prefixEnd(Buffer.from([0xff, 0xff])), Buffer.of(0));
  assert.deepEqual(prefixEnd(''), Buffer.of(0));
});
