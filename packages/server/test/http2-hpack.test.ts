// HPACK (RFC 7541): the decoder and encoder against the RFC's Appendix C examples, the Huffman
// code over every byte value, and the decoder's bounds on hostile blocks.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@tsetcd/common';
import { HpackDecoder, HpackError } from '../src/http2/hpack-decoder.js';
import { HpackEncoder, writeInt } from '../src/http2/hpack-encoder.js';
import { huffmanDecode, huffmanEncode, huffmanEncodedLength, HuffmanError } from '../src/http2/hpack-huffman.js';

type Fields = Array<[string, string]>;

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

function decodeAll(d: HpackDecoder, block: Buffer): Fields {
  const out: Fields = [];
  d.decode(block, (n, v) => out.push([n, v]));
  return out;
}

interface Step {
  block: string;
  fields: Fields;
  /** Dynamic table afterwards, newest first. */
  table: Fields;
  tableSize: number;
}

/** Decodes the steps in order with one decoder, and encodes them with one encoder to the same bytes. */
function series(tableSize: number, huffman: boolean, steps: Step[]): void {
  const d = new HpackDecoder(tableSize);
  const e = new HpackEncoder({ indexing: true, huffman, tableSize });
  for (const [i, s] of steps.entries()) {
    assert.deepEqual(decodeAll(d, hex(s.block)), s.fields, `step ${i} fields`);
    assert.deepEqual(d.tableEntries, s.table, `step ${i} table`);
    assert.equal(d.tableSize, s.tableSize, `step ${i} table size`);
    assert.equal(e.encode(s.fields).toString('hex'), hex(s.block).toString('hex'), `step ${i} encoding`);
  }
}

