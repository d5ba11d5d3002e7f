// Errors of the server core (etcdserver, apply, lease, watch). Each has a stable `code`; the
// message is etcd's text byte for byte, because Go's clientv3 maps the text back to typed errors.
// api/errors.ts turns them into gRPC statuses.

/** gRPC status codes used by etcd's v3 API (numeric values from grpc's codes package). */
export const GrpcCode = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

export class ServerError extends Error {
  readonly code: string;
  readonly grpcCode: number;
  constructor(code: string, grpcCode: number, message: string) {
    super(message);
    this.name = 'ServerError';
    this.code = code;
    this.grpcCode = grpcCode;
  }
}

function kind(code: string, grpcCode: number, message: string): () => ServerError {
  return () => new ServerError(code, grpcCode, message);
}

const C = GrpcCode;
/** Factories, one per etcd error (etcd 3.4 api/v3rpc/rpctypes names in comments where they differ). */
export const Errors = {
  emptyKey: kind('ERR_EMPTY_KEY', C.InvalidArgument, 'etcdserver: key is not provided'),
  keyNotFound: kind('ERR_KEY_NOT_FOUND', C.InvalidArgument, 'etcdserver: key not found'),
  valueProvided: kind('ERR_VALUE_PROVIDED', C.InvalidArgument, 'etcdserver: value is provided'),
  leaseProvided: kind('ERR_LEASE_PROVIDED', C.InvalidArgument, 'etcdserver: lease is provided'),
  tooManyOps: kind('ERR_TOO_MANY_OPS', C.InvalidArgument, 'etcdserver: too many operations in txn request'),
  duplicateKey: kind('ERR_DUPLICATE_KEY', C.InvalidArgument, 'etcdserver: duplicate key given in txn request'),
  compacted: kind('ERR_COMPACTED', C.OutOfRange, 'etcdserver: mvcc: required revision has been compacted'),
  futureRev: kind('ERR_FUTURE_REV', C.OutOfRange, 'etcdserver: mvcc: required revision is a future revision'),
  noSpace: kind('ERR_NO_SPACE', C.ResourceExhausted, 'etcdserver: mvcc: database space exceeded'),
  leaseNotFound: kind('ERR_LEASE_NOT_FOUND', C.NotFound, 'etcdserver: requested lease not found'),
  leaseExist: kind('ERR_LEASE_EXIST', C.FailedPrecondition, 'etcdserver: lease already exists'),
  leaseTtlTooLarge: kind('ERR_LEASE_TTL_TOO_LARGE', C.OutOfRange, 'etcdserver: too large lease TTL'),
  memberNotFound: kind('ERR_MEMBER_NOT_FOUND', C.NotFound, 'etcdserver: member not found'),
  requestTooLarge: kind('ERR_REQUEST_TOO_LARGE', C.InvalidArgument, 'etcdserver: request is too large'),
  tooManyRequests: kind('ERR_TOO_MANY_REQUESTS', C.ResourceExhausted, 'etcdserver: too many requests'),
  authNotEnabled: kind('ERR_AUTH_NOT_ENABLED', C.FailedPrecondition, 'etcdserver: authentication is not enabled'),
  rootUserNotExist: kind('ERR_ROOT_USER_NOT_EXIST', C.FailedPrecondition, 'etcdserver: root user does not exist'),
  rootRoleNotExist: kind('ERR_ROOT_ROLE_NOT_EXIST', C.FailedPrecondition, 'etcdserver: root user does not have root role'),
  userAlreadyExist: kind('ERR_USER_ALREADY_EXIST', C.FailedPrecondition, 'etcdserver: user name already exists'),
  userEmpty: kind('ERR_USER_EMPTY', C.InvalidArgument, 'etcdserver: user name is empty'),
  userNotFound: kind('ERR_USER_NOT_FOUND', C.FailedPrecondition, 'etcdserver: user name not found'),
  roleAlreadyExist: kind('ERR_ROLE_ALREADY_EXIST', C.FailedPrecondition, 'etcdserver: role name already exists'),
  roleNotFound: kind('ERR_ROLE_NOT_FOUND', C.FailedPrecondition, 'etcdserver: role name not found'),
  roleEmpty: kind('ERR_ROLE_EMPTY', C.InvalidArgument, 'etcdserver: role name is empty'),
  authFailed: kind('ERR_AUTH_FAILED', C.InvalidArgument, 'etcdserver: authentication failed, invalid user ID or password'),
  permissionDenied: kind('ERR_PERMISSION_DENIED', C.PermissionDenied, 'etcdserver: permission denied'),
  roleNotGranted: kind('ERR_ROLE_NOT_GRANTED', C.FailedPrecondition, 'etcdserver: role is not granted to the user'),
  permissionNotGranted: kind('ERR_PERMISSION_NOT_GRANTED', C.FailedPrecondition, 'etcdserver: permission is not granted to the role'),
  invalidAuthToken: kind('ERR_INVALID_AUTH_TOKEN', C.Unauthenticated, 'etcdserver: invalid auth token'),
  invalidAuthMgmt: kind('ERR_INVALID_AUTH_MGMT', C.InvalidArgument, 'etcdserver: invalid auth management'),
  authOldRevision: kind('ERR_AUTH_OLD_REVISION', C.InvalidArgument, 'etcdserver: revision of auth store is old'),
  noLeader: kind('ERR_NO_LEADER', C.Unavailable, 'etcdserver: no leader'),
  notLeader: kind('ERR_NOT_LEADER', C.FailedPrecondition, 'etcdserver: not leader'),
  leaderChanged: kind('ERR_LEADER_CHANGED', C.Unavailable, 'etcdserver: leader changed'),
  stopped: kind('ERR_STOPPED', C.Unavailable, 'etcdserver: server stopped'),
  timeout: kind('ERR_TIMEOUT', C.Unavailable, 'etcdserver: request timed out'),
  unhealthy: kind('ERR_UNHEALTHY', C.Unavailable, 'etcdserver: unhealthy cluster'),
  corrupt: kind('ERR_CORRUPT', C.DataLoss, 'etcdserver: corrupt cluster'),
  badLeaderTransferee: kind('ERR_BAD_LEADER_TRANSFEREE', C.FailedPrecondition, 'etcdserver: bad leader transferee'),
  // watch creation errors travel in WatchResponse.cancel_reason, not as a gRPC status
  watcherEmptyRange: kind('ERR_EMPTY_WATCHER_RANGE', C.InvalidArgument, 'mvcc: watcher range is empty'),
  watcherDuplicateId: kind('ERR_WATCHER_DUPLICATE_ID', C.InvalidArgument, 'mvcc: duplicate watch ID provided on the WatchStream'),
} as const;

export function isServerError(e: unknown, code?: string): e is ServerError {
  return e instanceof ServerError && (code === undefined || e.code === code);
}
