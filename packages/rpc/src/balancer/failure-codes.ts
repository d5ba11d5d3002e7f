// gRPC codes that count against a server (go-zero's zrpc codes.Acceptable says the rest
// are fine): DeadlineExceeded, Internal, Unavailable, DataLoss, Unimplemented,
// ResourceExhausted.
import { status } from '@grpc/grpc-js';

export const failureCodes: ReadonlySet<number> = new Set([
  status.DEADLINE_EXCEEDED,
  status.INTERNAL,
  status.UNAVAILABLE,
  status.DATA_LOSS,
  status.UNIMPLEMENTED,
  status.RESOURCE_EXHAUSTED,
]);

/** True if an error (or its gRPC code) should not be held against the callee. */
export function acceptable(err: unknown): boolean {
  if (err === null || err === undefined) return true;
  const e = err as { grpcCode?: unknown; code?: unknown };
  const code = typeof e.grpcCode === 'number' ? e.grpcCode : typeof e.code === 'number' ? e.code : status.UNKNOWN;
  return !failureCodes.has(code);
}
