// grpc-go's server keepalive enforcement, as etcd configures it (--grpc-keepalive-min-time,
// PermitWithoutStream false): a client PING that comes sooner than the minimum time after the
// previous one, or while the connection has no stream, is a strike; after more than two strikes
// the server sends GOAWAY ENHANCE_YOUR_CALM with "too_many_pings" and closes the connection.
// Strikes are forgiven when the server writes (grpc-go: headers or data); on node:http2, where
// writes are not seen, when a new stream starts.

import * as http2 from 'node:http2';
import type { PingPolicy } from '../http2/http2-connection.js';

const maxPingStrikes = 2;
/** grpc-go: without streams, a ping within 2 h of the previous one is a strike */
const idleWindowMs = 2 * 60 * 60 * 1000;

/** The strike count of one connection. */
export class PingStrikes implements PingPolicy {
  private strikes = 0;
  private lastPingAt = 0;
  private forgiven = false;

  constructor(private readonly minTimeMs: number) {}

  onWrite(): void {
    this.forgiven = true;
  }

  onPing(activeStreams: number): boolean {
    const now = performance.now();
    if (this.forgiven) {
      this.forgiven = false;
      this.strikes = 0;
      this.lastPingAt = now;
      return false;
    }
    const since = this.lastPingAt === 0 ? Infinity : now - this.lastPingAt;
    this.lastPingAt = now;
    if ((activeStreams === 0 && since < idleWindowMs) || since < this.minTimeMs) this.strikes++;
    return this.strikes > maxPingStrikes;
  }
}

export function enforcePingPolicy(session: http2.ServerHttp2Session, minTimeMs: number): void {
  const strikes = new PingStrikes(minTimeMs);
  let activeStreams = 0;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    activeStreams++;
    strikes.onWrite();
    stream.once('close', () => activeStreams--);
  });
  session.on('ping', () => {
    if (strikes.onPing(activeStreams) && !session.closed && !session.destroyed) {
      session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
      session.close();
    }
  });
}
