export { Backend, Buckets, defaultBatchIntervalMs, defaultBatchLimitOps } from './backend.js';
export type { BackendOptions } from './backend.js';
export { BackendError, BackendClosedError, BackendBusyError } from './errors.js';
export { setBackendFailpointHook } from './failpoints.js';
export type { FailpointName } from './failpoints.js';
