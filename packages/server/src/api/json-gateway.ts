// etcd's JSON gateway on the client port (grpc-gateway, as in etcd 3.4): POST /v3/kv/put etc.
// with JSON bodies; bytes are base64, 64-bit numbers strings, field names as in the .proto
// (snake_case), default values omitted. /v3/watch and /v3/lease/keepalive stream
// newline-separated {"result": ...} objects.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { etcdserverpb } from '@tsetcd/proto';
import type { EtcdServer } from '../etcdserver/server.js';
import { KvApi } from './kv.js';
import { LeaseApi } from './lease.js';
import { MaintenanceApi } from './maintenance.js';
import { toGrpcError } from './errors.js';
import { WatchStream } from '../watch/watch-stream.js';
import { gatewayAuth } from './auth.js';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** Largest JSON body accepted (a base64 request at --max-request-bytes, plus room). */
const maxBodyBytes = 4 * 1024 * 1024;

/** grpc-gateway's HTTP status for each gRPC code. */
const httpStatusOf: Record<number, number> = { 0: 200, 1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 412, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401 };

/** ts-proto's lowerCamel JSON names back to the .proto names (range_end, cluster_id; ID, TTL, peerURLs kept). */
function protoName(k: string): string {
  return k.replace(/([a-z0-9])([A-Z])(?=[a-z]|$)/g, (_m, a: string, b: string) => `${a}_${b.toLowerCase()}`);
}

/** Fields whose .proto names are camelCase already (StatusResponse, Member). */
const camelProtoNames = new Set(['permType', 'isLearner', 'dbSize', 'raftIndex', 'raftAppliedIndex', 'dbSizeInUse']);

function snake(v: unknown, parent = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => snake(x, parent));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // raftTerm is raft_term in ResponseHeader but raftTerm in StatusResponse
      const keep = camelProtoNames.has(k) || (k === 'raftTerm' && parent !== 'header');
      out[keep ? k : protoName(k)] = snake(x, k);
    }
    return out;
  }
  return v;
}

interface Codec<T> {
  fromJSON(o: unknown): T;
  toJSON(m: T): unknown;
}

function readBody(req: Req): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > maxBodyBytes) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: Res, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}

function sendError(res: Res, e: unknown): void {
  const g = toGrpcError(e);
  send(res, httpStatusOf[g.code] ?? 500, { error: g.message, message: g.message, code: g.code });
}

