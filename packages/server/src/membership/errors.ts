// Errors of cluster membership: bootstrap problems (refuse to start) and the Cluster API's
// errors with etcd's exact text and gRPC codes (rpctypes).

import { GrpcCode, ServerError } from '../errors.js';

export class BootstrapError extends Error {
  readonly code = 'ERR_CLUSTER_BOOTSTRAP';
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapError';
  }
}

const kind = (code: string, grpcCode: number, message: string) => (): ServerError => new ServerError(code, grpcCode, message);

export const MemberErrors = {
  memberExists: kind('ERR_MEMBER_EXIST', GrpcCode.FailedPrecondition, 'etcdserver: member ID already exist'),
  peerUrlExists: kind('ERR_PEER_URL_EXIST', GrpcCode.FailedPrecondition, 'etcdserver: Peer URLs already exists'),
  notEnoughStarted: kind('ERR_MEMBER_NOT_ENOUGH_STARTED', GrpcCode.FailedPrecondition, 'etcdserver: re-configuration failed due to not enough started members'),
  badUrls: kind('ERR_MEMBER_BAD_URLS', GrpcCode.InvalidArgument, 'etcdserver: given member URLs are invalid'),
  notFound: kind('ERR_MEMBER_NOT_FOUND', GrpcCode.NotFound, 'etcdserver: member not found'),
  notLearner: kind('ERR_MEMBER_NOT_LEARNER', GrpcCode.FailedPrecondition, 'etcdserver: can only promote a learner member'),
  learnerNotReady: kind('ERR_LEARNER_NOT_READY', GrpcCode.FailedPrecondition, 'etcdserver: can only promote a learner member which is in sync with leader'),
  tooManyLearners: kind('ERR_TOO_MANY_LEARNERS', GrpcCode.FailedPrecondition, 'etcdserver: too many learner members in cluster'),
  unhealthy: kind('ERR_UNHEALTHY', GrpcCode.Unavailable, 'etcdserver: unhealthy cluster'),
  notLeader: kind('ERR_NOT_LEADER', GrpcCode.FailedPrecondition, 'etcdserver: not leader'),
  noLeader: kind('ERR_NO_LEADER', GrpcCode.Unavailable, 'etcdserver: no leader'),
  timeout: kind('ERR_TIMEOUT', GrpcCode.Unavailable, 'etcdserver: request timed out'),
  leaderChanged: kind('ERR_LEADER_CHANGED', GrpcCode.Unavailable, 'etcdserver: leader changed'),
} as const;
