// clientv3/concurrency for TypeScript: Session, Mutex, Election (same keys as Go's).
export { Session, sessionTtlDefaultSeconds, type SessionOptions } from './session.js';
export { Mutex } from './mutex.js';
export { Election, ElectionObserver } from './election.js';
export { waitDelete, waitDeletes, WaitLostError } from './wait-deletes.js';
