// Failpoint call sites of the backend. The failpoint registry lives in ../failpoint (owned by
// the WAL engineer). Until it is wired in, this hook is a no-op that tests may replace.
// TODO(failpoint): import { failpoint } from '../failpoint/index.js' once that module exists.

export type FailpointName = 'backendBeforeCommit' | 'backendAfterCommit' | 'defragDuring';

let hook: ((name: FailpointName) => void) | undefined;

/** Installs a hook run at every backend failpoint (tests); undefined removes it. */
export function setBackendFailpointHook(fn: ((name: FailpointName) => void) | undefined): void {
  hook = fn;
}

export function backendFailpoint(name: FailpointName): void {
  if (hook !== undefined) hook(name);
}
