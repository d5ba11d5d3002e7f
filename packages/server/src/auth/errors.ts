// Errors of auth configuration (start-up), with a stable code. Request-level auth errors are
// etcd's gRPC statuses in ../errors.ts (Errors.permissionDenied, Errors.invalidAuthToken, ...).

export class AuthOptionsError extends Error {
  readonly code = 'ERR_INVALID_AUTH_OPTIONS';
  constructor(message: string) {
    super(message);
    this.name = 'AuthOptionsError';
  }
}
