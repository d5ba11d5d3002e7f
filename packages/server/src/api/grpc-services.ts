// The client port's route table: etcd's v3 services on the gRPC server, every method behind the
// permission interceptor (permission-rules.ts declares what each one needs).

import { etcdserverpb, v3electionpb, v3lockpb, ScratchWriter, decodePutRequestView, decodeRangeRequestView, type Encodes } from '@tsetcd/proto';
import { ElectionLockApi } from './election-lock.js';
import { registerHealthService } from './health-service.js';
import { AuthApi, authMethods } from './auth-service.js';
import { PermissionGate } from './permission-rules.js';
import { permissionInterceptor } from './permission-interceptor.js';
import type { ServerView } from '../etcdserver/server-view.js';
import { GrpcServer, GrpcError, type CallObserver } from '../grpc/index.js';
import { KvApi } from './kv.js';
import { LeaseApi } from './lease.js';
import { MaintenanceApi } from './maintenance.js';
import { ClusterApi } from './cluster.js';
import { serveLeaseKeepAlive, serveWatch } from './watch.js';
import { isLockElectionPath, toGrpcError, toLockElectionError } from './errors.js';
import { grpcOverheadBytes } from '../etcdserver/config.js';
import { Errors } from '../errors.js';
import type { ClusterLayer } from '../etcdserver/cluster-start.js';

interface Codec<T> extends Encodes<T> {
  decode(b: Uint8Array): T;
}

/** Every response is encoded into this one buffer; the call's stream copies it out at once (call-stream.ts). */
const responses = new ScratchWriter();

function learnerServes(path: string, r: unknown): boolean {
  return path === '/etcdserverpb.Maintenance/Status' || (path === '/etcdserverpb.KV/Range' && (r as { serializable?: boolean }).serializable === true);
}

/** The member's permission checks (its auth store, the keys of its leases). */
export function permissionGate(s: ServerView): PermissionGate {
  return new PermissionGate(s.auth, s.authRequests, (id) => s.leaseLookup(id)?.keys(), s.cfg.maxTxnOps);
}

