// One node of the v2 store's tree (etcd's v2store node): a key with a value or a directory with
// children, its created/modified store index and its expiry (Unix ns; 0n: permanent).

import { V2Code, V2Error } from './errors.js';
import type { NodeExtern } from './event.js';
import { splitPath } from './go-path.js';

/** What a node needs from its store: the current index (for errors) and the TTL heap. */
export interface NodeOwner {
  currentIndex: number;
  ttlPush(n: V2Node): void;
  ttlUpdate(n: V2Node): void;
  ttlRemove(n: V2Node): void;
  now(): bigint;
}

export class V2Node {
  /** position in the store's TTL heap (-1: not in it) */
  heapIndex = -1;

  constructor(
    readonly owner: NodeOwner,
    readonly path: string,
    public createdIndex: number,
    public modifiedIndex: number,
    public parent: V2Node | undefined,
    public expireTime: bigint,
    public value: string,
    public children: Map<string, V2Node> | undefined,
  ) {}

  static kv(owner: NodeOwner, path: string, value: string, index: number, parent: V2Node | undefined, expireTime: bigint): V2Node {
    return new V2Node(owner, path, index, index, parent, expireTime, value, undefined);
  }

  static dir(owner: NodeOwner, path: string, index: number, parent: V2Node | undefined, expireTime: bigint): V2Node {
    return new V2Node(owner, path, index, index, parent, expireTime, '', new Map());
  }

  get name(): string {
    return splitPath(this.path)[1];
  }

  isHidden(): boolean {
    return this.name.startsWith('_');
  }

  isPermanent(): boolean {
    return this.expireTime === 0n;
  }

  isDir(): boolean {
    return this.children !== undefined;
  }

  /** etcd's expirationAndTTL: the expiry and the seconds left, rounded up. */
  expirationAndTtl(): { expiration?: bigint; ttl: number } {
    if (this.isPermanent()) return { ttl: 0 };
    const left = this.expireTime - this.owner.now();
    let ttl = left / 1_000_000_000n;
    if (left % 1_000_000_000n > 0n) ttl++;
    return { expiration: this.expireTime, ttl: Number(ttl) };
  }

  write(value: string, index: number): void {
    this.value = value;
    this.modifiedIndex = index;
  }

  /**
   * Removes the node (a directory only with `dir`, a non-empty one only with `recursive`),
   * calling `onRemoved` with the path of every node removed.
   */
  remove(dir: boolean, recursive: boolean, onRemoved?: (path: string) => void): void {
    if (this.children === undefined) {
      if (this.parent?.children?.get(this.name) === this) this.parent.children.delete(this.name);
      onRemoved?.(this.path);
      if (!this.isPermanent()) this.owner.ttlRemove(this);
      return;
    }
    if (!dir) throw new V2Error(V2Code.NotFile, this.path, this.owner.currentIndex);
    if (this.children.size !== 0 && !recursive) throw new V2Error(V2Code.DirNotEmpty, this.path, this.owner.currentIndex);
    for (const child of [...this.children.values()]) child.remove(true, true, onRemoved);
    if (this.parent?.children?.get(this.name) === this) {
      this.parent.children.delete(this.name);
      onRemoved?.(this.path);
      if (!this.isPermanent()) this.owner.ttlRemove(this);
    }
  }

  /** etcd's UpdateTTL: a new expiry (0n makes the node permanent). */
  updateTtl(expireTime: bigint): void {
    if (!this.isPermanent()) {
      this.expireTime = expireTime;
      if (expireTime === 0n) this.owner.ttlRemove(this);
      else this.owner.ttlUpdate(this);
      return;
    }
    if (expireTime === 0n) return;
    this.expireTime = expireTime;
    this.owner.ttlPush(this);
  }

  /** etcd's Compare: [matched, which] with which 0 match, 1 index differs, 2 value differs, 3 both. */
  compare(prevValue: string, prevIndex: bigint): [boolean, number] {
    const indexMatch = prevIndex === 0n || BigInt(this.modifiedIndex) === prevIndex;
    const valueMatch = prevValue === '' || this.value === prevValue;
    if (valueMatch && indexMatch) return [true, 0];
    if (indexMatch) return [false, 2];
    if (valueMatch) return [false, 1];
    return [false, 3];
  }

  /** The node as clients see it; a directory's listing (without hidden nodes) with `recursive`. */
  repr(recursive: boolean, sorted: boolean): NodeExtern {
    const { expiration, ttl } = this.expirationAndTtl();
    if (this.children !== undefined) {
      const n: NodeExtern = { key: this.path, dir: true, expiration, ttl, modifiedIndex: this.modifiedIndex, createdIndex: this.createdIndex };
      if (recursive) n.nodes = this.listing(recursive, sorted);
      return n;
    }
    return { key: this.path, value: this.value, dir: false, expiration, ttl, modifiedIndex: this.modifiedIndex, createdIndex: this.createdIndex };
  }

  /** The visible children as clients see them (a directory's "nodes"). */
  listing(recursive: boolean, sorted: boolean): NodeExtern[] {
    const out: NodeExtern[] = [];
    for (const child of this.children?.values() ?? []) if (!child.isHidden()) out.push(child.repr(recursive, sorted));
    if (sorted) out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }
}
