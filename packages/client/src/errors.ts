// Every error the client throws. Each class has a stable `code` (never reworded) so callers can
// branch without string matching. Server errors keep etcd's exact message and gRPC status code;
// the messages come from @tsetcd/common's table (etcd 3.4 api/v3rpc/rpctypes), message text -> class.
import type { ServiceError } from '@grpc/grpc-js';
import { EtcdError, GrpcCode, type EtcdErrorName } from '@tsetcd/common';

/** Base class of everything thrown by @tsetcd/client. */
export class EtcdClientError extends Error {
  readonly code: string = 'ETCD_ERR_CLIENT';
  /** gRPC status code of the failed call, when there was one. */
  readonly grpcCode: number | undefined;
  constructor(message: string, options?: { grpcCode?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.grpcCode = options?.grpcCode;
  }
}

/** An error reported by the etcd server (one of rpctypes' known messages). */
export class EtcdServerError extends EtcdClientError {
  override readonly code: string = 'ETCD_ERR_SERVER';
}

// ---- client-side errors --------------------------------------------------------------------

/** No endpoint became reachable within the dial timeout, or the connection broke mid-call. */
export class UnavailableError extends EtcdClientError {
  override readonly code: string = 'ETCD_ERR_UNAVAILABLE';
}
/** The call's deadline (timeout option or AbortSignal timeout) passed. */
export class DeadlineExceededError extends EtcdClientError {
  override readonly code: string = 'ETCD_ERR_DEADLINE_EXCEEDED';
}
/** The call was cancelled through its AbortSignal. */
export class CanceledError extends EtcdClientError {
  override readonly code: string = 'ETCD_ERR_CANCELED';
}
/** The client was closed while the operation was pending (or before it started). */
export class ClientClosedError extends EtcdClientError {
  override readonly code: string = 'ETCD_ERR_CLIENT_CLOSED';
  constructor(message = 'client is closed') {
    super(message);
  }
}
/** Bad arguments given to a client method (detected before anything is sent). */
export class InvalidArgumentError extends EtcdClientError {
  override readonly code: string = 'ETCD_ERR_INVALID_ARGUMENT';
}
/** Any other gRPC failure that is not one of etcd's known messages. */
export class GrpcError extends EtcdClientError {
  override readonly code: string = 'ETCD_ERR_GRPC';
}
/** The server canceled a watch for a reason other than compaction. */
export class WatchCanceledError extends EtcdClientError {
  override readonly code: string = 'ETCD_ERR_WATCH_CANCELED';
}
/** A kept-alive lease expired or was revoked; its keys are gone. */
export class LeaseLostError extends EtcdClientError {
  override readonly code: string = 'ETCD_ERR_LEASE_LOST';
  readonly leaseId: bigint;
  constructor(leaseId: bigint, reason: string) {
    super(`lease ${leaseId.toString(16)} lost: ${reason}`);
    this.leaseId = leaseId;
  }
}
/** concurrency.Election: this campaigner is not (or no longer) the leader. Text from etcd. */
export class ElectionNotLeaderError extends EtcdClientError {
  override readonly code: string = 'ETCD_ERR_ELECTION_NOT_LEADER';
  constructor() {
    super(EtcdError.electionNotLeader.message);
  }
}
/** concurrency.Election: nobody holds the election. Text from etcd. */
export class ElectionNoLeaderError extends EtcdClientError {
  override readonly code: string = 'ETCD_ERR_ELECTION_NO_LEADER';
  constructor() {
    super(EtcdError.electionNoLeader.message);
  }
}
/** concurrency: the session's lease expired, so the lock or leadership it backed is gone. */
export class SessionExpiredError extends EtcdClientError {
  override readonly code: string = 'ETCD_ERR_SESSION_EXPIRED';
}

// ---- server errors (etcd rpctypes) --------------------------------------------------------------

export class EmptyKeyError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_EMPTY_KEY'; }
export class KeyNotFoundError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_KEY_NOT_FOUND'; }
export class ValueProvidedError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_VALUE_PROVIDED'; }
export class LeaseProvidedError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_LEASE_PROVIDED'; }
export class TooManyOpsError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_TOO_MANY_OPS'; }
export class DuplicateKeyError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_DUPLICATE_KEY'; }
/** The requested revision was compacted. `compactRevision` is set when the server told it (watch). */
export class CompactedError extends EtcdServerError {
  override readonly code: string = 'ETCD_ERR_COMPACTED';
  compactRevision: bigint | undefined;
}
export class FutureRevisionError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_FUTURE_REV'; }
export class NoSpaceError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_NO_SPACE'; }
export class LeaseNotFoundError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_LEASE_NOT_FOUND'; }
export class LeaseExistError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_LEASE_EXIST'; }
export class LeaseTTLTooLargeError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_LEASE_TTL_TOO_LARGE'; }
export class MemberExistError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_MEMBER_EXIST'; }
export class PeerURLExistError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_PEER_URL_EXIST'; }
export class MemberNotEnoughStartedError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_MEMBER_NOT_ENOUGH_STARTED'; }
export class MemberBadURLsError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_MEMBER_BAD_URLS'; }
export class MemberNotFoundError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_MEMBER_NOT_FOUND'; }
export class MemberNotLearnerError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_MEMBER_NOT_LEARNER'; }
export class LearnerNotReadyError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_LEARNER_NOT_READY'; }
export class TooManyLearnersError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_TOO_MANY_LEARNERS'; }
export class RequestTooLargeError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_REQUEST_TOO_LARGE'; }
export class TooManyRequestsError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_TOO_MANY_REQUESTS'; }
export class RootUserNotExistError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_ROOT_USER_NOT_EXIST'; }
export class RootRoleNotExistError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_ROOT_ROLE_NOT_EXIST'; }
export class UserAlreadyExistError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_USER_ALREADY_EXIST'; }
export class UserEmptyError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_USER_EMPTY'; }
export class UserNotFoundError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_USER_NOT_FOUND'; }
export class RoleAlreadyExistError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_ROLE_ALREADY_EXIST'; }
export class RoleNotFoundError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_ROLE_NOT_FOUND'; }
export class RoleEmptyError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_ROLE_EMPTY'; }
export class AuthFailedError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_AUTH_FAILED'; }
export class PermissionDeniedError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_PERMISSION_DENIED'; }
export class RoleNotGrantedError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_ROLE_NOT_GRANTED'; }
export class PermissionNotGrantedError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_PERMISSION_NOT_GRANTED'; }
export class AuthNotEnabledError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_AUTH_NOT_ENABLED'; }
export class InvalidAuthTokenError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_INVALID_AUTH_TOKEN'; }
export class InvalidAuthMgmtError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_INVALID_AUTH_MGMT'; }
export class NoLeaderError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_NO_LEADER'; }
export class NotLeaderError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_NOT_LEADER'; }
export class LeaderChangedError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_LEADER_CHANGED'; }
export class NotCapableError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_NOT_CAPABLE'; }
export class StoppedError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_STOPPED'; }
export class TimeoutError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_TIMEOUT'; }
export class TimeoutDueToLeaderFailError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_TIMEOUT_DUE_TO_LEADER_FAIL'; }
export class TimeoutDueToConnectionLostError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_TIMEOUT_DUE_TO_CONNECTION_LOST'; }
export class UnhealthyError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_UNHEALTHY'; }
export class CorruptError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_CORRUPT'; }
export class NotSupportedForLearnerError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_NOT_SUPPORTED_FOR_LEARNER'; }
export class BadLeaderTransfereeError extends EtcdServerError { override readonly code: string = 'ETCD_ERR_BAD_LEADER_TRANSFEREE'; }

type ServerErrorClass = new (message: string, options?: { grpcCode?: number; cause?: unknown }) => EtcdServerError;

/** The table's errors this client has a class for (etcd 3.4 rpctypes; messages in @tsetcd/common). */
const serverErrorClasses: { readonly [K in EtcdErrorName]?: ServerErrorClass } = {
  emptyKey: EmptyKeyError,
  keyNotFound: KeyNotFoundError,
  valueProvided: ValueProvidedError,
  leaseProvided: LeaseProvidedError,
  tooManyOps: TooManyOpsError,
  duplicateKey: DuplicateKeyError,
  compacted: CompactedError,
  futureRev: FutureRevisionError,
  noSpace: NoSpaceError,
  leaseNotFound: LeaseNotFoundError,
  leaseExist: LeaseExistError,
  leaseTtlTooLarge: LeaseTTLTooLargeError,
  memberExist: MemberExistError,
  peerUrlExist: PeerURLExistError,
  memberNotEnoughStarted: MemberNotEnoughStartedError,
  memberBadUrls: MemberBadURLsError,
  memberNotFound: MemberNotFoundError,
  memberNotLearner: MemberNotLearnerError,
  learnerNotReady: LearnerNotReadyError,
  tooManyLearners: TooManyLearnersError,
  requestTooLarge: RequestTooLargeError,
  tooManyRequests: TooManyRequestsError,
  rootUserNotExist: RootUserNotExistError,
  rootRoleNotExist: RootRoleNotExistError,
  userAlreadyExist: UserAlreadyExistError,
  userEmpty: UserEmptyError,
  userNotFound: UserNotFoundError,
  roleAlreadyExist: RoleAlreadyExistError,
  roleNotFound: RoleNotFoundError,
  roleEmpty: RoleEmptyError,
  authFailed: AuthFailedError,
  permissionDenied: PermissionDeniedError,
  roleNotGranted: RoleNotGrantedError,
  permissionNotGranted: PermissionNotGrantedError,
  authNotEnabled: AuthNotEnabledError,
  invalidAuthToken: InvalidAuthTokenError,
  invalidAuthMgmt: InvalidAuthMgmtError,
  noLeader: NoLeaderError,
  notLeader: NotLeaderError,
  leaderChanged: LeaderChangedError,
  notCapable: NotCapableError,
  stopped: StoppedError,
  timeout: TimeoutError,
  timeoutDueToLeaderFail: TimeoutDueToLeaderFailError,
  timeoutDueToConnectionLost: TimeoutDueToConnectionLostError,
  unhealthy: UnhealthyError,
  corrupt: CorruptError,
  notSupportedForLearner: NotSupportedForLearnerError,
  badLeaderTransferee: BadLeaderTransfereeError,
};

/** etcd's exact error message -> class. */
const serverErrorsByMessage: ReadonlyMap<string, ServerErrorClass> = new Map(
  Object.entries(serverErrorClasses).map(([name, cls]) => [EtcdError[name as EtcdErrorName].message, cls]),
);

/** Builds the typed server error for one of etcd's messages, or undefined if it is not one. */
export function serverErrorFromMessage(message: string, grpcCode?: number): EtcdServerError | undefined {
  const cls = serverErrorsByMessage.get(message);
  return cls === undefined ? undefined : new cls(message, { grpcCode });
}

/** Texts grpc-js uses when a call failed before any byte of it reached the server. */
const notSentDetails = [
  'No connection established',
  'Channel closed before call started',
  'Failed to start HTTP/2 stream',
  'Stream refused by server',
  'failed to connect',
];

/** True when the gRPC failure proves the request never reached a server (safe to resend a write). */
export function isNeverSent(err: unknown): boolean {
  const e = err as { cause?: unknown; grpcCode?: number; code?: unknown; details?: string; message?: string };
  if (err instanceof EtcdClientError && err.cause !== undefined) return isNeverSent(err.cause);
  if (e === null || typeof e !== 'object' || e.code !== GrpcCode.Unavailable) return false;
  const text = typeof e.details === 'string' ? e.details : String(e.message ?? '');
  return notSentDetails.some((t) => text.includes(t));
}

/** Converts a grpc-js ServiceError (or anything thrown by a call) into a typed client error. */
export function toClientError(err: unknown): EtcdClientError {
  if (err instanceof EtcdClientError) return err;
  const se = err as Partial<ServiceError> | null;
  if (se === null || typeof se !== 'object' || typeof se.code !== 'number') {
    return new EtcdClientError(String((err as Error | undefined)?.message ?? err), { cause: err });
  }
  const details = se.details ?? se.message ?? '';
  const known = serverErrorsByMessage.get(details);
  if (known !== undefined) return new known(details, { grpcCode: se.code, cause: err });
  switch (se.code) {
    case GrpcCode.Unavailable:
      return new UnavailableError(details === '' ? 'unavailable' : details, { grpcCode: se.code, cause: err });
    case GrpcCode.DeadlineExceeded:
      return new DeadlineExceededError(details === '' ? 'context deadline exceeded' : details, { grpcCode: se.code, cause: err });
    case GrpcCode.Canceled:
      return new CanceledError(details === '' ? 'context canceled' : details, { grpcCode: se.code, cause: err });
    default:
      return new GrpcError(details, { grpcCode: se.code, cause: err });
  }
}

/** Server-side "try again elsewhere" errors that are safe to retry for reads. */
export function isRetryableForReads(err: EtcdClientError): boolean {
  return (
    err instanceof UnavailableError ||
    err instanceof NoLeaderError ||
    err instanceof LeaderChangedError ||
    err instanceof NotCapableError ||
    err instanceof StoppedError ||
    err instanceof NotSupportedForLearnerError ||
    err instanceof TimeoutDueToConnectionLostError ||
    err instanceof TimeoutDueToLeaderFailError ||
    err instanceof TimeoutError
  );
}
