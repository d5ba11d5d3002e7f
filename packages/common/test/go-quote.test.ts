import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUtf8Rune, goQuote } from '../src/go-quote.js';

test('goQuote follows strconv.Quote', () => {
  assert.equal(goQuote('plain'), '"plain"');
  assert.equal(goQuote('tab\there "q" \\'), '"tab\\there \\"q\\" \\\\"');
  assert.equal(goQuote('ünï µs'), '"ünï µs"');
  assert.equal(goQuote(Buffer.from([0x00, 0x7f, 0xff, 0x41])), '"\\x00\\x7f\\xffA"');
  assert.equal(goQuote('\u200b'), '"\\u200b"');
  assert.equal(goQuote('\u{1F600}\u{E0001}'), '"😀\\U000e0001"');
  assert.equal(goQuote('\x07\x08\x0c\n\r\v'), '"\\a\\b\\f\\n\\r\\v"');
  // overlong, surrogate and cut sequences are bytes, one \x each
  assert.equal(goQuote(Buffer.from([0xc0, 0x80])), '"\\xc0\\x80"');
  assert.equal(goQuote(Buffer.from([0xed, 0xa0, 0x80])), '"\\xed\\xa0\\x80"');
  assert.equal(goQuote(Buffer.from([0xe2, 0x82])), '"\\xe2\\x82"');
});

test('decodeUtf8Rune is utf8.DecodeRune', () => {
  assert.deepEqual(decodeUtf8Rune(Buffer.from('é'), 0), [0xe9, 2]);
  assert.deepEqual(decodeUtf8Rune(Buffer.from([0xf4, 0x90, 0x80, 0x80]), 0), [-1, 1]);
  assert.deepEqual(decodeUtf8Rune(Buffer.from([0xf0, 0x9f, 0x98, 0x80]), 0), [0x1f600, 4]);
});
