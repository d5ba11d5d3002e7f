// A consistent-hash ring with virtual nodes (go-zero's core/hash uses 100 replicas per
// node), so a given key keeps reaching the same server while membership changes move
// only a fraction of keys.
export const hashReplicas = 100;

/** 32-bit FNV-1a. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche so close keys spread over the ring
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}

export class HashRing<T> {
  private points: number[] = [];
  private owners: T[] = [];

  constructor(nodes: Iterable<[string, T]>, replicas = hashReplicas) {
    const entries: Array<[number, T]> = [];
    for (const [name, node] of nodes) {
      for (let i = 0; i < replicas; i++) entries.push([fnv1a(`${name}#${i}`), node]);
    }
    entries.sort((a, b) => a[0] - b[0]);
    this.points = entries.map((e) => e[0]);
    this.owners = entries.map((e) => e[1]);
  }

  get size(): number {
    return this.points.length;
  }

  get(key: string): T | undefined {
    if (this.points.length === 0) return undefined;
    const h = fnv1a(key);
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === this.points.length ? 0 : lo];
  }
}
