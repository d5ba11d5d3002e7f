// Every error etcd's v3 API answers with, in one table: a stable code, the gRPC status and the
// message byte for byte (etcd 3.4 api/v3rpc/rpctypes/error.go; Go's clientv3 and etcdctl map the
// text back to typed errors, so it must not change). The server raises them, @tsetcd/client
// turns a received message back into its class, tsetcdctl compares against them. A few
// tsetcd-only entries (marked) have no etcd counterpart; they keep etcd's wording style.

import { GrpcCode } from './grpc-code.js';

export interface EtcdErrorKind {
  /** stable, never reworded: ERR_… */
  readonly code: string;
  readonly grpcCode: GrpcCode;
  /** the status message on the wire */
  readonly message: string;
}

const e = (code: string, grpcCode: GrpcCode, message: string): EtcdErrorKind => ({ code, grpcCode, message });
const C = GrpcCode;

export const EtcdError = {
  // requests (rpctypes ErrGRPC…)
  emptyKey: e('ERR_EMPTY_KEY', C.InvalidArgument, 'etcdserver: key is not provided'),
  keyNotFound: e('ERR_KEY_NOT_FOUND', C.InvalidArgument, 'etcdserver: key not found'),
  valueProvided: e('ERR_VALUE_PROVIDED', C.InvalidArgument, 'etcdserver: value is provided'),
  leaseProvided: e('ERR_LEASE_PROVIDED', C.InvalidArgument, 'etcdserver: lease is provided'),
  tooManyOps: e('ERR_TOO_MANY_OPS', C.InvalidArgument, 'etcdserver: too many operations in txn request'),
  duplicateKey: e('ERR_DUPLICATE_KEY', C.InvalidArgument, 'etcdserver: duplicate key given in txn request'),
  compacted: e('ERR_COMPACTED', C.OutOfRange, 'etcdserver: mvcc: required revision has been compacted'),
  futureRev: e('ERR_FUTURE_REV', C.OutOfRange, 'etcdserver: mvcc: required revision is a future revision'),
  noSpace: e('ERR_NO_SPACE', C.ResourceExhausted, 'etcdserver: mvcc: database space exceeded'),
  // leases
  leaseNotFound: e('ERR_LEASE_NOT_FOUND', C.NotFound, 'etcdserver: requested lease not found'),
  leaseExist: e('ERR_LEASE_EXIST', C.FailedPrecondition, 'etcdserver: lease already exists'),
  leaseTtlTooLarge: e('ERR_LEASE_TTL_TOO_LARGE', C.OutOfRange, 'etcdserver: too large lease TTL'),
  watchCanceled: e('ERR_WATCH_CANCELED', C.Canceled, 'etcdserver: watch canceled'),
  // members
  memberExist: e('ERR_MEMBER_EXIST', C.FailedPrecondition, 'etcdserver: member ID already exist'),
  peerUrlExist: e('ERR_PEER_URL_EXIST', C.FailedPrecondition, 'etcdserver: Peer URLs already exists'),
  memberNotEnoughStarted: e('ERR_MEMBER_NOT_ENOUGH_STARTED', C.FailedPrecondition, 'etcdserver: re-configuration failed due to not enough started members'),
  memberBadUrls: e('ERR_MEMBER_BAD_URLS', C.InvalidArgument, 'etcdserver: given member URLs are invalid'),
  memberNotFound: e('ERR_MEMBER_NOT_FOUND', C.NotFound, 'etcdserver: member not found'),
  memberNotLearner: e('ERR_MEMBER_NOT_LEARNER', C.FailedPrecondition, 'etcdserver: can only promote a learner member'),
  learnerNotReady: e('ERR_LEARNER_NOT_READY', C.FailedPrecondition, 'etcdserver: can only promote a learner member which is in sync with leader'),
  tooManyLearners: e('ERR_TOO_MANY_LEARNERS', C.FailedPrecondition, 'etcdserver: too many learner members in cluster'),
  // request limits
  requestTooLarge: e('ERR_REQUEST_TOO_LARGE', C.InvalidArgument, 'etcdserver: request is too large'),
  tooManyRequests: e('ERR_TOO_MANY_REQUESTS', C.ResourceExhausted, 'etcdserver: too many requests'),
  // auth
  rootUserNotExist: e('ERR_ROOT_USER_NOT_EXIST', C.FailedPrecondition, 'etcdserver: root user does not exist'),
  rootRoleNotExist: e('ERR_ROOT_ROLE_NOT_EXIST', C.FailedPrecondition, 'etcdserver: root user does not have root role'),
  userAlreadyExist: e('ERR_USER_ALREADY_EXIST', C.FailedPrecondition, 'etcdserver: user name already exists'),
  userEmpty: e('ERR_USER_EMPTY', C.InvalidArgument, 'etcdserver: user name is empty'),
  userNotFound: e('ERR_USER_NOT_FOUND', C.FailedPrecondition, 'etcdserver: user name not found'),
  roleAlreadyExist: e('ERR_ROLE_ALREADY_EXIST', C.FailedPrecondition, 'etcdserver: role name already exists'),
  roleNotFound: e('ERR_ROLE_NOT_FOUND', C.FailedPrecondition, 'etcdserver: role name not found'),
  roleEmpty: e('ERR_ROLE_EMPTY', C.InvalidArgument, 'etcdserver: role name is empty'),
  authFailed: e('ERR_AUTH_FAILED', C.InvalidArgument, 'etcdserver: authentication failed, invalid user ID or password'),
  permissionDenied: e('ERR_PERMISSION_DENIED', C.PermissionDenied, 'etcdserver: permission denied'),
  roleNotGranted: e('ERR_ROLE_NOT_GRANTED', C.FailedPrecondition, 'etcdserver: role is not granted to the user'),
  permissionNotGranted: e('ERR_PERMISSION_NOT_GRANTED', C.FailedPrecondition, 'etcdserver: permission is not granted to the role'),
  authNotEnabled: e('ERR_AUTH_NOT_ENABLED', C.FailedPrecondition, 'etcdserver: authentication is not enabled'),
  invalidAuthToken: e('ERR_INVALID_AUTH_TOKEN', C.Unauthenticated, 'etcdserver: invalid auth token'),
  invalidAuthMgmt: e('ERR_INVALID_AUTH_MGMT', C.InvalidArgument, 'etcdserver: invalid auth management'),
  authOldRevision: e('ERR_AUTH_OLD_REVISION', C.InvalidArgument, 'etcdserver: revision of auth store is old'),
  // the server and the cluster
  noLeader: e('ERR_NO_LEADER', C.Unavailable, 'etcdserver: no leader'),
  notLeader: e('ERR_NOT_LEADER', C.FailedPrecondition, 'etcdserver: not leader'),
  leaderChanged: e('ERR_LEADER_CHANGED', C.Unavailable, 'etcdserver: leader changed'),
  notCapable: e('ERR_NOT_CAPABLE', C.Unavailable, 'etcdserver: not capable'),
  stopped: e('ERR_STOPPED', C.Unavailable, 'etcdserver: server stopped'),
  timeout: e('ERR_TIMEOUT', C.Unavailable, 'etcdserver: request timed out'),
  timeoutDueToLeaderFail: e('ERR_TIMEOUT_DUE_TO_LEADER_FAIL', C.Unavailable, 'etcdserver: request timed out, possibly due to previous leader failure'),
  timeoutDueToConnectionLost: e('ERR_TIMEOUT_DUE_TO_CONNECTION_LOST', C.Unavailable, 'etcdserver: request timed out, possibly due to connection lost'),
  timeoutWaitAppliedIndex: e('ERR_TIMEOUT_WAIT_APPLIED_INDEX', C.Unavailable, 'etcdserver: request timed out, waiting for the applied index took too long'),
  /** etcdserver.ErrTimeoutLeaderTransfer: not in v3rpc's translation table, so Unknown (togRPCError) */
  timeoutLeaderTransfer: e('ERR_TIMEOUT_LEADER_TRANSFER', C.Unknown, 'etcdserver: request timed out, leader transfer took too long'),
  unhealthy: e('ERR_UNHEALTHY', C.Unavailable, 'etcdserver: unhealthy cluster'),
  corrupt: e('ERR_CORRUPT', C.DataLoss, 'etcdserver: corrupt cluster'),
  notSupportedForLearner: e('ERR_NOT_SUPPORTED_FOR_LEARNER', C.Unavailable, 'etcdserver: rpc not supported for learner'),
  badLeaderTransferee: e('ERR_BAD_LEADER_TRANSFEREE', C.FailedPrecondition, 'etcdserver: bad leader transferee'),
  /** raft.ErrProposalDropped: no rpctypes entry, so Unknown with raft's text, as etcd's togRPCError */
  proposalDropped: e('ERR_PROPOSAL_DROPPED', C.Unknown, 'raft proposal dropped'),
  // watch creation errors travel in WatchResponse.cancel_reason, not as a gRPC status
  watcherEmptyRange: e('ERR_EMPTY_WATCHER_RANGE', C.InvalidArgument, 'mvcc: watcher range is empty'),
  watcherDuplicateId: e('ERR_WATCHER_DUPLICATE_ID', C.InvalidArgument, 'mvcc: duplicate watch ID provided on the WatchStream'),
  // the store (mvcc.ErrClosed; the second is tsetcd's: one write txn at a time)
  storeClosed: e('ERR_CLOSED', C.Unavailable, 'mvcc: closed'),
  txnInProgress: e('ERR_TXN_IN_PROGRESS', C.Unavailable, 'mvcc: a write txn is already open'),
  // the auth store's own text of four of the errors above: etcd 3.4's Maintenance admin check
  // answers with it untranslated (gRPC Unknown); same codes as the translated ones
  authStoreUserEmpty: e('ERR_USER_EMPTY', C.Unknown, 'auth: user name is empty'),
  authStoreUserNotFound: e('ERR_USER_NOT_FOUND', C.Unknown, 'auth: user not found'),
  authStorePermissionDenied: e('ERR_PERMISSION_DENIED', C.Unknown, 'auth: permission denied'),
  authStoreInvalidAuthToken: e('ERR_INVALID_AUTH_TOKEN', C.Unknown, 'auth: invalid auth token'),
  // CheckPassword's error for a user created with --no-password: not in rpctypes' table, so
  // Authenticate answers it untranslated
  authStoreNoPasswordUser: e('ERR_NO_PASSWORD_USER', C.Unknown, 'auth: authentication failed, password was given for no password user'),
  // mvcc's own text of compacted / future revision (a peer's /members/hashkv answer)
  mvccCompacted: e('ERR_COMPACTED', C.OutOfRange, 'mvcc: required revision has been compacted'),
  mvccFutureRev: e('ERR_FUTURE_REV', C.OutOfRange, 'mvcc: required revision is a future revision'),
  // concurrency (v3election / v3lock services)
  electionNoLeader: e('ERR_ELECTION_NO_LEADER', C.Unknown, 'election: no leader'),
  electionNotLeader: e('ERR_ELECTION_NOT_LEADER', C.Unknown, 'election: not leader'),
} as const satisfies Record<string, EtcdErrorKind>;

export type EtcdErrorName = keyof typeof EtcdError;

const byMessage = new Map<string, EtcdErrorName>(Object.entries(EtcdError).map(([name, kind]) => [kind.message, name as EtcdErrorName]));

/** Which of the table's errors a status message is (undefined: none). */
export function etcdErrorNameOf(message: string): EtcdErrorName | undefined {
  return byMessage.get(message);
}
