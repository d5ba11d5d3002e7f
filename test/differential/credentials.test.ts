// Credentials and error codes side by side with etcd 3.4.23, through raw gRPC:
//   - a token on a request while auth is disabled is still resolved: an unknown one is "invalid
//     auth token" (Unauthenticated on KV, lease, cluster and auth calls; untranslated
//     "auth: invalid auth token", gRPC Unknown, on Alarm and the maintenance admin calls;
//     Unknown on v3lock/v3election; a canceled watch whose reason is the whole gRPC error);
//   - the same with auth enabled;
//   - etcd's request checks come before the credentials (an empty key is "key is not provided"
//     for an anonymous caller too);
//   - v3lock/v3election errors carry the codes etcd's in-process client leaves them (Unknown).
//   - Authenticate checks the password first, then the token it carries.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import { v3electionpb, v3lockpb } from '@tsetcd/proto';
import { P, connect, startEtcd, startTsetcd, type Clients } from './harness.js';

const callDeadlineMs = 3000;
const b = (s: string) => Buffer.from(s);

type Raw = Record<string, (req: unknown, md: Metadata, opts: object, cb: (err: ServiceError | null) => void) => void>;

function call(client: object, method: string, req: unknown, token?: string): Promise<string> {
  const md = new Metadata();
  if (token !== undefined) md.set('token', token);
  return new Promise((resolve) =>
    (client as Raw)[method].call(client, req, md, { deadline: Date.now() + callDeadlineMs }, (err) => resolve(err ? `${err.code} ${err.details}` : 'OK')),
  );
}

function watchCreate(c: Clients, token: string): Promise<string> {
  const md = new Metadata();
  md.set('token', token);
  const s = c.watch.watch(md);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      s.cancel();
      resolve('no answer');
    }, callDeadlineMs);
    s.on('data', (r: { created: boolean; canceled: boolean; watchId: bigint; cancelReason: string }) => {
      clearTimeout(timer);
      s.cancel();
      resolve(`created=${r.created} canceled=${r.canceled} id=${r.watchId} reason=${r.cancelReason}`);
    });
    s.on('error', () => undefined);
    s.write(P.WatchRequest.fromPartial({ requestUnion: { $case: 'createRequest', value: P.WatchCreateRequest.fromPartial({ key: b('a') }) } }));
  });
}

interface Services {
  c: Clients;
  auth: InstanceType<typeof P.AuthClient>;
  lock: InstanceType<typeof v3lockpb.LockClient>;
  election: InstanceType<typeof v3electionpb.ElectionClient>;
}

/** Every call with a token nobody issued (no call here may change the cluster if it got through). */
async function withBogusToken(s: Services): Promise<Array<[string, string]>> {
  const t = 'bogus';
  const out: Array<[string, string]> = [
    ['range', await call(s.c.kv, 'range', P.RangeRequest.fromPartial({ key: b('a') }), t)],
    ['put', await call(s.c.kv, 'put', P.PutRequest.fromPartial({ key: b('a') }), t)],
    ['alarm', await call(s.c.maintenance, 'alarm', P.AlarmRequest.fromPartial({}), t)],
    ['lease time-to-live', await call(s.c.lease, 'leaseTimeToLive', P.LeaseTimeToLiveRequest.fromPartial({ ID: 5n }), t)],
    ['lease grant', await call(s.c.lease, 'leaseGrant', P.LeaseGrantRequest.fromPartial({ TTL: 5n }), t)],
    ['defragment', await call(s.c.maintenance, 'defragment', P.DefragmentRequest.fromPartial({}), t)],
    ['hash', await call(s.c.maintenance, 'hash', P.HashRequest.fromPartial({}), t)],
    ['status', await call(s.c.maintenance, 'status', P.StatusRequest.fromPartial({}), t)],
    ['member list', await call(s.c.cluster, 'memberList', P.MemberListRequest.fromPartial({}), t)],
    ['member add', await call(s.c.cluster, 'memberAdd', P.MemberAddRequest.fromPartial({ peerURLs: ['http://127.0.0.1:1'] }), t)],
    ['user list', await call(s.auth, 'userList', P.AuthUserListRequest.fromPartial({}), t)],
    ['lock', await call(s.lock, 'lock', v3lockpb.LockRequest.fromPartial({ name: b('l') }), t)],
    ['unlock', await call(s.lock, 'unlock', v3lockpb.UnlockRequest.fromPartial({ key: b('l/1') }), t)],
    ['election leader', await call(s.election, 'leader', v3electionpb.LeaderRequest.fromPartial({ name: b('e') }), t)],
    ['watch', await watchCreate(s.c, t)],
  ];
  out.push(['authenticate', await call(s.auth, 'authenticate', P.AuthenticateRequest.fromPartial({ name: 'root', password: 'pw' }), t)]);
  out.push(['authenticate with a wrong password', await call(s.auth, 'authenticate', P.AuthenticateRequest.fromPartial({ name: 'root', password: 'bad' }), t)]);
  return out;
}

