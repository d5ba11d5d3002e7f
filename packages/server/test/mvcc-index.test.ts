// The in-memory index on its own: TreeIndex ordering through chunk splits and removals, and
// KeyIndex lookups/compaction against etcd's keyIndex rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TreeIndex } from '../src/mvcc/tree-index.js';
import { KeyIndex, appendRev, compactKey, compactKeepFrom, findAt, liveAt, indexOfRev, encodeSub } from '../src/mvcc/key-index.js';

test('TreeIndex stays ordered through splits and removals; ascend honours bounds', () => {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const t = new TreeIndex();
  const ref = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const k = `key-${rand(5000).toString().padStart(5, '0')}`;
    if (rand(4) === 0) {
      t.remove(k);
      ref.delete(k);
    } else {
      t.getOrCreate(k);
      ref.add(k);
    }
  }
  t.verify();
  const sorted = [...ref].sort();
  assert.equal(t.size, sorted.length);
  const seen: string[] = [];
  t.ascend('', null, (ki) => {
    seen.push(ki.key);
  });
  assert.deepEqual(seen, sorted);
  const window: string[] = [];
  t.ascend('key-01000', 'key-01100', (ki) => {
    window.push(ki.key);
  });
  assert.deepEqual(window, sorted.filter((k) => k >= 'key-01000' && k < 'key-01100'));
  const firstTen: string[] = [];
  t.ascend('key-04000', null, (ki) => firstTen.push(ki.key) < 10);
  assert.deepEqual(firstTen, sorted.filter((k) => k >= 'key-04000').slice(0, 10));
  const bulk = new TreeIndex();
  bulk.bulkLoad(sorted.map((k) => new KeyIndex(k)));
  bulk.verify();
  bulk.getOrCreate('key-02500x');
  bulk.remove('key-00000');
  bulk.verify();
});

function ki(...revs: Array<[number, number, boolean?]>): KeyIndex {
  const k = new KeyIndex('k');
  for (const [m, s, tomb] of revs) appendRev(k, m, s, tomb === true);
  return k;
}

test('KeyIndex lookups by revision', () => {
  // put@2, put@4, del@6, put@8
  const k = ki([2, 0], [4, 1], [6, 0, true], [8, 0]);
  assert.equal(findAt(k, 1), -1);
  assert.equal(liveAt(k, 3), 0);
  assert.equal(liveAt(k, 5), 1);
  assert.equal(findAt(k, 6), 2);
  assert.equal(liveAt(k, 7), -1);
  assert.equal(liveAt(k, 100), 3);
  assert.equal(indexOfRev(k, 4, 1), 1);
  assert.equal(indexOfRev(k, 6, encodeSub(0, true)), 2);
  assert.equal(indexOfRev(k, 6, 0), -1);
  assert.throws(() => appendRev(k, 8, 0, false), /not after/);
  assert.throws(() => appendRev(new KeyIndex('x'), 1, 0, true), /unknown key/);
});

test('KeyIndex compaction follows etcd keyIndex.compact', () => {
  const hist = (): KeyIndex => ki([2, 0], [4, 0], [6, 0, true], [8, 0], [9, 0]);
  // inside the first generation: keep the latest revision <= atRev
  assert.equal(compactKeepFrom(hist(), 3), 0);
  assert.equal(compactKeepFrom(hist(), 5), 1);
  // the tombstone at atRev ends its generation: all of it goes
  assert.equal(compactKeepFrom(hist(), 6), 3);
  assert.equal(compactKeepFrom(hist(), 7), 3);
  assert.equal(compactKeepFrom(hist(), 8), 3);
  assert.equal(compactKeepFrom(hist(), 9), 4);
  const k = hist();
  assert.equal(compactKey(k, 8), false);
  assert.deepEqual(k.revs, [8, 0, 9, 0]);
  // a key whose latest revision is a tombstone <= atRev disappears
  const gone = ki([1, 0], [3, 2, true]);
  assert.equal(compactKey(gone, 3), true);
  const kept = ki([1, 0], [3, 2, true]);
  assert.equal(compactKey(kept, 2), false);
  assert.deepEqual(kept.revs, [1, 0, 3, encodeSub(2, true)]);
});
