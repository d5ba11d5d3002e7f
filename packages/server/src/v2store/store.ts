// The v2 store (etcd's etcdserver/api/v2store store): a tree of keys and directories under "/",
// each write one step of the store's own index; TTL expiry, compare-and-swap/delete, in-order
// keys, watchers and the event history. Namespaces ("/0" membership, "/1" the keys API) are
// read-only roots. Everything here runs on the apply path (every member, in log order) except
// get() and watch(), which read.

import { V2Code, V2Error } from './errors.js';
import { Action, newEvent, type V2Event } from './event.js';
import { cleanPath, joinPath, splitPath } from './go-path.js';
import { V2Node, type NodeOwner } from './node.js';
import { TtlHeap } from './ttl-heap.js';
import { WatcherHub, type V2Watcher } from './watcher-hub.js';
import { StoreStats, type StatName } from './stats.js';

/** expiry times before 2000-01-01 mean "no expiry" (etcd's minExpireTime), in Unix ns */
const minExpireTime = 946_684_800_000_000_000n;
const historyCapacity = 1000;
/**
 * Path elements a new node may have. etcd has no limit; here every walk over the tree that
 * recurses (listings, snapshots) must fit the JS stack, so deeper keys are refused.
 */
export const maxPathDepth = 512;

export interface TtlOptions {
  /** Unix ns; 0n: permanent */
  expireTime: bigint;
  refresh?: boolean;
}

export const permanent: TtlOptions = { expireTime: 0n };

