// The one table from domain errors to gRPC statuses. Server, MVCC and lease errors already carry
// etcd's status code and exact message (see ../errors.ts, ../mvcc/errors.ts); anything else is an
// Unknown status with the error's text, as etcd's togRPCError does.

import { GrpcError } from '../grpc/index.js';
import { GrpcCode } from '../errors.js';

export function toGrpcError(e: unknown): GrpcError {
  if (e instanceof GrpcError) return e;
  if (e instanceof Error) {
    const code = (e as { grpcCode?: unknown }).grpcCode;
    if (typeof code === 'number' && code > 0) return new GrpcError(code, e.message);
    return new GrpcError(GrpcCode.Unknown, e.message);
  }
  return new GrpcError(GrpcCode.Unknown, String(e));
}

/** Wraps a handler so every thrown domain error leaves as etcd's gRPC status. */
export function grpcErrors<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (e) {
      throw toGrpcError(e);
    }
  };
}

export function isLockElectionPath(grpcPath: string): boolean {
  return grpcPath.startsWith('/v3lockpb.') || grpcPath.startsWith('/v3electionpb.');
}

/**
 * Errors of the v3lock and v3election services. etcd serves them through an in-process clientv3,
 * which turns every etcd status it gets back from KV, Lease or the auth checks into a typed error
 * without a gRPC status: the caller sees Unknown with etcd's text ("etcdserver: invalid auth
 * token", "etcdserver: requested lease not found"). Statuses raised by the services themselves
 * keep their code.
 */
export function toLockElectionError(e: unknown): GrpcError {
  if (e instanceof GrpcError) return e;
  const g = toGrpcError(e);
  return g.code === GrpcCode.Unknown ? g : new GrpcError(GrpcCode.Unknown, g.message);
}
