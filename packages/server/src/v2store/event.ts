// What the v2 store answers with (etcd's v2store Event and NodeExtern) and their JSON as etcd
// writes it: Go's field order, omitempty rules and HTML-safe string escaping.

import { goJsonString } from '@tsetcd/common';

export const Action = {
  Get: 'get',
  Create: 'create',
  Set: 'set',
  Update: 'update',
  Delete: 'delete',
  CompareAndSwap: 'compareAndSwap',
  CompareAndDelete: 'compareAndDelete',
  Expire: 'expire',
} as const;

/** A node as clients see it. `expiration` is in Unix nanoseconds (undefined: permanent). */
export interface NodeExtern {
  key: string;
  value?: string;
  dir: boolean;
  expiration?: bigint;
  ttl: number;
  nodes?: NodeExtern[];
  modifiedIndex: number;
  createdIndex: number;
}

export interface V2Event {
  action: string;
  node: NodeExtern;
  prevNode?: NodeExtern;
  /** the store's index when the event was made or handed out (the X-Etcd-Index header) */
  etcdIndex: number;
  /** a TTL refresh: in the history, but no watcher is woken */
  refresh: boolean;
}

export function newEvent(action: string, key: string, modifiedIndex: number, createdIndex: number): V2Event {
  return { action, node: { key, dir: false, ttl: 0, modifiedIndex, createdIndex }, etcdIndex: 0, refresh: false };
}

/** Whether the event created its key (201 Created). */
export function isCreated(e: V2Event): boolean {
  return e.action === Action.Create || (e.action === Action.Set && e.prevNode === undefined);
}

/** Go's time.Time JSON (RFC 3339 with nanoseconds, trailing zeros dropped), UTC. */
export function rfc3339Nano(ns: bigint): string {
  let sec = ns / 1_000_000_000n;
  let frac = ns % 1_000_000_000n;
  if (frac < 0n) {
    frac += 1_000_000_000n;
    sec -= 1n;
  }
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  if (frac === 0n) return `${base}Z`;
  return `${base}.${frac.toString().padStart(9, '0').replace(/0+$/, '')}Z`;
}

function trimKey(key: string, prefix: string): string {
  return prefix !== '' && key.startsWith(prefix) ? key.slice(prefix.length) : key;
}

/** One node's JSON, keys trimmed of `prefix` (the "/1" the keys API lives under). */
export function nodeJson(n: NodeExtern, prefix: string): string {
  const parts: string[] = [];
  const key = trimKey(n.key, prefix);
  if (key !== '') parts.push(`"key":${goJsonString(key)}`);
  if (n.value !== undefined) parts.push(`"value":${goJsonString(n.value)}`);
  if (n.dir) parts.push('"dir":true');
  if (n.expiration !== undefined) parts.push(`"expiration":"${rfc3339Nano(n.expiration)}"`);
  if (n.ttl !== 0) parts.push(`"ttl":${n.ttl}`);
  if (n.nodes !== undefined && n.nodes.length > 0) parts.push(`"nodes":[${n.nodes.map((c) => nodeJson(c, prefix)).join(',')}]`);
  if (n.modifiedIndex !== 0) parts.push(`"modifiedIndex":${n.modifiedIndex}`);
  if (n.createdIndex !== 0) parts.push(`"createdIndex":${n.createdIndex}`);
  return `{${parts.join(',')}}`;
}

/** An event's JSON as etcd's json.Encoder writes it (with the trailing newline). */
export function eventJson(e: V2Event, prefix: string, noValue = false): string {
  let out = `{"action":${goJsonString(e.action)}`;
  if (!noValue) {
    out += `,"node":${nodeJson(e.node, prefix)}`;
    if (e.prevNode !== undefined) out += `,"prevNode":${nodeJson(e.prevNode, prefix)}`;
  }
  if (e.refresh) out += ',"refresh":true';
  return out + '}\n';
}
