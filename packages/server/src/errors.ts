// Errors of the server core (etcdserver, apply, lease, watch, membership). Each has a stable
// `code`; the message is etcd's text byte for byte, because Go's clientv3 maps the text back to
// typed errors. The codes, statuses and messages are @tsetcd/common's one table (etcd-errors.ts);
// api/errors.ts turns them into gRPC statuses.

import { EtcdError, GrpcCode, type EtcdErrorName } from '@tsetcd/common';

export { GrpcCode };

export class ServerError extends Error {
  readonly code: string;
  readonly grpcCode: GrpcCode;
  constructor(code: string, grpcCode: GrpcCode, message: string) {
    super(message);
    this.name = 'ServerError';
    this.code = code;
    this.grpcCode = grpcCode;
  }
}

/** Factories, one per entry of the shared table: `throw Errors.noLeader()`. */
export const Errors = Object.fromEntries(
  Object.entries(EtcdError).map(([name, kind]) => [name, () => new ServerError(kind.code, kind.grpcCode, kind.message)]),
) as { readonly [K in EtcdErrorName]: () => ServerError };

export function isServerError(e: unknown, code?: string): e is ServerError {
  return e instanceof ServerError && (code === undefined || e.code === code);
}
