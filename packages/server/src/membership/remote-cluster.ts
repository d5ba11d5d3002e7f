// Joining an existing cluster (--initial-cluster-state existing): ask the other members listed in
// --initial-cluster for GET /members on their peer URLs (etcd's GetClusterFromRemotePeers), then
// check the local --initial-cluster describes the same members and take their IDs from it.

import * as http from 'node:http';
import * as https from 'node:https';
import { idToHex, readUpTo } from '@tsetcd/common';
import { BootstrapError } from './errors.js';
import { sameUrls } from './initial-cluster.js';

export interface RemoteMember {
  id: bigint;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface RemoteCluster {
  clusterId: bigint;
  members: RemoteMember[];
}

/** Per-request timeout of the /members fetch. */
export const remoteFetchTimeoutMs = 2000;
/** the largest member list a peer's answer may carry */
const maxRemoteAnswerBytes = 1 << 20;

/** etcd's /members JSON: an array with numeric (uint64) IDs; written without precision loss. */
export function membersToJson(members: RemoteMember[]): string {
  const parts = members.map((m) => {
    const obj: Record<string, unknown> = { id: '__ID__', peerURLs: m.peerUrls };
    if (m.isLearner) obj.isLearner = true;
    if (m.name) obj.name = m.name;
    if (m.clientUrls.length > 0) obj.clientURLs = m.clientUrls;
    return JSON.stringify(obj).replace('"__ID__"', m.id.toString());
  });
  return `[${parts.join(',')}]`;
}

export function membersFromJson(text: string): RemoteMember[] {
  const quoted = text.replace(/"id"\s*:\s*(\d+)/g, '"id":"$1"');
  const arr = JSON.parse(quoted) as Array<{ id: string; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean }>;
  if (!Array.isArray(arr)) throw new Error('members: not an array');
  return arr.map((m) => ({ id: BigInt(m.id), name: m.name ?? '', peerUrls: m.peerURLs ?? [], clientUrls: m.clientURLs ?? [], isLearner: m.isLearner ?? false }));
}

function get(url: URL, tls: https.RequestOptions | undefined): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method: 'GET', timeout: remoteFetchTimeoutMs, ...(url.protocol === 'https:' ? tls : {}) }, (res) => {
      void readUpTo(res, maxRemoteAnswerBytes).then((r) => {
        if (r.failed) reject(new Error('connection closed before the end of the answer'));
        else if (r.total > maxRemoteAnswerBytes) reject(new Error(`answer larger than ${maxRemoteAnswerBytes} bytes`));
        else resolve({ status: res.statusCode ?? 0, headers: res.headers, body: r.bytes.toString('utf8') });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${remoteFetchTimeoutMs}ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The cluster as the first reachable peer reports it. */
export async function fetchRemoteCluster(peerUrls: string[], tls?: https.RequestOptions): Promise<RemoteCluster> {
  const errors: string[] = [];
  for (const u of peerUrls) {
    try {
      const r = await get(new URL('/members', u), tls);
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      const cid = String(r.headers['x-etcd-cluster-id'] ?? '');
      if (!/^[0-9a-f]+$/i.test(cid)) throw new Error('missing X-Etcd-Cluster-ID header');
      return { clusterId: BigInt('0x' + cid), members: membersFromJson(r.body) };
    } catch (e) {
      errors.push(`${u}: ${(e as Error).message}`);
    }
  }
  throw new BootstrapError(`could not retrieve cluster information from the given URLs (${errors.join('; ')})`);
}

/**
 * etcd's ValidateClusterAndAssignIDs: the local --initial-cluster must list the same members
 * (by peer URLs) as the running cluster; returns this member's ID as the cluster knows it.
 */
export function validateJoin(local: Map<string, string[]>, remote: RemoteCluster, selfName: string): bigint {
  const localMembers = [...local.entries()];
  if (localMembers.length !== remote.members.length) {
    throw new BootstrapError(`error validating peerURLs ${JSON.stringify(remote.members.map((m) => ({ id: idToHex(m.id), peerURLs: m.peerUrls })))}: member count is unequal`);
  }
  let selfId: bigint | undefined;
  const used = new Set<bigint>();
  for (const [name, urls] of localMembers) {
    const match = remote.members.find((m) => !used.has(m.id) && sameUrls(m.peerUrls, urls));
    if (match === undefined) throw new BootstrapError(`error validating peerURLs: unmatched member while checking PeerURLs (${name}=${urls.join(',')} is not a member of cluster ${idToHex(remote.clusterId)})`);
    used.add(match.id);
    if (name === selfName) selfId = match.id;
  }
  if (selfId === undefined) throw new BootstrapError(`couldn't find local name "${selfName}" in the initial cluster configuration`);
  return selfId;
}