/** Requests etcd refuses before looking at credentials, and lock/election errors, anonymously. */
async function anonymous(s: Services): Promise<Array<[string, string]>> {
  const put = (k: string) => ({ request: { $case: 'requestPut' as const, value: P.PutRequest.fromPartial({ key: b(k) }) } });
  return [
    ['range without key', await call(s.c.kv, 'range', P.RangeRequest.fromPartial({}))],
    ['put without key', await call(s.c.kv, 'put', P.PutRequest.fromPartial({}))],
    ['delete without key', await call(s.c.kv, 'deleteRange', P.DeleteRangeRequest.fromPartial({}))],
    ['put ignore_value with a value', await call(s.c.kv, 'put', P.PutRequest.fromPartial({ key: b('a'), value: b('v'), ignoreValue: true }))],
    ['txn with a key twice', await call(s.c.kv, 'txn', P.TxnRequest.fromPartial({ success: [put('a'), put('a')] }))],
    ['txn with too many ops', await call(s.c.kv, 'txn', P.TxnRequest.fromPartial({ success: Array.from({ length: 200 }, (_, i) => put(`k${i}`)) }))],
    ['range at a future revision', await call(s.c.kv, 'range', P.RangeRequest.fromPartial({ key: b('a'), revision: 1000n }))],
    ['member add with a bad URL', await call(s.c.cluster, 'memberAdd', P.MemberAddRequest.fromPartial({ peerURLs: ['::bad'] }))],
    ['lock on a missing lease', await call(s.lock, 'lock', v3lockpb.LockRequest.fromPartial({ name: b('l'), lease: 12345n }))],
    ['campaign on a missing lease', await call(s.election, 'campaign', v3electionpb.CampaignRequest.fromPartial({ name: b('e'), lease: 12345n }))],
    ['leader of an empty election', await call(s.election, 'leader', v3electionpb.LeaderRequest.fromPartial({ name: b('none') }))],
    ['proclaim by a non-leader', await call(s.election, 'proclaim', v3electionpb.ProclaimRequest.fromPartial({ leader: { name: b('e'), key: b('e/1'), rev: 5n, lease: 5n } }))],
    ['proclaim without leader', await call(s.election, 'proclaim', v3electionpb.ProclaimRequest.fromPartial({}))],
    ['resign without leader', await call(s.election, 'resign', v3electionpb.ResignRequest.fromPartial({}))],
    ['unlock without key', await call(s.lock, 'unlock', v3lockpb.UnlockRequest.fromPartial({}))],
  ];
}

async function scenario(s: Services): Promise<Record<string, Array<[string, string]>>> {
  const out: Record<string, Array<[string, string]>> = {};
  out['auth disabled, bogus token'] = await withBogusToken(s);
  out['auth disabled, anonymous'] = await anonymous(s);
  for (const [m, req] of [
    ['userAdd', P.AuthUserAddRequest.fromPartial({ name: 'root', password: 'pw' })],
    ['userGrantRole', P.AuthUserGrantRoleRequest.fromPartial({ user: 'root', role: 'root' })],
    ['authEnable', P.AuthEnableRequest.fromPartial({})],
  ] as const) {
    assert.equal(await call(s.auth, m, req), 'OK', m);
  }
  out['auth enabled, bogus token'] = await withBogusToken(s);
  out['auth enabled, anonymous'] = await anonymous(s);
  return out;
}

function services(t: Parameters<typeof connect>[0], addr: string): Services {
  const creds = credentials.createInsecure();
  const s = { c: connect(t, addr), auth: new P.AuthClient(addr, creds), lock: new v3lockpb.LockClient(addr, creds), election: new v3electionpb.ElectionClient(addr, creds) };
  t.after(() => {
    s.auth.close();
    s.lock.close();
    s.election.close();
  });
  return s;
}

test('tokens, request checks and lock/election errors: the same codes and texts as etcd 3.4.23', async (t) => {
  const [etcd, ts] = await Promise.all([startEtcd(t), startTsetcd(t)]);
  const [fromEtcd, fromTsetcd] = await Promise.all([scenario(services(t, etcd.client)), scenario(services(t, ts.client))]);
  for (const part of Object.keys(fromEtcd)) assert.deepEqual(fromTsetcd[part], fromEtcd[part], part);
});
