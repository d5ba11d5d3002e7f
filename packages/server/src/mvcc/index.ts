export { MvccStore, defaultCompactionBatchKeys } from './store.js';
export type { MvccStoreOptions, HashKVResult } from './store.js';
export { MvccError, ErrCompacted, ErrFutureRev, ErrClosed, ErrTxnInProgress } from './errors.js';
export * from './types.js';
