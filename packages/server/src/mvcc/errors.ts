// MVCC errors: classes (callers test with instanceof) over the shared table's entries, so the
// API layer answers with etcd's exact message and gRPC status.

import { EtcdError, type EtcdErrorKind, type GrpcCode } from '@tsetcd/common';

export class MvccError extends Error {
  readonly code: string;
  /** gRPC status code the API layer answers with */
  readonly grpcCode: GrpcCode;
  constructor(kind: EtcdErrorKind) {
    super(kind.message);
    this.name = 'MvccError';
    this.code = kind.code;
    this.grpcCode = kind.grpcCode;
  }
}

/** etcd rpctypes.ErrGRPCCompacted */
export class ErrCompacted extends MvccError {
  constructor() {
    super(EtcdError.compacted);
    this.name = 'ErrCompacted';
  }
}

/** etcd rpctypes.ErrGRPCFutureRev */
export class ErrFutureRev extends MvccError {
  constructor() {
    super(EtcdError.futureRev);
    this.name = 'ErrFutureRev';
  }
}

/** the store was closed (etcd mvcc.ErrClosed) */
export class ErrClosed extends MvccError {
  constructor() {
    super(EtcdError.storeClosed);
    this.name = 'ErrClosed';
  }
}

/** a second write txn was opened while one is still open */
export class ErrTxnInProgress extends MvccError {
  constructor() {
    super(EtcdError.txnInProgress);
    this.name = 'ErrTxnInProgress';
  }
}
