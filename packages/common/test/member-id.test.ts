import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeClusterId, computeMemberId, idToHex } from '../src/member-id.js';

test('member IDs are the ones etcd 3.4.23 gives the seed cluster (peer URLs sorted, then the token)', () => {
  // `etcdctl member list` of etcd 3.4.23 started with examples/cluster's flags, token etcd-cluster-1
  const token = 'etcd-cluster-1';
  const ids = ['2380', '3380', '4380'].map((p) => computeMemberId([`http://127.0.0.1:${p}`], token));
  assert.deepEqual(ids.map(idToHex), ['bf9071f4639c75cc', 'df13fa9bb8a2ccdb', 'a53e1491ca0be23a']);
  assert.equal(computeMemberId(['http://b:2', 'http://a:1'], 't'), computeMemberId(['http://a:1', 'http://b:2'], 't'));
  assert.notEqual(computeMemberId(['http://127.0.0.1:2380'], 'other'), ids[0]);
  // the cluster ID does not depend on the order the members are given in
  assert.equal(computeClusterId(ids), computeClusterId([...ids].reverse()));
});
