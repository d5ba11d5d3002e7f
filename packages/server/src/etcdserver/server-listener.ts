// What other parts of a member hear from its EtcdServer. Listeners are given to
// EtcdServer.start() or added with addListener() by parts built after it (the cluster layer,
// metrics); each may listen to any subset, and any number may listen.

import type { ConfChange } from '@tsetcd/raft';

export interface ServerListener {
  /** after each applied ConfChange (an UpdateNode for node 0 after a snapshot install: resync) */
  confChangeApplied?(cc: ConfChange): void;
  /** once, if the raft loop fails (WAL write error, broken invariant); the server closes itself */
  fatal?(e: Error): void;
  /** seconds each WAL fsync took */
  walFsync?(seconds: number): void;
  /** seconds each backend batch commit took */
  backendCommit?(seconds: number): void;
}

/** The listeners of one server. */
export class ServerListeners {
  private readonly all = new Set<ServerListener>();

  /** Adds `l`; returns a function that removes it. */
  add(l: ServerListener): () => void {
    this.all.add(l);
    return () => this.all.delete(l);
  }

  confChangeApplied(cc: ConfChange): void {
    for (const l of this.all) l.confChangeApplied?.(cc);
  }

  fatal(e: Error): void {
    for (const l of this.all) l.fatal?.(e);
  }

  walFsync(seconds: number): void {
    for (const l of this.all) l.walFsync?.(seconds);
  }

  backendCommit(seconds: number): void {
    for (const l of this.all) l.backendCommit?.(seconds);
  }
}
