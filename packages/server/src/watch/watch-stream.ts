// One client watch stream (etcd's serverWatchStream + watchStream): many watchers, each a key
// range and the next revision it needs. Responses follow etcd 3.4's v3rpc/watch.go shapes.

import { etcdserverpb, mvccpb } from '@tsetcd/proto';
import { Errors } from '../errors.js';
import { EventType, type KeyValue, type MvccEvent } from '../mvcc/types.js';
import type { WatchHub } from './watch-hub.js';

type WatchResponse = etcdserverpb.WatchResponse;
const FilterType = etcdserverpb.WatchCreateRequest_FilterType;

/** Events read from MVCC history per catch-up step. */
export const historyChunkEvents = 1000;

export interface Watcher {
  id: bigint;
  key: Buffer;
  /** undefined: single key; empty: every key >= key; else [key, rangeEnd) */
  rangeEnd: Buffer | undefined;
  nextRev: bigint;
  prevKv: boolean;
  noPut: boolean;
  noDelete: boolean;
  progressNotify: boolean;
  fragment: boolean;
  /** started in the past and not caught up yet (etcd's "unsynced" watcher) */
  catchingUp: boolean;
}

export interface WatchStreamOptions {
  hub: WatchHub;
  /** writes one response; false means "buffer full, wait for drain()" */
  send: (resp: WatchResponse) => boolean;
  drained: () => Promise<void>;
  header: (revision: bigint) => etcdserverpb.ResponseHeader;
  /** fragments of a fragmenting watcher stay under this many bytes (etcd: --max-request-bytes) */
  maxResponseBytes: number;
  /** the stream failed (e.g. a history read error): it is closed; the owner ends the call */
  onError?: (e: Error) => void;
}

function toPbEvent(e: MvccEvent, withPrev: boolean): mvccpb.Event {
  return {
    type: e.type === EventType.PUT ? mvccpb.Event_EventType.PUT : mvccpb.Event_EventType.DELETE,
    kv: e.kv as mvccpb.KeyValue,
    prevKv: withPrev && e.prevKv !== undefined ? (e.prevKv as mvccpb.KeyValue) : undefined,
  };
}

function inRange(w: Watcher, key: Buffer): boolean {
  if (w.rangeEnd === undefined) return key.equals(w.key);
  if (Buffer.compare(key, w.key) < 0) return false;
  return w.rangeEnd.length === 0 || Buffer.compare(key, w.rangeEnd) < 0;
}

export class WatchStream {
  private readonly hub: WatchHub;
  private readonly opts: WatchStreamOptions;
  private readonly watchers = new Map<bigint, Watcher>();
  private nextWatchId = 0n;
  private blocked = false;
  private closed = false;
  private progressPending = false;

  constructor(opts: WatchStreamOptions) {
    this.hub = opts.hub;
    this.opts = opts;
    this.hub.add(this);
  }

  get size(): number {
    return this.watchers.size;
  }

  handle(req: etcdserverpb.WatchRequest): void {
    if (this.closed) return;
    const u = req.requestUnion;
    if (u === undefined) return;
    switch (u.$case) {
      case 'createRequest':
        this.create(u.value);
        break;
      case 'cancelRequest':
        this.cancel(u.value.watchId);
        break;
      case 'progressRequest':
        this.progressPending = true;
        this.pump();
        break;
    }
  }

  private create(c: etcdserverpb.WatchCreateRequest): void {
    const cur = this.hub.currentRevision();
    let rangeEnd: Buffer | undefined = c.rangeEnd.length === 0 ? undefined : c.rangeEnd;
    if (rangeEnd !== undefined && rangeEnd.length === 1 && rangeEnd[0] === 0) rangeEnd = Buffer.alloc(0);
    let err: Error | undefined;
    let id = c.watchId;
    if (rangeEnd !== undefined && rangeEnd.length > 0 && Buffer.compare(c.key, rangeEnd) >= 0) {
      err = Errors.watcherEmptyRange();
    } else if (id !== 0n) {
      if (this.watchers.has(id)) err = Errors.watcherDuplicateId();
    } else {
      while (this.watchers.has(this.nextWatchId)) this.nextWatchId++;
      id = this.nextWatchId++;
    }
    if (err !== undefined) {
      this.write({ ...this.base(cur, -1n), created: true, canceled: true, cancelReason: err.message });
      return;
    }
    const filters = c.filters;
    const w: Watcher = {
      id,
      key: c.key,
      rangeEnd,
      nextRev: c.startRevision === 0n ? cur + 1n : c.startRevision,
      prevKv: c.prevKv,
      noPut: filters.includes(FilterType.NOPUT),
      noDelete: filters.includes(FilterType.NODELETE),
      progressNotify: c.progressNotify,
      fragment: c.fragment,
      catchingUp: c.startRevision !== 0n && c.startRevision <= cur,
    };
    this.watchers.set(id, w);
    this.write({ ...this.base(cur, id), created: true });
    if (w.nextRev <= cur) this.pump();
  }

  private cancel(id: bigint): void {
    if (!this.watchers.delete(id)) return;
    this.write({ ...this.base(this.hub.currentRevision(), id), canceled: true });
  }

  private base(revision: bigint, watchId: bigint): WatchResponse {
    return {
      header: this.opts.header(revision),
      watchId,
      created: false,
      canceled: false,
      compactRevision: 0n,
      cancelReason: '',
      fragment: false,
      events: [],
    };
  }

