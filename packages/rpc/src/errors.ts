// Every error this package throws on purpose. Each class has a stable `code` so callers
// can branch without matching on messages. gRPC-facing rejections carry the gRPC status
// and the exact message go-zero uses, so clients written for go-zero see the same thing.
import { status as GrpcStatus, type Metadata } from '@grpc/grpc-js';

export class RpcError extends Error {
  readonly code: string = 'RPC_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A config file or object that does not validate; names the field and the reason. */
export class ConfigError extends RpcError {
  override readonly code = 'RPC_CONFIG_INVALID';
  constructor(
    readonly field: string,
    readonly reason: string,
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ''}${field}: ${reason}`);
  }
}

/** The etcd-backed registry could not complete an operation. */
export class RegistryError extends RpcError {
  override readonly code: string = 'RPC_REGISTRY';
}

/** The registry was closed while an operation was pending. */
export class RegistryClosedError extends RegistryError {
  override readonly code = 'RPC_REGISTRY_CLOSED';
  constructor() {
    super('registry closed');
  }
}

/** A watch was cancelled by etcd because its start revision was compacted. */
export class WatchCompactedError extends RegistryError {
  override readonly code = 'RPC_WATCH_COMPACTED';
  constructor(readonly compactRevision: bigint) {
    super(`watch compacted at revision ${compactRevision}`);
  }
}

/** A gRPC status error: what interceptors throw and handlers may throw to pick the status. */
export class StatusError extends RpcError {
  override readonly code: string = 'RPC_STATUS';
  readonly details: string;
  constructor(
    readonly grpcCode: GrpcStatus,
    details: string,
    readonly metadata?: Metadata,
  ) {
    super(details);
    this.details = details;
  }
}

/** UNAVAILABLE "circuit breaker is open" (go-zero's breaker.ErrServiceUnavailable). */
export class BreakerOpenError extends StatusError {
  override readonly code = 'RPC_BREAKER_OPEN';
  constructor() {
    super(GrpcStatus.UNAVAILABLE, 'circuit breaker is open');
  }
}

/** RESOURCE_EXHAUSTED "service overloaded" (go-zero's load.ErrServiceOverloaded). */
export class OverloadedError extends StatusError {
  override readonly code = 'RPC_OVERLOADED';
  constructor() {
    super(GrpcStatus.RESOURCE_EXHAUSTED, 'service overloaded');
  }
}

/** DEADLINE_EXCEEDED "context deadline exceeded" (Go's context.DeadlineExceeded text). */
export class TimeoutError extends StatusError {
  override readonly code = 'RPC_TIMEOUT';
  constructor() {
    super(GrpcStatus.DEADLINE_EXCEEDED, 'context deadline exceeded');
  }
}

/** UNAUTHENTICATED from the app/token auth interceptor. */
export class AuthError extends StatusError {
  override readonly code = 'RPC_UNAUTHENTICATED';
  constructor(details: string) {
    super(GrpcStatus.UNAUTHENTICATED, details);
  }
}

/** A rate limiter refused the request. */
export class RateLimitedError extends StatusError {
  override readonly code = 'RPC_RATE_LIMITED';
  constructor() {
    super(GrpcStatus.RESOURCE_EXHAUSTED, 'rate limit exceeded');
  }
}

/** Server lifecycle misuse (start twice, addService after start, ...). */
export class ServerStateError extends RpcError {
  override readonly code = 'RPC_SERVER_STATE';
}

/** Turns anything thrown into a gRPC status object. Non-status errors become INTERNAL. */
export function toStatus(err: unknown): { code: GrpcStatus; details: string; metadata?: Metadata } {
  if (err instanceof StatusError) return { code: err.grpcCode, details: err.details, metadata: err.metadata };
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  if (e && typeof e.code === 'number' && e.code >= 0 && e.code <= 16) {
    return { code: e.code as GrpcStatus, details: typeof e.details === 'string' ? e.details : String(e.message ?? '') };
  }
  return { code: GrpcStatus.INTERNAL, details: e && typeof e.message === 'string' ? e.message : String(err) };
}
