// Membership bookkeeping without processes: --initial-cluster parsing, member and cluster IDs
// derived like etcd (values observed from a real etcd 3.4.23 for the seed's flags), the
// /members JSON with exact uint64 IDs, and the checks of a member joining a running cluster.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findSelf, newInitialCluster, parseInitialCluster } from '../src/membership/initial-cluster.js';
import { membersFromJson, membersToJson, validateJoin } from '../src/membership/remote-cluster.js';
import { BootstrapError } from '../src/membership/errors.js';
import { newMemberId } from '../src/etcdserver/cluster-ops.js';

const seed = 'etcd01=http://127.0.0.1:2380,etcd02=http://127.0.0.1:3380,etcd03=http://127.0.0.1:4380';

test('the seed cluster gets the IDs real etcd 3.4.23 gives it', () => {
  const ic = newInitialCluster(parseInitialCluster(seed), 'etcd-cluster-1');
  // `etcdctl member list` of etcd 3.4.23 started with the seed's flags (examples/cluster)
  const byName = Object.fromEntries(ic.members.map((m) => [m.name, m.id.toString(16)]));
  assert.deepEqual(byName, { etcd01: 'bf9071f4639c75cc', etcd02: 'df13fa9bb8a2ccdb', etcd03: 'a53e1491ca0be23a' });
  // sorted by ID, as raft is bootstrapped
  assert.deepEqual(ic.members.map((m) => m.name), ['etcd03', 'etcd01', 'etcd02']);
  assert.equal(typeof ic.clusterId, 'bigint');
  // another token, other IDs
  const other = newInitialCluster(parseInitialCluster(seed), 'etcd-cluster-2');
  assert.notEqual(other.clusterId, ic.clusterId);
});

test('initial cluster: several URLs per name, malformed input refused', () => {
  const m = parseInitialCluster('a=http://h:1,b=http://h:2,a=http://h:3');
  assert.deepEqual(m.get('a'), ['http://h:1', 'http://h:3']);
  assert.throws(() => parseInitialCluster('a'), BootstrapError);
  assert.throws(() => parseInitialCluster('a=ftp://x:1'), /URL scheme must be http, https, unix, or unixs: ftp:\/\/x:1/);
  assert.throws(() => newInitialCluster(parseInitialCluster('a=http://h:1,b=http://h:1'), 't'), /duplicate URL/);
  const ic = newInitialCluster(parseInitialCluster(seed), 't');
  assert.throws(() => findSelf(ic, 'etcd09', ['http://127.0.0.1:2380']), /couldn't find local name "etcd09" in the initial cluster configuration/);
  assert.throws(() => findSelf(ic, 'etcd01', ['http://127.0.0.1:9999']), /--initial-cluster has etcd01=http:\/\/127.0.0.1:2380 but missing from --initial-advertise-peer-urls=http:\/\/127.0.0.1:9999/);
  assert.equal(findSelf(ic, 'etcd01', ['http://127.0.0.1:2380']).name, 'etcd01');
});

test('/members JSON keeps 64-bit IDs exact', () => {
  const members = [
    { id: 0xffffffffffffffffn, name: 'a', peerUrls: ['http://h:1'], clientUrls: ['http://h:2'], isLearner: false },
    { id: 0x123n, name: '', peerUrls: ['http://h:3'], clientUrls: [], isLearner: true },
  ];
  const json = membersToJson(members);
  assert.match(json, /"id":18446744073709551615/);
  assert.deepEqual(membersFromJson(json), members);
});

test('joining: the local --initial-cluster must match the running cluster', () => {
  const remote = {
    clusterId: 7n,
    members: [
      { id: 1n, name: 'a', peerUrls: ['http://h:1'], clientUrls: [], isLearner: false },
      { id: 2n, name: '', peerUrls: ['http://h:2'], clientUrls: [], isLearner: true },
    ],
  };
  assert.equal(validateJoin(parseInitialCluster('a=http://h:1,b=http://h:2'), remote, 'b'), 2n);
  assert.throws(() => validateJoin(parseInitialCluster('b=http://h:2'), remote, 'b'), /member count is unequal/);
  assert.throws(() => validateJoin(parseInitialCluster('a=http://h:1,b=http://h:9'), remote, 'b'), /unmatched member while checking PeerURLs/);
});

test('members added at run time get time-salted IDs like etcd', () => {
  assert.notEqual(newMemberId(['http://h:1'], 1000), newMemberId(['http://h:1'], 1001));
  assert.equal(newMemberId(['http://h:2', 'http://h:1'], 5), newMemberId(['http://h:1', 'http://h:2'], 5));
});
