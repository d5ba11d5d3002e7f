export { Backend, Buckets, defaultBatchIntervalMs, defaultBatchLimitOps } from './backend.js';
export type { BackendOptions } from './backend.js';
export { BackendError, BackendClosedError, BackendBusyError } from './errors.js';
