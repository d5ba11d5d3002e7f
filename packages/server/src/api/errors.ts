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
