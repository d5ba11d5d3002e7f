// The go-grpc-prometheus families etcd exposes on /metrics: grpc_server_started_total,
// grpc_server_handled_total (with grpc_code), grpc_server_msg_received_total and
// grpc_server_msg_sent_total, labelled grpc_type / grpc_service / grpc_method. As in etcd, the
// services registered when the server starts (KV, Watch, Lease, Cluster, Auth, Maintenance,
// Health) are listed from the start with every code at 0; v3lock and v3election, which etcd
// registers after that, appear once called.

import { Counter, type Registry } from 'prom-client';
import { grpcCodeName, GrpcCode } from '@tsetcd/common';
import type { CallObserver, CallType, GrpcServer } from '../grpc/index.js';

/** etcd's services that go-grpc-prometheus's InitializeMetrics sees (registered before it runs). */
const preregisteredServices = new Set([
  'etcdserverpb.KV',
  'etcdserverpb.Watch',
  'etcdserverpb.Lease',
  'etcdserverpb.Cluster',
  'etcdserverpb.Auth',
  'etcdserverpb.Maintenance',
  'grpc.health.v1.Health',
]);

const allCodes = Object.values(GrpcCode);

/**
 * etcd's LeaseKeepAlive handler returns ErrGRPCNoLeader (Unavailable) when its stream's context
 * ends, so a client leaving a keepalive stream counts as Unavailable there (v3rpc/lease.go: "the
 * only server-side cancellation is noleader for now"); a Watch stream it counts as Canceled.
 */
const cancelledAs: Record<string, number> = { '/etcdserverpb.Lease/LeaseKeepAlive': GrpcCode.Unavailable };

interface Tally {
  labels: { grpc_method: string; grpc_service: string; grpc_type: CallType };
  started: number;
  received: number;
  sent: number;
  handled: Map<number, number>;
}

function split(path: string): { service: string; method: string } {
  const slash = path.lastIndexOf('/');
  return { service: path.slice(1, slash), method: path.slice(slash + 1) };
}

/** Counters in `reg`, fed by the returned observer; `preregister` lists a server's methods at 0. */
export function grpcServerMetrics(reg: Registry): CallObserver & { preregister(g: GrpcServer): void } {
  // label names in Go's order (sorted), which is how Prometheus' text format prints them
  // Per call only plain numbers move (a pending count per method, type and code); the counters
  // take them when they are read. prom-client's inc() hashes its label set on every call, which
  // was a measurable share of a put's CPU.
  const flush = (): void => {
    for (const byType of tallies.values()) for (const t of Object.values(byType)) {
      if (t.started > 0) started.inc(t.labels, t.started);
      if (t.received > 0) received.inc(t.labels, t.received);
      if (t.sent > 0) sent.inc(t.labels, t.sent);
      t.started = t.received = t.sent = 0;
      for (const [code, n] of t.handled) {
        if (n > 0) handled.inc({ grpc_code: grpcCodeName(code), ...t.labels }, n);
        t.handled.set(code, 0);
      }
    }
  };
  const started = new Counter({ name: 'grpc_server_started_total', help: 'Total number of RPCs started on the server.', labelNames: ['grpc_method', 'grpc_service', 'grpc_type'], registers: [reg], collect: flush });
  const handled = new Counter({ name: 'grpc_server_handled_total', help: 'Total number of RPCs completed on the server, regardless of success or failure.', labelNames: ['grpc_code', 'grpc_method', 'grpc_service', 'grpc_type'], registers: [reg], collect: flush });
  const received = new Counter({ name: 'grpc_server_msg_received_total', help: 'Total number of RPC stream messages received on the server.', labelNames: ['grpc_method', 'grpc_service', 'grpc_type'], registers: [reg], collect: flush });
  const sent = new Counter({ name: 'grpc_server_msg_sent_total', help: 'Total number of gRPC stream messages sent by the server.', labelNames: ['grpc_method', 'grpc_service', 'grpc_type'], registers: [reg], collect: flush });
  const labels = (path: string, type: CallType) => {
    const { service, method } = split(path);
    return { grpc_method: method, grpc_service: service, grpc_type: type };
  };
  // by method path (the same string objects every call), then by call type
  const tallies = new Map<string, Partial<Record<CallType, Tally>>>();
  const tally = (path: string, type: CallType): Tally => {
    let byType = tallies.get(path);
    if (byType === undefined) tallies.set(path, (byType = {}));
    let t = byType[type];
    if (t === undefined) byType[type] = t = { labels: labels(path, type), started: 0, received: 0, sent: 0, handled: new Map() };
    return t;
  };
  return {
    started: (path, type) => void tally(path, type).started++,
    handled: (path, type, code) => {
      const counted = code === GrpcCode.Canceled ? (cancelledAs[path] ?? code) : code;
      const h = tally(path, type).handled;
      h.set(counted, (h.get(counted) ?? 0) + 1);
    },
    received: (path, type) => void tally(path, type).received++,
    sent: (path, type) => void tally(path, type).sent++,
    preregister(g) {
      for (const path of g.paths().sort()) {
        if (!preregisteredServices.has(split(path).service)) continue;
        const type = g.localMethod(path)!.kind;
        const l = labels(path, type);
        started.inc(l, 0);
        received.inc(l, 0);
        sent.inc(l, 0);
        for (const code of allCodes) handled.inc({ grpc_code: grpcCodeName(code), ...l }, 0);
      }
    },
  };
}