  private write(resp: WatchResponse): boolean {
    if (this.closed) return false;
    const ok = this.opts.send(resp);
    if (!ok && !this.blocked) {
      this.blocked = true;
      this.opts.drained().then(
        () => {
          this.blocked = false;
          this.safePump();
        },
        () => this.close(),
      );
    }
    return ok;
  }

  /** Sends what each watcher is missing, until every watcher is caught up or the stream blocks. */
  pump(): void {
    if (this.closed || this.blocked) return;
    const cur = this.hub.currentRevision();
    const compactRev = this.hub.compactRevision();
    for (const w of this.watchers.values()) {
      while (w.nextRev <= cur) {
        if (this.blocked || this.closed) return;
        if (compactRev > 0n && w.nextRev < compactRev) {
          // etcd: the watcher learns the compact revision and is cancelled (header revision 0:
          // etcd's compacted response carries no revision)
          this.watchers.delete(w.id);
          this.write({ ...this.base(0n, w.id), compactRevision: compactRev, canceled: true });
          break;
        }
        const events: mvccpb.Event[] = [];
        let upTo: bigint;
        const recent = this.hub.recent(w.nextRev);
        if (recent !== undefined) {
          for (const r of recent) for (const e of r.events) this.collect(w, e, events, w.catchingUp && r.revision <= compactRev);
          upTo = recent.length > 0 ? recent[recent.length - 1].revision : cur;
          if (upTo < cur) upTo = cur;
        } else {
          let h: { events: MvccEvent[]; nextRev: bigint };
          try {
            const end = w.rangeEnd === undefined ? undefined : w.rangeEnd.length === 0 ? Buffer.of(0) : w.rangeEnd;
            h = this.hub.store.eventsBetween(w.key, end, w.nextRev, cur, historyChunkEvents);
          } catch {
            // compacted meanwhile: the next round reports it
            if (this.hub.compactRevision() > w.nextRev) continue;
            throw new Error(`watch: history read failed at revision ${w.nextRev}`);
          }
          for (const e of h.events) this.collect(w, e, events, w.catchingUp && e.kv.modRevision <= compactRev);
          upTo = h.nextRev - 1n;
        }
        w.nextRev = upTo + 1n;
        if (events.length > 0) this.sendEvents(w, upTo, events);
      }
      if (w.nextRev > cur) w.catchingUp = false;
      if (this.blocked || this.closed) return;
    }
    if (this.progressPending && !this.blocked) {
      // etcd answers a progress request once every watcher is synced, with watch id -1
      this.progressPending = false;
      this.write(this.base(cur, -1n));
    }
  }

  /**
   * compacted: a catching-up watcher is served a revision at (or below) the compact revision.
   * etcd reads it from the compacted key bucket, where that revision's tombstones are gone,
   * and cannot read the previous values (below the compaction).
   */
  private collect(w: Watcher, e: MvccEvent, out: mvccpb.Event[], compacted = false): void {
    if (!inRange(w, e.kv.key)) return;
    if (e.type === EventType.PUT ? w.noPut : w.noDelete) return;
    if (compacted && e.type === EventType.DELETE) return;
    const withPrev = w.prevKv && !compacted;
    // Writes do not read the value they replace; a watcher asking for it reads it here, at the
    // revision before the event (as etcd's watch server does). A put that created its key has none.
    if (withPrev && e.prevKv === undefined && (e.type === EventType.DELETE || e.kv.version > 1n)) e.prevKv = this.prevOf(e);
    out.push(toPbEvent(e, withPrev));
  }

  private prevOf(e: MvccEvent): KeyValue | undefined {
    try {
      return this.hub.store.range(e.kv.key, { revision: e.kv.modRevision - 1n }).kvs[0];
    } catch {
      return undefined;
    }
  }

  private sendEvents(w: Watcher, revision: bigint, events: mvccpb.Event[]): void {
    const resp: WatchResponse = { ...this.base(revision, w.id), events };
    if (!w.fragment || etcdserverpb.WatchResponse.encode(resp).finish().length < this.opts.maxResponseBytes) {
      this.write(resp);
      return;
    }
    // fragments: each under the limit (at least one event each); all but the last say fragment
    let batch: mvccpb.Event[] = [];
    let size = 0;
    const flush = (last: boolean): void => {
      this.write({ ...this.base(revision, w.id), events: batch, fragment: !last });
      batch = [];
      size = 0;
    };
    for (const ev of events) {
      const n = mvccpb.Event.encode(ev).finish().length + 8;
      if (batch.length > 0 && size + n >= this.opts.maxResponseBytes) flush(false);
      batch.push(ev);
      size += n;
    }
    flush(true);
  }

  /** pump() for the hub's timers: a failure closes this stream only, never the process. */
  safePump(): void {
    try {
      this.pump();
    } catch (e) {
      this.fail(e);
    }
  }

  safeProgressNotify(): void {
    try {
      this.progressNotify();
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    this.close();
    this.opts.onError?.(e instanceof Error ? e : new Error(String(e)));
  }

  /** Periodic progress notification for synced watchers that asked for it. */
  progressNotify(): void {
    if (this.closed || this.blocked) return;
    const cur = this.hub.currentRevision();
    for (const w of this.watchers.values()) {
      if (w.progressNotify && w.nextRev > cur) this.write(this.base(cur, w.id));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watchers.clear();
    this.hub.remove(this);
  }
}
