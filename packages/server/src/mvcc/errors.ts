// MVCC errors with etcd's exact client-visible messages and gRPC status codes.

/** gRPC status codes used here (numeric, to keep this module free of grpc-js). */
export const GrpcCode = { OUT_OF_RANGE: 11, UNAVAILABLE: 14, INVALID_ARGUMENT: 3 } as const;

export class MvccError extends Error {
  readonly code: string;
  /** gRPC status code the API layer answers with */
  readonly grpcCode: number;
  constructor(code: string, grpcCode: number, message: string) {
    super(message);
    this.name = 'MvccError';
    this.code = code;
    this.grpcCode = grpcCode;
  }
}

/** etcd rpctypes.ErrGRPCCompacted */
export class ErrCompacted extends MvccError {
  constructor() {
    super('ERR_COMPACTED', GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');
    this.name = 'ErrCompacted';
  }
}

/** etcd rpctypes.ErrGRPCFutureRev */
export class ErrFutureRev extends MvccError {
  constructor() {
    super('ERR_FUTURE_REV', GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision');
    this.name = 'ErrFutureRev';
  }
}

/** the store was closed (etcd mvcc.ErrClosed) */
export class ErrClosed extends MvccError {
  constructor() {
    super('ERR_CLOSED', GrpcCode.UNAVAILABLE, 'mvcc: closed');
    this.name = 'ErrClosed';
  }
}

/** a second write txn was opened while one is still open */
export class ErrTxnInProgress extends MvccError {
  constructor() {
    super('ERR_TXN_IN_PROGRESS', GrpcCode.UNAVAILABLE, 'mvcc: a write txn is already open');
    this.name = 'ErrTxnInProgress';
  }
}
