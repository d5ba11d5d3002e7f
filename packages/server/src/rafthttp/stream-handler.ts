// Serving a peer's stream dial: GET /raft/stream/<msgapp|message>/<the dialer's ID>. The route is
// member-only; admission (peer-handler.ts + peer-checks.ts) runs in etcd's streamHandler order:
// versions, cluster ID (412), the stream type in the path (404 "invalid path"), the dialer's ID in
// the path (404 "invalid from"), removed (410), a current member (404 "error sender not found"),
// X-Raft-To (412). The admitted dialer gets 200 at once, its headers flushed, and the answer's
// body becomes the stream this member writes that kind of message into (stream-writer.ts). A GET
// has no business sending a body: whatever it sends is read and dropped, bounded.

import type * as http from 'node:http';
import { PeerHeader, PeerPath, PeerVersion, type StreamKind } from './peer-headers.js';
import type { AdmitOptions } from './peer-checks.js';
import { discardRest } from './peer-http.js';
import { PeerRefusal } from './errors.js';

const kinds: Record<string, StreamKind> = { msgapp: 'msgapp', message: 'message' };

/** The stream kind a path names; throws etcd's 404 "invalid path" for any other. */
export function streamKindOf(path: string): StreamKind {
  const rest = path.slice(PeerPath.streamPrefix.length);
  const slash = rest.indexOf('/');
  const kind = slash < 0 ? undefined : kinds[rest.slice(0, slash)];
  if (kind === undefined || rest.indexOf('/', slash + 1) >= 0) throw new PeerRefusal(404, 'invalid path');
  return kind;
}

/** Admission of a stream dial: raft versions, the sender from the path (after the type is known). */
export function streamAdmission(path: string): AdmitOptions {
  return {
    versions: true,
    from: () => {
      streamKindOf(path);
      return path.slice(path.lastIndexOf('/') + 1);
    },
  };
}

/**
 * Answers an admitted dial and hands the open answer to `attach`. The body is the frames as they
 * are, delimited by the connection's close (`Connection: close`, no chunked encoding): the
 * stream's reader takes them straight off the socket (stream-reader.ts).
 */
export function serveStreamDial(req: http.IncomingMessage, res: http.ServerResponse, clusterId: bigint, path: string, attach: (kind: StreamKind, res: http.ServerResponse) => void): void {
  const kind = streamKindOf(path);
  res.useChunkedEncodingByDefault = false;
  res.writeHead(200, { [PeerHeader.serverVersion]: PeerVersion.server, [PeerHeader.clusterId]: clusterId.toString(16) });
  res.flushHeaders();
  discardRest(req);
  attach(kind, res);
}