/** `cluster`: the Cluster API's logic and the forwarding of a follower's lease renewals to the leader */
export function createGrpcServer(s: ServerView, cluster: Pick<ClusterLayer, 'ops' | 'leader'>, observer?: CallObserver): GrpcServer {
  const interceptor = permissionInterceptor(permissionGate(s), () => s.header());
  const g = new GrpcServer({ maxReceiveMessageBytes: s.cfg.maxRequestBytes + grpcOverheadBytes, observer, interceptor });
  for (const r of authMethods(new AuthApi(s, s.auth))) {
    g.addUnary(r.grpcPath, (b) => r.codec.decode(b), (m) => responses.encode(r.out, m), async (req, call) => {
      try {
        if (s.isStopped()) throw Errors.stopped();
        return await r.fn(req, call);
      } catch (e) {
        throw toGrpcError(e);
      }
    });
  }
  const kv = new KvApi(s);
  const lease = new LeaseApi(s, (id) => cluster.leader.leaseRenew(id));
  const mt = new MaintenanceApi(s);
  const cl = new ClusterApi(s, cluster.ops);
  const dec = <T>(c: Codec<T>) => (b: Uint8Array) => c.decode(b);
  const enc = <T>(c: Codec<T>) => (m: T) => responses.encode(c, m);
  function unary<Req, Res>(path: string, req: Codec<Req>, res: Codec<Res>, fn: (r: Req) => Promise<Res> | Res): void {
    const convert = isLockElectionPath(path) ? toLockElectionError : toGrpcError;
    // not an async function: a call is answered through fn's own promise, and what it throws or
    // rejects with is converted by the call (GrpcServer applies `convert`: no promise per call)
    g.addUnary<Req, Res>(path, dec(req), enc(res), (r) => {
      if (s.isStopped()) throw toGrpcError(Errors.stopped());
      // etcd 3.4: a learner serves only Status and serializable Range
      if (s.isLearner() && !learnerServes(path, r)) throw toGrpcError(Errors.notSupportedForLearner());
      return fn(r);
    }, convert);
  }
  const pb = etcdserverpb;
  // keys as views into the received bytes (only looked up; the request lives until it is answered)
  unary('/etcdserverpb.KV/Range', { encode: pb.RangeRequest.encode, decode: decodeRangeRequestView }, pb.RangeResponse, (r) => kv.range(r));
  // key and value are views into the received bytes: they are copied into the raft entry anyway
  unary('/etcdserverpb.KV/Put', { encode: pb.PutRequest.encode, decode: decodePutRequestView }, pb.PutResponse, (r) => kv.put(r));
  unary('/etcdserverpb.KV/DeleteRange', pb.DeleteRangeRequest, pb.DeleteRangeResponse, (r) => kv.deleteRange(r));
  unary('/etcdserverpb.KV/Txn', pb.TxnRequest, pb.TxnResponse, (r) => kv.txn(r));
  unary('/etcdserverpb.KV/Compact', pb.CompactionRequest, pb.CompactionResponse, (r) => kv.compact(r));

  g.addBidi('/etcdserverpb.Watch/Watch', dec(pb.WatchRequest), enc(pb.WatchResponse), (call) =>
    serveWatch(s, call).catch((e) => call.end(toGrpcError(e))),
  );

  unary('/etcdserverpb.Lease/LeaseGrant', pb.LeaseGrantRequest, pb.LeaseGrantResponse, (r) => lease.grant(r));
  unary('/etcdserverpb.Lease/LeaseRevoke', pb.LeaseRevokeRequest, pb.LeaseRevokeResponse, (r) => lease.revoke(r));
  g.addBidi('/etcdserverpb.Lease/LeaseKeepAlive', dec(pb.LeaseKeepAliveRequest), enc(pb.LeaseKeepAliveResponse), (call) =>
    serveLeaseKeepAlive((id) => lease.keepAliveOnce(id), call).catch((e) => call.end(toGrpcError(e))),
  );
  unary('/etcdserverpb.Lease/LeaseTimeToLive', pb.LeaseTimeToLiveRequest, pb.LeaseTimeToLiveResponse, (r) => lease.timeToLive(r));
  unary('/etcdserverpb.Lease/LeaseLeases', pb.LeaseLeasesRequest, pb.LeaseLeasesResponse, () => lease.leases());

  unary('/etcdserverpb.Cluster/MemberList', pb.MemberListRequest, pb.MemberListResponse, () => cl.memberList());
  unary('/etcdserverpb.Cluster/MemberAdd', pb.MemberAddRequest, pb.MemberAddResponse, (r) => cl.memberAdd(r));
  unary('/etcdserverpb.Cluster/MemberRemove', pb.MemberRemoveRequest, pb.MemberRemoveResponse, (r) => cl.memberRemove(r));
  unary('/etcdserverpb.Cluster/MemberUpdate', pb.MemberUpdateRequest, pb.MemberUpdateResponse, (r) => cl.memberUpdate(r));
  unary('/etcdserverpb.Cluster/MemberPromote', pb.MemberPromoteRequest, pb.MemberPromoteResponse, (r) => cl.memberPromote(r));

  unary('/etcdserverpb.Maintenance/Alarm', pb.AlarmRequest, pb.AlarmResponse, (r) => mt.alarm(r));
  unary('/etcdserverpb.Maintenance/Status', pb.StatusRequest, pb.StatusResponse, () => mt.status());
  unary('/etcdserverpb.Maintenance/Defragment', pb.DefragmentRequest, pb.DefragmentResponse, () => mt.defragment());
  unary('/etcdserverpb.Maintenance/Hash', pb.HashRequest, pb.HashResponse, () => mt.hash());
  unary('/etcdserverpb.Maintenance/HashKV', pb.HashKVRequest, pb.HashKVResponse, (r) => mt.hashKV(r));
  g.addServerStream('/etcdserverpb.Maintenance/Snapshot', dec(pb.SnapshotRequest), enc(pb.SnapshotResponse), (_r, call) =>
    mt.snapshot(call).catch((e) => call.end(toGrpcError(e))),
  );
  unary('/etcdserverpb.Maintenance/MoveLeader', pb.MoveLeaderRequest, pb.MoveLeaderResponse, (r) => cl.moveLeader(r));

  registerHealthService(g);

  const el = new ElectionLockApi(s);
  g.addUnary('/v3lockpb.Lock/Lock', dec(v3lockpb.LockRequest), enc(v3lockpb.LockResponse), async (r, call) => {
    try {
      return await el.lock(r, call.signal);
    } catch (e) {
      throw toLockElectionError(e);
    }
  });
  unary('/v3lockpb.Lock/Unlock', v3lockpb.UnlockRequest, v3lockpb.UnlockResponse, (r) => el.unlock(r));
  g.addUnary('/v3electionpb.Election/Campaign', dec(v3electionpb.CampaignRequest), enc(v3electionpb.CampaignResponse), async (r, call) => {
    try {
      return await el.campaign(r, call.signal);
    } catch (e) {
      throw toLockElectionError(e);
    }
  });
  unary('/v3electionpb.Election/Proclaim', v3electionpb.ProclaimRequest, v3electionpb.ProclaimResponse, (r) => el.proclaim(r));
  unary('/v3electionpb.Election/Leader', v3electionpb.LeaderRequest, v3electionpb.LeaderResponse, (r) => el.leader(r));
  unary('/v3electionpb.Election/Resign', v3electionpb.ResignRequest, v3electionpb.ResignResponse, (r) => el.resign(r));
  g.addServerStream('/v3electionpb.Election/Observe', dec(v3electionpb.LeaderRequest), enc(v3electionpb.LeaderResponse), (r, call) =>
    el.observe(r, call).then(() => call.end(), (e) => call.end(toLockElectionError(e))),
  );
  return g;
}