export function createJsonGateway(s: EtcdServer): (req: Req, res: Res, path: string) => boolean {
  const kv = new KvApi(s);
  const lease = new LeaseApi(s);
  const mt = new MaintenanceApi(s);
  const P = etcdserverpb;
  const routes = new Map<string, { codec: Codec<any>; out: Codec<any>; fn: (r: any) => unknown }>();
  const route = <A, B>(paths: string[], codec: Codec<A>, out: Codec<B>, fn: (r: A) => Promise<B> | B) => {
    for (const p of paths) routes.set(p, { codec, out, fn });
  };
  route(['/v3/kv/range'], P.RangeRequest, P.RangeResponse, (r) => kv.range(r));
  route(['/v3/kv/put'], P.PutRequest, P.PutResponse, (r) => kv.put(r));
  route(['/v3/kv/deleterange'], P.DeleteRangeRequest, P.DeleteRangeResponse, (r) => kv.deleteRange(r));
  route(['/v3/kv/txn'], P.TxnRequest, P.TxnResponse, (r) => kv.txn(r));
  route(['/v3/kv/compaction'], P.CompactionRequest, P.CompactionResponse, (r) => kv.compact(r));
  route(['/v3/lease/grant'], P.LeaseGrantRequest, P.LeaseGrantResponse, (r) => lease.grant(r));
  route(['/v3/lease/revoke', '/v3/kv/lease/revoke'], P.LeaseRevokeRequest, P.LeaseRevokeResponse, (r) => lease.revoke(r));
  route(['/v3/lease/timetolive', '/v3/kv/lease/timetolive'], P.LeaseTimeToLiveRequest, P.LeaseTimeToLiveResponse, (r) => lease.timeToLive(r));
  route(['/v3/lease/leases', '/v3/kv/lease/leases'], P.LeaseLeasesRequest, P.LeaseLeasesResponse, () => lease.leases());
  route(['/v3/maintenance/status'], P.StatusRequest, P.StatusResponse, () => mt.status());
  route(['/v3/maintenance/alarm'], P.AlarmRequest, P.AlarmResponse, (r) => mt.alarm(r));
  route(['/v3/maintenance/defragment'], P.DefragmentRequest, P.DefragmentResponse, () => mt.defragment());
  route(['/v3/maintenance/hash'], P.HashRequest, P.HashResponse, () => mt.hash());
  route(['/v3/maintenance/transfer-leadership'], P.MoveLeaderRequest, P.MoveLeaderResponse, (r) => mt.moveLeader(r));
  route(['/v3/cluster/member/list'], P.MemberListRequest, P.MemberListResponse, () => mt.memberList());

  // /v3/auth/* routes, and the permission checks of the gRPC services
  const auth = gatewayAuth(s);
  for (const r of auth.routes) route([r.gatewayPath], r.codec, r.out, r.fn);

  return (req, res, path) => {
    if (path === '/v3/watch') {
      void serveWatch(s, req, res, auth);
      return true;
    }
    if (path === '/v3/lease/keepalive') {
      void readBody(req).then(
        async (text) => {
          const r = P.LeaseKeepAliveRequest.fromJSON(text.trim() === '' ? {} : JSON.parse(text));
          send(res, 200, { result: snake(P.LeaseKeepAliveResponse.toJSON(await lease.keepAliveOnce(r.ID))) });
        },
        (e) => sendError(res, e),
      ).catch((e) => sendError(res, e));
      return true;
    }
    const rt = routes.get(path);
    if (rt === undefined) return false;
    if (req.method !== 'POST') {
      res.statusCode = 405;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('Method Not Allowed\n');
      return true;
    }
    readBody(req)
      .then(async (text) => {
        let body: unknown;
        try {
          body = text.trim() === '' ? {} : JSON.parse(text);
        } catch (e) {
          send(res, 400, { error: (e as Error).message, message: (e as Error).message, code: 3 });
          return;
        }
        const decoded = rt.codec.fromJSON(body);
        const out = await auth.serve(path, decoded, req, async () => rt.fn(decoded));
        send(res, 200, snake(rt.out.toJSON(out)));
      })
      .catch((e) => sendError(res, e));
    return true;
  };
}

/** POST /v3/watch: the body is one WatchRequest; each response is a line {"result": ...}. */
async function serveWatch(s: EtcdServer, req: Req, res: Res, auth: ReturnType<typeof gatewayAuth>): Promise<void> {
  let text: string;
  try {
    text = await readBody(req);
  } catch (e) {
    sendError(res, e);
    return;
  }
  let wr: etcdserverpb.WatchRequest;
  try {
    wr = etcdserverpb.WatchRequest.fromJSON(JSON.parse(text));
  } catch (e) {
    send(res, 400, { error: (e as Error).message, message: (e as Error).message, code: 3 });
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json');
  const denied = auth.watchDenied(wr, req);
  if (denied !== undefined) {
    res.end(JSON.stringify({ result: snake(etcdserverpb.WatchResponse.toJSON(denied)) }) + '\n');
    return;
  }
  const w = res as ServerResponse;
  const ws = new WatchStream({
    hub: s.hub,
    send: (resp) => w.write(JSON.stringify({ result: snake(etcdserverpb.WatchResponse.toJSON(resp)) }) + '\n'),
    drained: () => new Promise<void>((resolve) => w.once('drain', () => resolve())),
    header: (rev) => s.header(rev),
    maxResponseBytes: s.cfg.maxRequestBytes,
  });
  res.on('close', () => ws.close());
  ws.handle(wr);
}
