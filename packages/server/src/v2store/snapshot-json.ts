// The v2 store in a raft snapshot: etcd's store.Save() JSON (Root, WatcherHub.EventHistory,
// CurrentIndex, Stats, CurrentVersion), so a snapshot carries the tree, the event history and
// the counters to a restarted member or a follower; and its recovery (etcd's store.Recovery).

import { goJsonString } from '@tsetcd/common';
import { eventJson, rfc3339Nano, type NodeExtern, type V2Event } from './event.js';
import { V2Node } from './node.js';
import { maxPathDepth, type V2Store } from './store.js';

const zeroTime = '0001-01-01T00:00:00Z';

function nodeSave(n: V2Node): string {
  const expire = n.expireTime === 0n ? zeroTime : rfc3339Nano(n.expireTime);
  let children = 'null';
  if (n.children !== undefined) children = `{${[...n.children].map(([k, c]) => `${goJsonString(k)}:${nodeSave(c)}`).join(',')}}`;
  return `{"Path":${goJsonString(n.path)},"CreatedIndex":${n.createdIndex},"ModifiedIndex":${n.modifiedIndex},"ExpireTime":"${expire}","Value":${goJsonString(n.value)},"Children":${children}}`;
}

/** The store as etcd's snapshot JSON. */
export function saveStore(s: V2Store): Uint8Array {
  const h = s.hub.history;
  const events = h.ordered();
  const queue = `{"Events":[${events.map((e) => eventJson(e, '').trimEnd()).join(',')}],"Size":${events.length},"Front":0,"Back":${events.length % h.capacity},"Capacity":${h.capacity}}`;
  const text =
    `{"Root":${nodeSave(s.root)},"WatcherHub":{"EventHistory":{"Queue":${queue},"StartIndex":${h.startIndex},"LastIndex":${h.lastIndex}}},` +
    `"CurrentIndex":${s.currentIndex},"Stats":${s.stats.toJson(0)},"CurrentVersion":2}`;
  return Buffer.from(text);
}

/** Go's time.Time text (RFC 3339, any offset, up to nanoseconds) as Unix ns; 0n for the zero time. */
export function parseGoTime(t: unknown): bigint {
  if (typeof t !== 'string') return 0n;
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|([+-])(\d\d):(\d\d))$/.exec(t);
  if (m === null || m[1] === '0001') return 0n;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (!Number.isFinite(ms)) return 0n;
  let ns = BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  if (m[8] !== 'Z') {
    const off = (Number(m[10]) * 60 + Number(m[11])) * 60_000_000_000;
    ns += BigInt(m[9] === '+' ? -off : off);
  }
  return ns;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function nodeLoad(s: V2Store, raw: Record<string, unknown>, parent: V2Node | undefined, depth: number): V2Node {
  if (depth > maxPathDepth + 2) throw new Error(`v2 store snapshot nested deeper than ${maxPathDepth} path elements`);
  const children = obj(raw.Children);
  const expire = parseGoTime(raw.ExpireTime);
  const n = new V2Node(s, str(raw.Path), num(raw.CreatedIndex), num(raw.ModifiedIndex), parent, expire, str(raw.Value), children === undefined ? undefined : new Map());
  if (children !== undefined) {
    for (const [k, c] of Object.entries(children)) {
      const child = obj(c);
      if (child !== undefined) n.children!.set(k, nodeLoad(s, child, n, depth + 1));
    }
  }
  if (expire !== 0n) s.ttlPush(n);
  return n;
}

function externLoad(raw: Record<string, unknown> | undefined): NodeExtern | undefined {
  if (raw === undefined) return undefined;
  const exp = parseGoTime(raw.expiration);
  return {
    key: str(raw.key),
    value: typeof raw.value === 'string' ? raw.value : undefined,
    dir: raw.dir === true,
    expiration: exp === 0n ? undefined : exp,
    ttl: num(raw.ttl),
    nodes: Array.isArray(raw.nodes) ? raw.nodes.map((x) => externLoad(obj(x))).filter((x): x is NodeExtern => x !== undefined) : undefined,
    modifiedIndex: num(raw.modifiedIndex),
    createdIndex: num(raw.createdIndex),
  };
}

/**
 * Replaces the store's content with a snapshot's (empty data: an empty store). Watchers stay
 * (etcd keeps them too); the history is the snapshot's.
 */
export function recoverStore(s: V2Store, data: Uint8Array): void {
  s.reset();
  if (data.length === 0) return;
  const top = obj(JSON.parse(Buffer.from(data).toString('utf8')));
  const root = obj(top?.Root);
  if (top === undefined || root === undefined) throw new Error('v2 store snapshot without a Root');
  s.root = nodeLoad(s, root, undefined, 0);
  s.currentIndex = num(top.CurrentIndex);
  s.stats.load(obj(top.Stats) ?? {});
  const hist = obj(obj(obj(top.WatcherHub)?.EventHistory));
  const queue = obj(hist?.Queue);
  const raw = Array.isArray(queue?.Events) ? queue.Events : [];
  const size = num(queue?.Size);
  const front = num(queue?.Front);
  const cap = Math.max(1, num(queue?.Capacity) || raw.length || 1);
  const events: V2Event[] = [];
  for (let i = 0; i < Math.min(size, raw.length); i++) {
    const e = obj(raw[(front + i) % Math.min(cap, raw.length)]);
    const node = externLoad(obj(e?.node));
    if (e === undefined || node === undefined) continue;
    events.push({ action: str(e.action), node, prevNode: externLoad(obj(e.prevNode)), etcdIndex: 0, refresh: e.refresh === true });
  }
  s.hub.history.load(events, num(hist?.StartIndex), num(hist?.LastIndex));
}
