// grpc-go's server keepalive enforcement, as etcd configures it (--grpc-keepalive-min-time,
// PermitWithoutStream false): a client PING that comes sooner than the minimum time after the
// previous one, or while the connection has no stream, is a strike; after more than two strikes
// the server sends GOAWAY ENHANCE_YOUR_CALM with "too_many_pings" and closes the connection.
// Strikes are forgiven when a new stream starts (grpc-go: whenever the server writes headers or data).

import * as http2 from 'node:http2';

const maxPingStrikes = 2;
/** grpc-go: without streams, a ping within 2 h of the previous one is a strike */
const idleWindowMs = 2 * 60 * 60 * 1000;

export function enforcePingPolicy(session: http2.ServerHttp2Session, minTimeMs: number): void {
  let strikes = 0;
  let lastPingAt = 0;
  let activeStreams = 0;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    activeStreams++;
    strikes = 0;
    lastPingAt = 0;
    stream.once('close', () => activeStreams--);
  });
  session.on('ping', () => {
    const now = performance.now();
    const since = lastPingAt === 0 ? Infinity : now - lastPingAt;
    lastPingAt = now;
    if ((activeStreams === 0 && since < idleWindowMs) || since < minTimeMs) strikes++;
    if (strikes > maxPingStrikes && !session.closed && !session.destroyed) {
      session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
      session.close();
    }
  });
}
