// The watch hub: every applied revision's events pass through here on their way to watchers.
// A watcher is only a position (the next revision it needs); streams pull events for their
// watchers from a ring of recent revisions, or from MVCC history when a watcher fell behind the
// ring (slow reader, or a start revision in the past). Nothing is dropped: a stream that cannot
// write (HTTP/2 back-pressure) simply stops pulling until it drains and resumes where it was.

import type { MvccStore } from '../mvcc/store.js';
import type { MvccEvent } from '../mvcc/types.js';
import type { WatchStream } from './watch-stream.js';

/** Revisions kept in memory for watchers that are (nearly) caught up. */
export const recentRevisionsLimit = 4096;
/** Events kept in memory at most (the ring is trimmed by whichever limit is hit first). */
export const recentEventsLimit = 65536;
/** Bytes of keys and values kept in memory at most. */
export const recentBytesLimit = 64 * 1024 * 1024;
/** etcd's default progress notification interval for watchers with progress_notify. */
export const defaultProgressNotifyIntervalMs = 10 * 60 * 1000;

function bytesOf(events: MvccEvent[]): number {
  let n = 0;
  for (const e of events) n += e.kv.key.length + e.kv.value.length + (e.prevKv ? e.prevKv.value.length : 0);
  return n;
}

export interface RevisionEvents {
  revision: bigint;
  events: MvccEvent[];
}

const resolved = Promise.resolve();

export interface WatchHubOptions {
  store: MvccStore;
  progressNotifyIntervalMs?: number;
}

export class WatchHub {
  readonly store: MvccStore;
  readonly progressNotifyIntervalMs: number;
  /** Recent revisions, oldest at ringHead (entries before it are trimmed; compacted now and then). */
  private ring: RevisionEvents[] = [];
  private ringHead = 0;
  private ringEvents = 0;
  private ringBytes = 0;
  private readonly streams = new Set<WatchStream>();
  private pumpScheduled = false;
  private progressTimer: NodeJS.Timeout | undefined;

  constructor(opts: WatchHubOptions) {
    this.store = opts.store;
    this.progressNotifyIntervalMs = opts.progressNotifyIntervalMs ?? defaultProgressNotifyIntervalMs;
    if (!(this.progressNotifyIntervalMs > 0)) throw new Error('watch: progressNotifyIntervalMs must be positive');
    this.progressTimer = setInterval(() => {
      for (const s of this.streams) s.safeProgressNotify();
    }, this.progressNotifyIntervalMs);
    this.progressTimer.unref();
  }

  /** Called by the applier after each revision that changed something. */
  notify(revision: bigint, events: MvccEvent[]): void {
    const last = this.ring.length > this.ringHead ? this.ring[this.ring.length - 1].revision : undefined;
    if (last !== undefined && revision !== last + 1n) {
      // a gap (e.g. a restored snapshot): the ring restarts; older revisions come from history
      this.ring = [];
      this.ringHead = 0;
      this.ringEvents = 0;
      this.ringBytes = 0;
    }
    this.ring.push({ revision, events });
    this.ringEvents += events.length;
    this.ringBytes += bytesOf(events);
    while (
      this.ring.length - this.ringHead > recentRevisionsLimit ||
      ((this.ringEvents > recentEventsLimit || this.ringBytes > recentBytesLimit) && this.ring.length - this.ringHead > 1)
    ) {
      const old = this.ring[this.ringHead];
      this.ring[this.ringHead++] = undefined as unknown as RevisionEvents;
      this.ringEvents -= old.events.length;
      this.ringBytes -= bytesOf(old.events);
    }
    if (this.ringHead >= recentRevisionsLimit) {
      this.ring = this.ring.slice(this.ringHead);
      this.ringHead = 0;
    }
    this.schedulePump();
  }

  /** Revisions [from, ...] available in memory, or undefined if `from` is older than the ring. */
  recent(from: bigint): RevisionEvents[] | undefined {
    const size = this.ring.length - this.ringHead;
    if (size === 0) return from > this.store.currentRevision() ? [] : undefined;
    const first = this.ring[this.ringHead].revision;
    if (from < first) return undefined;
    const i = Number(from - first);
    return i >= size ? [] : this.ring.slice(this.ringHead + i);
  }

  currentRevision(): bigint {
    return this.store.currentRevision();
  }

  compactRevision(): bigint {
    return this.store.compactRevision();
  }

  add(s: WatchStream): void {
    this.streams.add(s);
  }

  remove(s: WatchStream): void {
    this.streams.delete(s);
  }

  schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // right after the current job (an apply batch notifies synchronously, so its revisions still
    // go out together), not after every other callback of this loop turn as setImmediate would;
    // through a resolved promise: Node's queueMicrotask builds an AsyncResource per call
    resolved.then(this.pump);
  }

  private readonly pump = (): void => {
    this.pumpScheduled = false;
    for (const s of this.streams) s.safePump();
  };

  /** Open watch streams (etcd_debugging_mvcc_watch_stream_total). */
  streamCount(): number {
    return this.streams.size;
  }

  /** Watchers currently registered, over all streams. */
  watcherCount(): number {
    let n = 0;
    for (const s of this.streams) n += s.size;
    return n;
  }

  close(): void {
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.progressTimer = undefined;
    for (const s of [...this.streams]) s.close();
    this.streams.clear();
  }
}
