// /v2/stats/{self,leader,store} and /v2/machines (etcd's v2http statsHandler and machinesHandler).
// The self stats give name, ID, raft state, start time, the leader's, and the append requests
// sent and received; the leader's give each follower's latency and counts (see
// etcdserver/follower-stats.ts for what is timed).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { formatGoDuration, idToHex } from '@tsetcd/common';
import { rfc3339Nano } from '../v2store/event.js';
import { allowMethod, httpError, writeJson } from './http-util.js';
import type { V2Member } from './v2-member.js';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

export class StatsHandler {
  constructor(private readonly m: V2Member) {}

  serve(req: Req, res: Res, p: string): void {
    switch (p) {
      case '/v2/stats/store':
        if (!allowMethod(req, res, ['GET'])) return;
        writeJson(res, 200, this.m.store.stats.toJson(this.m.store.hub.count));
        return;
      case '/v2/stats/self':
        if (!allowMethod(req, res, ['GET'])) return;
        writeJson(res, 200, this.selfJson());
        return;
      case '/v2/stats/leader':
        if (!allowMethod(req, res, ['GET'])) return;
        if (!this.m.isLeader()) {
          writeJson(res, 403, '{"message":"not current leader"}');
          return;
        }
        writeJson(res, 200, this.m.leaderStatsJson());
        return;
      case '/v2/machines':
        if (!allowMethod(req, res, ['GET', 'HEAD'])) return;
        res.statusCode = 200;
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.end(this.m.clientUrls().join(', '));
        return;
    }
    httpError(res, 404, '404 page not found');
  }

  private selfJson(): string {
    const now = BigInt(Date.now()) * 1_000_000n;
    const since = this.m.leaderSinceNs();
    const lead = this.m.leader();
    return JSON.stringify({
      name: this.m.name(),
      id: idToHex(this.m.memberId()),
      state: `State${this.m.raftState()}`,
      startTime: rfc3339Nano(this.m.startTimeNs()),
      leaderInfo: { leader: lead === 0n ? '' : idToHex(lead), uptime: formatGoDuration(now - since), startTime: rfc3339Nano(since) },
      recvAppendRequestCnt: this.m.appendRequests().received,
      sendAppendRequestCnt: this.m.appendRequests().sent,
    });
  }
}
