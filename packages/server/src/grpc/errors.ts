// Errors of the gRPC transport. A handler throws a GrpcError to end its call with that
// status; anything else it throws ends the call with UNKNOWN and the error's message.

/** gRPC status codes (google.golang.org/grpc/codes). The numbers are wire values. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

const maxStatusCode = 16;

/** A gRPC status a handler wants the client to see. `code` is the numeric wire status. */
export class GrpcError extends Error {
  override readonly name = 'GrpcError';
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    if (!Number.isInteger(code) || code < 1 || code > maxStatusCode) {
      throw new RangeError(`GrpcError: status code ${code} is not a gRPC error code (1..${maxStatusCode})`);
    }
    this.code = code;
  }
}

/** Status and message a failed call ends with, for any thrown value. */
export function statusOf(err: unknown): { code: number; message: string } {
  if (err instanceof GrpcError) return { code: err.code, message: err.message };
  // Errors shaped like @grpc/grpc-js ServiceError ({ code, details }) keep their status,
  // so a handler that proxies another gRPC call can rethrow what it got.
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; details?: unknown; message?: unknown };
    if (typeof e.code === 'number' && Number.isInteger(e.code) && e.code >= 1 && e.code <= maxStatusCode &&
        typeof e.details === 'string') {
      return { code: e.code, message: e.details };
    }
    if (typeof e.message === 'string') return { code: GrpcStatus.UNKNOWN, message: e.message };
  }
  return { code: GrpcStatus.UNKNOWN, message: String(err) };
}

/** The transport was used wrongly (registering a path twice, listening twice, bad URL...). */
export class TransportUsageError extends Error {
  override readonly name = 'TransportUsageError';
  readonly code = 'TSETCD_TRANSPORT_USAGE';
}