function realNow(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export class V2Store implements NodeOwner {
  currentIndex = 0;
  root!: V2Node;
  hub = new WatcherHub(historyCapacity);
  readonly stats = new StoreStats();
  private readonly heap = new TtlHeap();
  private readonly readonly: Set<string>;

  constructor(
    readonly namespaces: string[] = [],
    readonly now: () => bigint = realNow,
  ) {
    this.readonly = new Set(['/', ...namespaces]);
    this.reset();
  }

  /** An empty tree holding the namespaces (at index 0). */
  reset(): void {
    this.heap.clear();
    this.currentIndex = 0;
    this.root = V2Node.dir(this, '/', 0, undefined, 0n);
    for (const ns of this.namespaces) this.root.children!.set(splitPath(ns)[1], V2Node.dir(this, ns, 0, this.root, 0n));
  }

  ttlPush(n: V2Node): void {
    this.heap.push(n);
  }
  ttlUpdate(n: V2Node): void {
    this.heap.update(n);
  }
  ttlRemove(n: V2Node): void {
    this.heap.remove(n);
  }

  hasTtlKeys(): boolean {
    return this.heap.size > 0;
  }

  /**
   * Runs an operation and counts it. etcd counts some refusals as successes (they return before
   * its deferred counter sees an error): those are thrown through uncounted().
   */
  private count<T>(ok: StatName, fail: StatName, f: () => T): T {
    try {
      const r = f();
      this.stats.inc(ok);
      return r;
    } catch (e) {
      this.stats.inc(countedAsSuccess.has(e as object) ? ok : fail);
      throw e;
    }
  }

  get(nodePath: string, recursive: boolean, sorted: boolean): V2Event {
    return this.count('getsSuccess', 'getsFail', () => {
      const n = this.internalGet(nodePath);
      const e = newEvent(Action.Get, nodePath, n.modifiedIndex, n.createdIndex);
      e.etcdIndex = this.currentIndex;
      const { expiration, ttl } = n.expirationAndTtl();
      if (n.isDir()) {
        e.node.dir = true;
        e.node.nodes = n.listing(recursive, sorted);
      } else {
        e.node.value = n.value;
      }
      e.node.expiration = expiration;
      e.node.ttl = ttl;
      return e;
    });
  }

  create(nodePath: string, dir: boolean, value: string, unique: boolean, o: TtlOptions): V2Event {
    return this.count('createSuccess', 'createFail', () => {
      const e = this.internalCreate(nodePath, dir, value, unique, false, o.expireTime, Action.Create);
      e.etcdIndex = this.currentIndex;
      this.hub.notify(e);
      return e;
    });
  }

  set(nodePath: string, dir: boolean, value: string, o: TtlOptions): V2Event {
    return this.count('setsSuccess', 'setsFail', () => {
      let prev: V2Node | undefined;
      try {
        prev = this.internalGet(nodePath);
      } catch (err) {
        if (!(err instanceof V2Error) || err.errorCode !== V2Code.KeyNotFound || o.refresh === true) throw err;
      }
      if (o.refresh === true) value = prev!.value;
      const prevRepr = prev?.repr(false, false);
      const e = this.internalCreate(nodePath, dir, value, false, true, o.expireTime, Action.Set);
      e.etcdIndex = this.currentIndex;
      if (prevRepr !== undefined) {
        // etcd reports the previous node as a get of it (the listing of a directory included)
        if (prev!.isDir()) prevRepr.nodes = prev!.listing(false, false);
        e.prevNode = prevRepr;
      }
      if (o.refresh === true) {
        e.refresh = true;
        this.hub.add(e);
      } else {
        this.hub.notify(e);
      }
      return e;
    });
  }

  compareAndSwap(nodePath: string, prevValue: string, prevIndex: bigint, value: string, o: TtlOptions): V2Event {
    return this.count('compareAndSwapSuccess', 'compareAndSwapFail', () => {
      nodePath = cleanPath(joinPath('/', nodePath));
      if (this.readonly.has(nodePath)) throw uncounted(new V2Error(V2Code.RootROnly, '/', this.currentIndex));
      const n = this.internalGet(nodePath);
      if (n.isDir()) throw new V2Error(V2Code.NotFile, nodePath, this.currentIndex);
      const [ok, which] = n.compare(prevValue, prevIndex);
      if (!ok) throw new V2Error(V2Code.TestFailed, compareFailCause(n, which, prevValue, prevIndex), this.currentIndex);
      if (o.refresh === true) value = n.value;
      this.currentIndex++;
      const e = newEvent(Action.CompareAndSwap, nodePath, this.currentIndex, n.createdIndex);
      e.etcdIndex = this.currentIndex;
      e.prevNode = n.repr(false, false);
      n.write(value, this.currentIndex);
      n.updateTtl(o.expireTime);
      e.node.value = value;
      Object.assign(e.node, n.expirationAndTtl());
      this.notifyOrRefresh(e, o);
      return e;
    });
  }

  update(nodePath: string, newValue: string, o: TtlOptions): V2Event {
    return this.count('updateSuccess', 'updateFail', () => {
      nodePath = cleanPath(joinPath('/', nodePath));
      if (this.readonly.has(nodePath)) throw uncounted(new V2Error(V2Code.RootROnly, '/', this.currentIndex));
      const next = this.currentIndex + 1;
      const n = this.internalGet(nodePath);
      if (n.isDir() && newValue.length !== 0) throw uncounted(new V2Error(V2Code.NotFile, nodePath, this.currentIndex));
      if (o.refresh === true) newValue = n.value;
      const e = newEvent(Action.Update, nodePath, next, n.createdIndex);
      e.etcdIndex = next;
      e.prevNode = n.repr(false, false);
      // (a directory's value is written too, as etcd does; it is never shown)
      n.write(newValue, next);
      if (n.isDir()) e.node.dir = true;
      else e.node.value = newValue;
      n.updateTtl(o.expireTime);
      Object.assign(e.node, n.expirationAndTtl());
      this.notifyOrRefresh(e, o);
      this.currentIndex = next;
      return e;
    });
  }

  delete(nodePath: string, dir: boolean, recursive: boolean): V2Event {
    return this.count('deleteSuccess', 'deleteFail', () => {
      nodePath = cleanPath(joinPath('/', nodePath));
      if (this.readonly.has(nodePath)) throw uncounted(new V2Error(V2Code.RootROnly, '/', this.currentIndex));
      if (recursive) dir = true;
      const n = this.internalGet(nodePath);
      const next = this.currentIndex + 1;
      const e = newEvent(Action.Delete, nodePath, next, n.createdIndex);
      e.etcdIndex = next;
      e.prevNode = n.repr(false, false);
      if (n.isDir()) e.node.dir = true;
      n.remove(dir, recursive, (p) => this.hub.notifyWatchers(e, p, true));
      this.currentIndex++;
      this.hub.notify(e);
      return e;
    });
  }

  compareAndDelete(nodePath: string, prevValue: string, prevIndex: bigint): V2Event {
    return this.count('compareAndDeleteSuccess', 'compareAndDeleteFail', () => {
      nodePath = cleanPath(joinPath('/', nodePath));
      const n = this.internalGet(nodePath);
      if (n.isDir()) throw uncounted(new V2Error(V2Code.NotFile, nodePath, this.currentIndex));
      const [ok, which] = n.compare(prevValue, prevIndex);
      if (!ok) throw uncounted(new V2Error(V2Code.TestFailed, compareFailCause(n, which, prevValue, prevIndex), this.currentIndex));
      this.currentIndex++;
      const e = newEvent(Action.CompareAndDelete, nodePath, this.currentIndex, n.createdIndex);
      e.etcdIndex = this.currentIndex;
      e.prevNode = n.repr(false, false);
      n.remove(false, false, (p) => this.hub.notifyWatchers(e, p, true));
      this.hub.notify(e);
      return e;
    });
  }

  /** A watch of `key` from `sinceIndex` (0: the next event). */
  watch(key: string, recursive: boolean, stream: boolean, sinceIndex: number): V2Watcher {
    key = cleanPath(joinPath('/', key));
    if (sinceIndex === 0) sinceIndex = this.currentIndex + 1;
    return this.hub.watch(key, recursive, stream, sinceIndex, this.currentIndex);
  }

  /** Removes every node whose expiry is at or before `cutoff` (Unix ns): the SYNC request. */
  deleteExpiredKeys(cutoff: bigint): void {
    for (;;) {
      const node = this.heap.top();
      if (node === undefined || node.expireTime > cutoff) break;
      this.currentIndex++;
      const e = newEvent(Action.Expire, node.path, this.currentIndex, node.createdIndex);
      e.etcdIndex = this.currentIndex;
      e.prevNode = node.repr(false, false);
      if (node.isDir()) e.node.dir = true;
      this.heap.pop();
      node.remove(true, true, (p) => this.hub.notifyWatchers(e, p, true));
      this.stats.inc('expireCount');
      this.hub.notify(e);
    }
  }

  private notifyOrRefresh(e: V2Event, o: TtlOptions): void {
    if (o.refresh === true) {
      e.refresh = true;
      this.hub.add(e);
    } else {
      this.hub.notify(e);
    }
  }

  /** etcd's walk: follows `nodePath`'s elements from the root through `step`. */
  private walk(nodePath: string, step: (parent: V2Node, name: string) => V2Node): V2Node {
    const components = nodePath.split('/');
    let curr = this.root;
    for (let i = 1; i < components.length; i++) {
      if (components[i].length === 0) return curr;
      curr = step(curr, components[i]);
    }
    return curr;
  }

  internalGet(nodePath: string): V2Node {
    nodePath = cleanPath(joinPath('/', nodePath));
    return this.walk(nodePath, (parent, name) => {
      if (!parent.isDir()) throw new V2Error(V2Code.NotDir, parent.path, this.currentIndex);
      const child = parent.children!.get(name);
      if (child !== undefined) return child;
      throw new V2Error(V2Code.KeyNotFound, joinPath(parent.path, name), this.currentIndex);
    });
  }

  private internalCreate(nodePath: string, dir: boolean, value: string, unique: boolean, replace: boolean, expireTime: bigint, action: string): V2Event {
    const currIndex = this.currentIndex;
    const nextIndex = currIndex + 1;
    if (unique) nodePath += '/' + String(nextIndex).padStart(20, '0');
    nodePath = cleanPath(joinPath('/', nodePath));
    if (this.readonly.has(nodePath)) throw new V2Error(V2Code.RootROnly, '/', currIndex);
    if (depthOf(nodePath) > maxPathDepth) throw new V2Error(V2Code.InvalidField, `key has more than ${maxPathDepth} path elements`, currIndex);
    if (expireTime < minExpireTime) expireTime = 0n;
    const [dirName, nodeName] = splitPath(nodePath);
    let d: V2Node;
    try {
      d = this.walk(dirName, (parent, name) => this.checkDir(parent, name));
    } catch (err) {
      // (etcd counts a failed create here as a failed set too)
      this.stats.inc('setsFail');
      if (err instanceof V2Error) err.index = currIndex;
      throw err;
    }
    const e = newEvent(action, nodePath, nextIndex, nextIndex);
    const existing = d.children!.get(nodeName);
    if (existing !== undefined) {
      if (!replace) throw new V2Error(V2Code.NodeExist, nodePath, currIndex);
      if (existing.isDir()) throw new V2Error(V2Code.NotFile, nodePath, currIndex);
      e.prevNode = existing.repr(false, false);
      existing.remove(false, false);
    }
    let n: V2Node;
    if (!dir) {
      e.node.value = value;
      n = V2Node.kv(this, nodePath, value, nextIndex, d, expireTime);
    } else {
      e.node.dir = true;
      n = V2Node.dir(this, nodePath, nextIndex, d, expireTime);
    }
    d.children!.set(nodeName, n);
    if (!n.isPermanent()) {
      this.heap.push(n);
      Object.assign(e.node, n.expirationAndTtl());
    }
    this.currentIndex = nextIndex;
    return e;
  }

  /** etcd's checkDir: the child directory `name`, created (permanent, at the next index) when missing. */
  private checkDir(parent: V2Node, name: string): V2Node {
    const node = parent.children!.get(name);
    if (node !== undefined) {
      if (node.isDir()) return node;
      throw new V2Error(V2Code.NotDir, node.path, this.currentIndex);
    }
    const n = V2Node.dir(this, joinPath(parent.path, name), this.currentIndex + 1, parent, 0n);
    parent.children!.set(name, n);
    return n;
  }
}

const countedAsSuccess = new WeakSet<object>();

function uncounted(e: V2Error): V2Error {
  countedAsSuccess.add(e);
  return e;
}

function depthOf(p: string): number {
  let n = 0;
  for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) n++;
  return n;
}

function compareFailCause(n: V2Node, which: number, prevValue: string, prevIndex: bigint): string {
  if (which === 1) return `[${prevIndex} != ${n.modifiedIndex}]`;
  if (which === 2) return `[${prevValue} != ${n.value}]`;
  return `[${prevValue} != ${n.value}] [${prevIndex} != ${n.modifiedIndex}]`;
}
