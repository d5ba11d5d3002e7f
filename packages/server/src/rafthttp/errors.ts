// Errors of the peer transport, each with a stable `code`.

export class RaftHttpError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'RaftHttpError';
    this.code = code;
  }
}

export class ClusterIdMismatchError extends RaftHttpError {
  constructor(local: string, remote: string) {
    super('ERR_RAFTHTTP_CLUSTER_ID_MISMATCH', `rafthttp: request cluster ID mismatch (local cluster ID ${local}, remote cluster ID ${remote})`);
  }
}

export class MemberRemovedError extends RaftHttpError {
  constructor() {
    super('ERR_RAFTHTTP_MEMBER_REMOVED', 'the member has been permanently removed from the cluster');
  }
}

export class PeerStatusError extends RaftHttpError {
  readonly status: number;
  constructor(status: number, body: string) {
    super('ERR_RAFTHTTP_PEER_STATUS', `rafthttp: peer answered HTTP ${status}${body ? `: ${body}` : ''}`);
    this.status = status;
  }
}

/**
 * A peer request refused: the HTTP status and body the peer handler answers with (etcd's
 * http.Error: text/plain, the body ending in a newline). Thrown by checks and handlers; the
 * peer handler's error boundary turns it into the answer.
 */
export class PeerRefusal extends RaftHttpError {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string) {
    super('ERR_RAFTHTTP_PEER_REFUSED', `rafthttp: refused with HTTP ${status}: ${body}`);
    this.status = status;
    this.body = body;
  }
}

export class PeerTimeoutError extends RaftHttpError {
  constructor(ms: number) {
    super('ERR_RAFTHTTP_TIMEOUT', `rafthttp: peer did not answer within ${ms}ms`);
  }
}