const req1: Fields = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
const req2: Fields = [...req1, ['cache-control', 'no-cache']];
const req3: Fields = [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']];
const reqTables: Fields[] = [
  [[':authority', 'www.example.com']],
  [['cache-control', 'no-cache'], [':authority', 'www.example.com']],
  [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']],
];

test('RFC 7541 C.1: integer representation', () => {
  const enc = (v: number, prefix: number): string => {
    const out: number[] = [];
    writeInt(out, v, prefix, 0);
    return Buffer.from(out).toString('hex');
  };
  assert.equal(enc(10, 5), '0a');
  assert.equal(enc(1337, 5), '1f9a0a');
  assert.equal(enc(42, 8), '2a');
});

test('RFC 7541 C.2: literal and indexed field representations', () => {
  const d1 = new HpackDecoder();
  assert.deepEqual(decodeAll(d1, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')), [['custom-key', 'custom-header']]);
  assert.deepEqual(d1.tableEntries, [['custom-key', 'custom-header']]);
  assert.equal(d1.tableSize, 55);
  const d2 = new HpackDecoder();
  assert.deepEqual(decodeAll(d2, hex('040c 2f73 616d 706c 652f 7061 7468')), [[':path', '/sample/path']]);
  assert.deepEqual(d2.tableEntries, []);
  const d3 = new HpackDecoder();
  assert.deepEqual(decodeAll(d3, hex('1008 7061 7373 776f 7264 0673 6563 7265 74')), [['password', 'secret']]);
  assert.deepEqual(d3.tableEntries, []);
  const d4 = new HpackDecoder();
  assert.deepEqual(decodeAll(d4, hex('82')), [[':method', 'GET']]);
  assert.deepEqual(d4.tableEntries, []);
});

test('RFC 7541 C.3: requests without Huffman coding', () => {
  series(4096, false, [
    { block: '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', fields: req1, table: reqTables[0], tableSize: 57 },
    { block: '8286 84be 5808 6e6f 2d63 6163 6865', fields: req2, table: reqTables[1], tableSize: 110 },
    { block: '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65', fields: req3, table: reqTables[2], tableSize: 164 },
  ]);
});

test('RFC 7541 C.4: requests with Huffman coding', () => {
  series(4096, true, [
    { block: '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', fields: req1, table: reqTables[0], tableSize: 57 },
    { block: '8286 84be 5886 a8eb 1064 9cbf', fields: req2, table: reqTables[1], tableSize: 110 },
    { block: '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf', fields: req3, table: reqTables[2], tableSize: 164 },
  ]);
});

const date21 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const date22 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const loc = 'https://www.example.com';
const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const res1: Fields = [[':status', '302'], ['cache-control', 'private'], ['date', date21], ['location', loc]];
const res2: Fields = [[':status', '307'], ['cache-control', 'private'], ['date', date21], ['location', loc]];
const res3: Fields = [[':status', '200'], ['cache-control', 'private'], ['date', date22], ['location', loc], ['content-encoding', 'gzip'], ['set-cookie', cookie]];
const resTables: Fields[] = [
  [['location', loc], ['date', date21], ['cache-control', 'private'], [':status', '302']],
  [[':status', '307'], ['location', loc], ['date', date21], ['cache-control', 'private']],
  [['set-cookie', cookie], ['content-encoding', 'gzip'], ['date', date22]],
];

test('RFC 7541 C.5: responses without Huffman coding, 256-byte table (evictions)', () => {
  series(256, false, [
    {
      block: `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
              2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
      fields: res1, table: resTables[0], tableSize: 222,
    },
    { block: '4803 3330 37c1 c0bf', fields: res2, table: resTables[1], tableSize: 222 },
    {
      block: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
              54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
              5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
      fields: res3, table: resTables[2], tableSize: 215,
    },
  ]);
});

test('RFC 7541 C.6: responses with Huffman coding, 256-byte table (evictions)', () => {
  series(256, true, [
    {
      block: `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
              2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      fields: res1, table: resTables[0], tableSize: 222,
    },
    { block: '4883 640e ffc1 c0bf', fields: res2, table: resTables[1], tableSize: 222 },
    {
      block: `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
              77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
              9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
      fields: res3, table: resTables[2], tableSize: 215,
    },
  ]);
});

test('Huffman: every byte value round-trips; random strings too', () => {
  const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
  const rand = mulberry32(7);
  const samples = [all, '', 'a', 'www.example.com'];
  for (let i = 0; i < 200; i++) {
    samples.push(String.fromCharCode(...Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256))));
  }
  for (const s of samples) {
    const buf = new Uint8Array(huffmanEncodedLength(s));
    assert.equal(huffmanEncode(s, buf, 0), buf.length);
    assert.equal(huffmanDecode(buf), s);
  }
});

test('Huffman: bad padding, EOS and over-long codes are refused', () => {
  // 'a' is 00011 (5 bits): padded with 1s is 0x1f; padded with 0s is invalid
  assert.equal(huffmanDecode(Buffer.from([0x1f])), 'a');
  assert.throws(() => huffmanDecode(Buffer.from([0x18])), HuffmanError);
  // a whole byte of padding (8 one-bits after a symbol) is too much
  assert.throws(() => huffmanDecode(Buffer.from([0x1f, 0xff])), HuffmanError);
  // EOS (30 one-bits) inside a string
  assert.throws(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff])), HuffmanError);
});

test('decoder: hostile blocks are COMPRESSION errors, never crashes', () => {
  const bad: Array<[string, string]> = [
    ['80', 'index 0'],
    ['be', 'dynamic index past the (empty) table'],
    ['ff 80 80 80 80 80 80 01', 'integer overflow'],
    ['ff', 'truncated integer'],
    ['40 05 61 62', 'string past the end'],
    ['41', 'truncated string'],
    ['3f e2 1f', 'table size update over the 4096 limit (4097)'],
    ['82 20', 'table size update after a field'],
    ['41 81 00', 'bad Huffman in a value'],
  ];
  for (const [block, why] of bad) {
    assert.throws(() => new HpackDecoder(4096).decode(hex(block), () => {}), HpackError, why);
  }
  const rand = mulberry32(99);
  for (let i = 0; i < 2000; i++) {
    const block = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
    const d = new HpackDecoder(4096);
    try {
      d.decode(block, () => {}, 64 * 1024);
    } catch (err) {
      assert.ok(err instanceof HpackError, `block ${block.toString('hex')}: ${String(err)}`);
    }
    assert.ok(d.tableSize <= 4096);
  }
});

test('decoder: a block that expands past the header list limit is measured, and the table stays in step', () => {
  // one 4000-byte entry, then 5000 references to it: ~20 MB of headers from ~9 KB
  const e = new HpackEncoder({ indexing: true });
  const first = e.encode([['x-big', 'v'.repeat(3900)]]);
  const refs = Buffer.alloc(5000, 0xbe);
  const d = new HpackDecoder(4096);
  let seen = 0;
  const fits = d.decode(Buffer.concat([first, refs]), () => seen++, 16 * 1024 * 1024);
  assert.equal(fits, false);
  assert.ok(seen < 5001 && seen > 100, `delivered ${seen}`);
  // the next block still decodes against the same table
  assert.deepEqual(decodeAll(d, Buffer.from([0xbe])), [['x-big', 'v'.repeat(3900)]]);
});

test('decoder: a table size update evicts, and an entry larger than the table empties it', () => {
  const d = new HpackDecoder(4096);
  decodeAll(d, new HpackEncoder({ indexing: true }).encode([['a', '1'], ['b', '2']]));
  assert.equal(d.tableEntries.length, 2);
  decodeAll(d, hex('20'));
  assert.deepEqual(d.tableEntries, []);
  decodeAll(d, hex('3f e1 1f')); // back to 4096
  const big = new HpackEncoder({ indexing: true, tableSize: 8192 }).encode([['k', 'x'.repeat(5000)]]);
  decodeAll(d, new HpackEncoder({ indexing: true }).encode([['c', '3']]));
  decodeAll(d, big);
  assert.deepEqual(d.tableEntries, []);
});
