// The v2 store's watchers and its event history (etcd's v2store watcherHub, EventHistory and
// eventQueue): the last 1000 events answer a watch with a waitIndex at once; a watch on a later
// index waits for the next matching event (one, or every one for a stream watch).

import { cleanPath, joinPath } from './go-path.js';
import { V2Code, V2Error } from './errors.js';
import { Action, type V2Event } from './event.js';

/** events a watcher may hold undelivered before it is dropped (etcd's channel of 100) */
const watcherBacklog = 100;

export class V2Watcher {
  removed = false;
  private listener: ((e: V2Event) => void) | undefined;
  private pending: V2Event[] = [];
  /** set by the hub: unlinks the watcher */
  unlink: (() => void) | undefined;

  constructor(
    readonly recursive: boolean,
    readonly stream: boolean,
    readonly sinceIndex: number,
    /** the store index when the watch was made (X-Etcd-Index) */
    readonly startIndex: number,
  ) {}

  /** Hands events to `fn`, those that arrived before first. */
  onEvent(fn: (e: V2Event) => void): void {
    this.listener = fn;
    const queued = this.pending;
    this.pending = [];
    for (const e of queued) fn(e);
  }

  /** etcd's watcher.notify: true when the event was for this watcher (sent, or dropped with it). */
  notify(e: V2Event, originalPath: boolean, deleted: boolean): boolean {
    if ((this.recursive || originalPath || deleted) && e.node.modifiedIndex >= this.sinceIndex) {
      if (this.listener !== undefined) this.listener(e);
      else if (this.pending.length < watcherBacklog) this.pending.push(e);
      else this.remove();
      return true;
    }
    return false;
  }

  deliverNow(e: V2Event): void {
    if (this.listener !== undefined) this.listener(e);
    else this.pending.push(e);
  }

  remove(): void {
    if (this.removed) return;
    this.removed = true;
    this.unlink?.();
  }
}

/** The ring of the last `capacity` events (etcd's EventHistory). */
export class EventHistory {
  events: V2Event[] = [];
  /** index of the oldest event kept, and of the newest */
  startIndex = 0;
  lastIndex = 0;
  private front = 0;

  constructor(readonly capacity: number) {}

  add(e: V2Event): void {
    if (this.events.length < this.capacity) {
      this.events.push(e);
    } else {
      this.events[this.front] = e;
      this.front = (this.front + 1) % this.capacity;
    }
    this.lastIndex = e.node.modifiedIndex;
    this.startIndex = this.at(0).node.modifiedIndex;
  }

  /** oldest first */
  ordered(): V2Event[] {
    return [...this.events.slice(this.front), ...this.events.slice(0, this.front)];
  }

  load(events: V2Event[], startIndex: number, lastIndex: number): void {
    this.events = events.slice(-this.capacity);
    this.front = 0;
    this.startIndex = startIndex;
    this.lastIndex = lastIndex;
  }

  private at(i: number): V2Event {
    return this.events[(this.front + i) % this.events.length];
  }

  /** The first event at or after `index` that a watch of `key` sees (undefined: none yet). */
  scan(key: string, recursive: boolean, index: number): V2Event | undefined {
    if (index < this.startIndex) {
      throw new V2Error(V2Code.EventIndexCleared, `the requested history has been cleared [${this.startIndex}/${index}]`, 0);
    }
    if (index > this.lastIndex) return undefined;
    let prefix = cleanPath(key);
    if (!prefix.endsWith('/')) prefix += '/';
    // events are kept in index order; skip to the first at or after `index`
    for (let i = Math.max(0, index - this.startIndex); i < this.events.length; i++) {
      const e = this.at(i);
      if (e.refresh || e.node.modifiedIndex < index) continue;
      let ok = e.node.key === key;
      if (recursive) ok = ok || e.node.key.startsWith(prefix);
      if ((e.action === Action.Delete || e.action === Action.Expire) && e.prevNode?.dir === true) ok = ok || key.startsWith(e.prevNode.key);
      if (ok) return e;
    }
    return undefined;
  }
}

/** etcd's isHidden: whether the part of `keyPath` below `watchPath` has a hidden ("_") element. */
function isHidden(watchPath: string, keyPath: string): boolean {
  if (watchPath.length > keyPath.length) return false;
  return cleanPath('/' + keyPath.slice(watchPath.length)).includes('/_');
}

export class WatcherHub {
  readonly history: EventHistory;
  private readonly watchers = new Map<string, Set<V2Watcher>>();
  count = 0;

  constructor(capacity: number) {
    this.history = new EventHistory(capacity);
  }

  watch(key: string, recursive: boolean, stream: boolean, index: number, storeIndex: number): V2Watcher {
    let found: V2Event | undefined;
    try {
      found = this.history.scan(key, recursive, index);
    } catch (e) {
      if (e instanceof V2Error) e.index = storeIndex;
      throw e;
    }
    const w = new V2Watcher(recursive, stream, index, storeIndex);
    if (found !== undefined) {
      w.deliverNow({ ...found, etcdIndex: storeIndex });
      return w;
    }
    let set = this.watchers.get(key);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(key, set);
    }
    set.add(w);
    this.count++;
    const s = set;
    w.unlink = () => {
      if (s.delete(w)) this.count--;
      if (s.size === 0 && this.watchers.get(key) === s) this.watchers.delete(key);
    };
    return w;
  }

  /** An event that wakes no watcher (a TTL refresh): history only. */
  add(e: V2Event): void {
    this.history.add(e);
  }

  notify(e: V2Event): void {
    this.history.add(e);
    let curr = '/';
    for (const segment of e.node.key.split('/')) {
      curr = joinPath(curr, segment);
      this.notifyWatchers(e, curr, false);
    }
  }

  notifyWatchers(e: V2Event, nodePath: string, deleted: boolean): void {
    const set = this.watchers.get(nodePath);
    if (set === undefined) return;
    for (const w of [...set]) {
      const originalPath = e.node.key === nodePath;
      if ((originalPath || !isHidden(nodePath, e.node.key)) && w.notify(e, originalPath, deleted)) {
        if (!w.stream) w.remove();
      }
    }
  }
}
