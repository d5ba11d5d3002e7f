// The authenticated caller of the request being served, carried across awaits (AsyncLocalStorage)
// from the permission gate to the proposal, whose raft header then names it: the applier checks
// the caller's permissions again at apply time, against the auth revision the gate saw.
// Only set while auth is enabled; requests the server makes itself (lease expiry, publishing)
// carry no caller and are not checked.

import { AsyncLocalStorage } from 'node:async_hooks';

export interface Caller {
  user: string;
  /** the auth revision the caller's permissions were checked at */
  authRevision: bigint;
}

const callerStorage = new AsyncLocalStorage<Caller>();

export function runAsCaller<T>(caller: Caller | undefined, fn: () => T): T {
  return caller === undefined ? fn() : callerStorage.run(caller, fn);
}

export function currentCaller(): Caller | undefined {
  return callerStorage.getStore();
}
