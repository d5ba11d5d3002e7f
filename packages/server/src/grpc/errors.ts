// Errors of the gRPC transport. A handler throws a GrpcError to end its call with that
// status; anything else it throws ends the call with Unknown and the error's message. The codes
// are @tsetcd/common's GrpcCode.

import { GrpcCode } from '@tsetcd/common';

export { GrpcCode };

const maxStatusCode = GrpcCode.Unauthenticated; // the highest code

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
    if (typeof e.message === 'string') return { code: GrpcCode.Unknown, message: e.message };
  }
  return { code: GrpcCode.Unknown, message: String(err) };
}

/** The transport was used wrongly (registering a path twice, listening twice, bad URL...). */
export class TransportUsageError extends Error {
  override readonly name = 'TransportUsageError';
  readonly code = 'TSETCD_TRANSPORT_USAGE';
}
