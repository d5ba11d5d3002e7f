// Watch service: one bidirectional stream per client carrying many watchers.

import { etcdserverpb } from '@tsetcd/proto';
import type { ServerView } from '../etcdserver/server-view.js';
import type { BidiCall } from '../grpc/index.js';
import { toGrpcError } from './errors.js';

export async function serveWatch(s: ServerView, call: BidiCall<etcdserverpb.WatchRequest>): Promise<void> {
  const ws = s.newWatchStream({
    send: (resp) => call.write(resp),
    drained: () => call.drained(),
    header: (rev) => s.header(rev),
    maxResponseBytes: s.cfg.maxRequestBytes,
    onError: (e) => call.end(toGrpcError(e)),
  });
  const stop = call.onCancel(() => ws.close());
  try {
    for await (const req of call) ws.handle(req);
  } finally {
    stop();
    ws.close();
  }
  // the client half-closed: etcd keeps sending until the client goes away; end cleanly
  call.end();
}

export async function serveLeaseKeepAlive(
  keepAliveOnce: (id: bigint) => etcdserverpb.LeaseKeepAliveResponse | Promise<etcdserverpb.LeaseKeepAliveResponse>,
  call: BidiCall<etcdserverpb.LeaseKeepAliveRequest>,
): Promise<void> {
  for await (const req of call) {
    const resp = await keepAliveOnce(req.ID);
    if (!call.write(resp)) await call.drained();
  }
  call.end();
}
